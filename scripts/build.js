// Builds dist/ from src/: tsc emits the JavaScript, then the data files (built-in scenarios)
// are copied beside it and a stamp records when, so bin/rempart.js can tell a stale build.
import { execFileSync } from "node:child_process";
import { cpSync, rmSync, writeFileSync } from "node:fs";

const root = new URL("../", import.meta.url);
rmSync(new URL("dist/", root), { recursive: true, force: true });
execFileSync(
  process.execPath,
  [new URL("node_modules/typescript/bin/tsc", root).pathname, "-p", "tsconfig.build.json"],
  {
    cwd: root,
    stdio: "inherit",
  },
);
cpSync(new URL("src/detection/scenarios/", root), new URL("dist/src/detection/scenarios/", root), {
  recursive: true,
});
// The curated list of hosting networks the AS look-up reads at start.
cpSync(
  new URL("src/guard/networks/hosting-asns.txt", root),
  new URL("dist/src/guard/networks/hosting-asns.txt", root),
);
writeFileSync(new URL("dist/BUILT", root), `${new Date().toISOString()}\n`);
