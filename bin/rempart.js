#!/usr/bin/env -S node --max-semi-space-size=8
// The `rempart` command.
// - Under Node 24 it runs the compiled build (dist/, made by `npm ci`) when it is newer than
//   every source file, else the TypeScript sources directly (type stripping): see entry.js.
// - Started by an older Node (a machine's default), it hands over to the Node 24 that `npm ci`
//   installed, with the flags of the shebang (NODE_FLAGS in entry.js).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { entry, NODE_FLAGS } from "./entry.js";

const at = (path) => fileURLToPath(new URL(path, import.meta.url));

const major = Number(process.versions.node.split(".")[0]);
if (major >= 24) {
  const { main } = await import(entry("cli/main"));
  process.exitCode = await main(process.argv.slice(2));
} else {
  const local = at("../node_modules/.bin/node");
  if (!existsSync(local)) {
    process.stderr.write(
      `rempart: needs Node.js 24 or later (this is ${process.version}); run \`npm ci\` in the checkout first, which installs it\n`,
    );
    process.exit(1);
  }
  const child = spawn(local, [...NODE_FLAGS, at(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"])
    process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
