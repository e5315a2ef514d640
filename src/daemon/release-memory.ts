/**
 * Gives back to the system the memory that a bulk load freed.
 *
 * V8 keeps the pages its collections free in a pool, for reuse. Its memory reducer, which would
 * release them, judges the allocation rate from samples taken at collections; a daemon that goes
 * quiet after loading a million decisions takes no more samples, so the reducer keeps reading a
 * high rate and waits again, every 8 s: about 160 MB of pooled pages stayed resident (RSS
 * 435–470 MB with 1M decisions, unchanged for as long as it was watched, 70 s). One
 * last-resort collection after the load (the one V8 runs before it gives up on an allocation:
 * it compacts and releases the pool) brings the same daemon to 261 MB
 * (bench/memory-decisions.ts, bench/RESULTS.md).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Collect = (options: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;

let collect: Collect | undefined | null;

/**
 * V8's `gc` function without running the process with --expose-gc: the flag is turned on for
 * the time it takes to make one context, which gets the function. Null when V8 refuses.
 */
function collector(): Collect | null {
  if (collect !== undefined) return collect;
  const exposed = (globalThis as { gc?: Collect }).gc;
  if (typeof exposed === "function") return (collect = exposed);
  try {
    setFlagsFromString("--expose-gc");
    const made = runInNewContext("gc") as unknown;
    collect = typeof made === "function" ? (made as Collect) : null;
  } catch {
    collect = null;
  } finally {
    setFlagsFromString("--no-expose-gc");
  }
  return collect;
}

/**
 * Runs one last-resort collection, synchronously: V8 compacts until nothing more frees (two
 * passes, 55 + 57 ms, with 1M decisions on a slow VM, `--trace-gc`). For the end of a bulk
 * load, never on a request's path. Returns whether it ran.
 */
export function releaseFreedMemory(): boolean {
  const gc = collector();
  if (gc === null) return false;
  gc({ type: "major", execution: "sync", flavor: "last-resort" });
  return true;
}
