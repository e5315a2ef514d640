/**
 * What a V8 heap snapshot holds: its objects by kind, the most numerous first, with their
 * shallow size. A heap's object count is what a major GC marks, so a change that keeps
 * per-address state out of the heap shows here first.
 *
 *   node bench/heap-summary.ts FILE.heapsnapshot [--top 20]
 *
 * Snapshots come from `node --heapsnapshot-signal=SIGUSR2` (the daemon) or from
 * `bench/guard-assess.ts --part api --heap-snapshot` (the daemon's API in process, after its
 * requests). Large snapshots need `node --max-old-space-size=4000`.
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  readonly snapshot: {
    readonly meta: { readonly node_fields: string[]; readonly node_types: [string[]] };
  };
  readonly nodes: number[];
  readonly strings: string[];
}

const file = process.argv[2];
if (file === undefined) throw new Error("usage: node bench/heap-summary.ts FILE.heapsnapshot");
const top = process.argv.includes("--top")
  ? Number(process.argv[process.argv.indexOf("--top") + 1])
  : 20;
const s = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
const fields = s.snapshot.meta.node_fields;
const types = s.snapshot.meta.node_types[0];
const width = fields.length;
const TYPE = fields.indexOf("type");
const NAME = fields.indexOf("name");
const SIZE = fields.indexOf("self_size");
/** Kinds whose name says what they are (a constructor, a closure's name); the rest by type. */
const NAMED = new Set(["object", "closure", "native"]);
const kinds = new Map<string, { count: number; bytes: number }>();
let total = 0;
let bytes = 0;
for (let i = 0; i < s.nodes.length; i += width) {
  const type = types[s.nodes[i + TYPE]!]!;
  if (type === "synthetic") continue;
  const kind = NAMED.has(type) ? `${type} ${s.strings[s.nodes[i + NAME]!]}` : type;
  const k = kinds.get(kind) ?? { count: 0, bytes: 0 };
  k.count++;
  k.bytes += s.nodes[i + SIZE]!;
  kinds.set(kind, k);
  total++;
  bytes += s.nodes[i + SIZE]!;
}
console.log(`${file}: ${total.toLocaleString("en-US")} objects, ${(bytes / 1e6).toFixed(1)} MB`);
console.log("| objects | MB | kind |\n| ---: | ---: | --- |");
for (const [kind, k] of [...kinds].sort((a, b) => b[1].count - a[1].count).slice(0, top))
  console.log(`| ${k.count.toLocaleString("en-US")} | ${(k.bytes / 1e6).toFixed(2)} | ${kind} |`);
