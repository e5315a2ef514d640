/**
 * The nft scripts Rempart writes: its table (one chain, two hash sets with per-element
 * timeouts, two interval sets), element changes, and the rule set that points at the current
 * interval sets. Pure text: the enforcer decides what goes in, `nft -f -` applies it in one
 * transaction.
 */
import type { NftablesConfig } from "./config.ts";

export type Family = 4 | 6;

/** What a script needs to know about the configuration. */
export type TableShape = Pick<NftablesConfig, "table" | "hook" | "priority" | "ports" | "verdict">;

export const CHAIN = "filter";
export const addrSet = (f: Family): string => `addr${f}`;
export const netSet = (f: Family, generation: number): string => `net${f}_${generation}`;

const TYPE: Readonly<Record<Family, string>> = { 4: "ipv4_addr", 6: "ipv6_addr" };
const MATCH: Readonly<Record<Family, string>> = { 4: "ip saddr", 6: "ip6 saddr" };

/**
 * A duration as nft reads it. A bare number of milliseconds above 2^32 is "value too large"
 * for nft 1.0.6, so whole units are spelled out (`49d17h2m47s295ms`).
 */
export function nftDuration(ms: number): string {
  let rest = Math.max(1, Math.ceil(ms));
  let out = "";
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return rest > 0 ? `${out}${rest}ms` : out;
}

/** The rules: both address sets and both current interval sets, one rule each. */
export function ruleLines(
  shape: TableShape,
  generation: Readonly<Record<Family, number>>,
): string[] {
  const ports =
    shape.ports === "all"
      ? ""
      : ` meta l4proto { tcp, udp } th dport { ${shape.ports.join(", ")} }`;
  const t = `inet ${shape.table}`;
  const lines = [`flush chain ${t} ${CHAIN}`];
  for (const f of [4, 6] as const) {
    lines.push(`add rule ${t} ${CHAIN} ${MATCH[f]} @${addrSet(f)}${ports} ${shape.verdict}`);
    lines.push(
      `add rule ${t} ${CHAIN} ${MATCH[f]} @${netSet(f, generation[f])}${ports} ${shape.verdict}`,
    );
  }
  return lines;
}

export const intervalSetLine = (shape: TableShape, f: Family, generation: number): string =>
  `add set inet ${shape.table} ${netSet(f, generation)} { type ${TYPE[f]}; flags interval; }`;

/**
 * Replaces the whole table in one transaction: whatever an earlier run or another
 * configuration left is deleted and rebuilt, so there is no moment without the bans.
 */
export function tableLines(
  shape: TableShape,
  generation: Readonly<Record<Family, number>>,
): string[] {
  const t = `inet ${shape.table}`;
  return [
    `add table ${t}`,
    `delete table ${t}`,
    `add table ${t}`,
    `add chain ${t} ${CHAIN} { type filter hook ${shape.hook} priority ${shape.priority}; policy accept; }`,
    `add set ${t} ${addrSet(4)} { type ${TYPE[4]}; flags timeout; }`,
    `add set ${t} ${addrSet(6)} { type ${TYPE[6]}; flags timeout; }`,
    intervalSetLine(shape, 4, generation[4]),
    intervalSetLine(shape, 6, generation[6]),
    ...ruleLines(shape, generation),
  ];
}

/** Elements per statement: nft parses one long statement slower than several short ones. */
const CHUNK = 4096;
/** Elements per piece of `statementPieces`: few enough for a piece to die young. */
const PIECE = 128;

/**
 * `add element` / `delete element` statements for these elements (already rendered), as the
 * pieces of text to write in turn, each statement ending with a newline. No statement is ever
 * one string: pieces kept until a statement was whole outlived the young generation, and a
 * resync of 1M addresses left ~60 MB of old-generation pages behind it.
 */
export function* statementPieces(
  verb: "add" | "delete",
  table: string,
  set: string,
  elements: Iterable<string>,
): Generator<string> {
  const head = `${verb} element inet ${table} ${set} { `;
  const run: string[] = [];
  let written = 0; // elements of the open statement already in a piece
  const piece = (last: boolean): string => {
    const text = `${written === 0 ? head : ", "}${run.join(", ")}${last ? " }\n" : ""}`;
    written = last ? 0 : written + run.length;
    run.length = 0;
    return text;
  };
  for (const e of elements) {
    run.push(e);
    if (written + run.length === CHUNK) yield piece(true);
    else if (run.length === PIECE) yield piece(false);
  }
  if (run.length > 0) yield piece(true);
  else if (written > 0) yield " }\n";
}

/** The same statements as whole lines (no newline), for the small scripts of a change. */
export function elementLines(
  verb: "add" | "delete",
  table: string,
  set: string,
  elements: Iterable<string>,
): string[] {
  const out: string[] = [];
  let line = "";
  for (const piece of statementPieces(verb, table, set, elements)) {
    line += piece;
    if (line.endsWith("\n")) {
      out.push(line.slice(0, -1));
      line = "";
    }
  }
  return out;
}

/** An address element, with its timeout when the decision expires. */
export const addrElement = (addr: string, remainingMs: number | null): string =>
  remainingMs === null ? addr : `${addr} timeout ${nftDuration(remainingMs)}`;
