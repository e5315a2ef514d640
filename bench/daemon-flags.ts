/**
 * Node's flags for a daemon a bench starts: the `rempart` command's own (NODE_FLAGS, which a
 * test keeps equal to `npm start`'s), so that a bench measures the daemon operators run;
 * `--daemon-flags="…"` on the bench's command line replaces them, to compare.
 */
import { NODE_FLAGS } from "../bin/entry.js";

export function daemonFlags(argv: readonly string[] = process.argv): string[] {
  const i = argv.findIndex((a) => a === "--daemon-flags" || a.startsWith("--daemon-flags="));
  if (i < 0) return [...NODE_FLAGS];
  const given = argv[i]!.includes("=") ? argv[i]!.slice(argv[i]!.indexOf("=") + 1) : argv[i + 1];
  return (given ?? "").split(" ").filter(Boolean);
}

// `node bench/daemon-flags.ts` prints them, for the shell benches.
if (import.meta.main) process.stdout.write(`${daemonFlags([]).join(" ")}\n`);
