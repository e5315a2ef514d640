// Which build the `rempart` command runs: the compiled one (dist/, made by `npm ci`) when it is
// newer than every source file, else the TypeScript sources (type stripping). Benches import
// it to measure what the command runs.
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * Node's flags for every `rempart` command, kept equal to the shebang of bin/rempart.js and to
 * `npm start` (a test checks): an 8 MB young generation. With 1 MB, loading 1M decisions
 * promoted ~70 MB of garbage (peak RSS 457–467 MB, against 317); the steady memory is about the
 * same (261 against 255 MB) and so is the guard's throughput (bench/RESULTS.md).
 */
export const NODE_FLAGS = ["--max-semi-space-size=8"];

const at = (path) => fileURLToPath(new URL(path, import.meta.url));

/** True when dist/ was built after the last change to any source file. */
export function buildIsFresh() {
  const stamp = at("../dist/BUILT");
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  for (const dir of ["../src/", "../clients/js/src/"]) {
    const root = at(dir);
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root, { recursive: true })) {
      if (statSync(root + name).mtimeMs > built) return false;
    }
  }
  return true;
}

/**
 * The URL of a module under src/ as the command would load it: `entry("daemon/daemon")` is
 * dist/src/daemon/daemon.js when the build is fresh, src/daemon/daemon.ts otherwise.
 */
export function entry(module, fresh = buildIsFresh()) {
  return new URL(fresh ? `../dist/src/${module}.js` : `../src/${module}.ts`, import.meta.url).href;
}
