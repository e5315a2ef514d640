/**
 * Node's flags for a daemon a bench starts: those of `npm start` (package.json), so that a bench
 * measures the daemon operators run; `--daemon-flags="…"` on the bench's command line replaces
 * them, to compare.
 */
import { readFileSync } from "node:fs";

export function daemonFlags(argv: readonly string[] = process.argv): string[] {
  const i = argv.findIndex((a) => a === "--daemon-flags" || a.startsWith("--daemon-flags="));
  if (i >= 0) {
    const given = argv[i]!.includes("=") ? argv[i]!.slice(argv[i]!.indexOf("=") + 1) : argv[i + 1];
    return (given ?? "").split(" ").filter(Boolean);
  }
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    scripts: { start: string };
  };
  const m = /^node((?: --\S+)*) bin\/rempart\.js start$/.exec(pkg.scripts.start);
  if (m === null)
    throw new Error(`package.json's start script is not "node [flags] bin/rempart.js start"`);
  return m[1]!.split(" ").filter(Boolean);
}

// `node bench/daemon-flags.ts` prints them, for the shell benches.
if (import.meta.main) process.stdout.write(`${daemonFlags([]).join(" ")}\n`);
