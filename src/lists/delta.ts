/**
 * `rempart-delta`: the difference between two versions of a list, small enough that keeping a
 * list current costs a fraction of downloading it. Served with RFC 3229 delta encoding: the
 * client sends `If-None-Match: "<its version>"` and `A-IM: rempart-delta`; a publisher that
 * still knows that version answers `226 IM Used` with `IM: rempart-delta`, `Delta-Base` and
 * the new `ETag`; any other server ignores the header and sends the whole list (200) or 304.
 *
 * Layout (integers are unsigned LEB128 varints):
 *   "RDL1"  base count  target count  8 bytes of SHA-256 over the target's canonical text
 *   removed count, then the removed entries' positions in the base's canonical order, as gaps
 *   group count, then per (family, prefix length) group: family byte, bits byte, count, and
 *   the added prefixes' first addresses in order, as gaps
 *
 * Removals cost about one byte (a position among 60K), additions about four (IPv4). The hash
 * lets the client prove that base + delta = the publisher's version, or fall back to a full
 * download.
 */
import { createHash } from "node:crypto";
import { err, ok, type Result } from "../core/index.ts";
import { formatCidr, type IpRange } from "../net/index.ts";
import { compareRanges, entryRange } from "./entry.ts";
import { prefixText } from "./export/plain.ts";

export const DELTA_IM = "rempart-delta";
const MAGIC = [0x52, 0x44, 0x4c, 0x31]; // RDL1

/** The fingerprint of a list version: its values in canonical order (each then `\n`). */
export function listHash(sortedValues: readonly string[]): Buffer {
  const h = createHash("sha256");
  for (const v of sortedValues) h.update(`${v}\n`);
  return h.digest();
}

class Writer {
  readonly bytes: number[] = [];
  varint(n: bigint | number): void {
    let x = BigInt(n);
    do {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      this.bytes.push(x === 0n ? b : b | 0x80);
    } while (x !== 0n);
  }
}

class Reader {
  #at = 0;
  readonly #b: Uint8Array;
  constructor(b: Uint8Array) {
    this.#b = b;
  }
  get done(): boolean {
    return this.#at >= this.#b.length;
  }
  byte(): number | undefined {
    return this.#at < this.#b.length ? this.#b[this.#at++] : undefined;
  }
  bytes(n: number): Uint8Array | undefined {
    if (this.#at + n > this.#b.length) return undefined;
    const out = this.#b.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }
  varint(): bigint | undefined {
    let x = 0n;
    for (let shift = 0n; shift < 140n; shift += 7n) {
      const b = this.byte();
      if (b === undefined) return undefined;
      x |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return x;
    }
    return undefined;
  }
}

/** The delta that turns `base` into `target` (both values in canonical order). */
export function encodeDelta(base: readonly string[], target: readonly string[]): Uint8Array {
  const w = new Writer();
  w.bytes.push(...MAGIC);
  w.varint(base.length);
  w.varint(target.length);
  w.bytes.push(...listHash(target).subarray(0, 8));
  const inTarget = new Set(target);
  const inBase = new Set(base);
  const removed: number[] = [];
  base.forEach((v, i) => {
    if (!inTarget.has(v)) removed.push(i);
  });
  w.varint(removed.length);
  let prev = -1;
  for (const i of removed) {
    w.varint(i - prev - 1);
    prev = i;
  }
  const groups = new Map<string, IpRange[]>();
  for (const v of target) {
    if (inBase.has(v)) continue;
    const r = entryRange(v);
    const k = `${r.family}/${r.bits}`;
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  w.varint(groups.size);
  for (const g of groups.values()) {
    const first = g[0]!;
    w.bytes.push(first.family, first.bits);
    w.varint(g.length);
    let at = 0n;
    for (const r of g) {
      w.varint(r.start - at);
      at = r.start;
    }
  }
  return Uint8Array.from(w.bytes);
}

const bad = (message: string) => err({ code: "INPUT_INVALID", message: `${DELTA_IM}: ${message}` });

/**
 * Applies a delta to the base it was made from (values in canonical order) and checks the
 * result against the publisher's fingerprint. Returns the new values in canonical order.
 */
export function applyDelta(base: readonly string[], delta: Uint8Array): Result<string[]> {
  const r = new Reader(delta);
  const magic = r.bytes(4);
  if (!magic || MAGIC.some((m, i) => magic[i] !== m)) return bad("not a delta (bad magic)");
  const baseCount = r.varint();
  const targetCount = r.varint();
  const hash = r.bytes(8);
  if (baseCount === undefined || targetCount === undefined || !hash) return bad("cut short");
  if (Number(baseCount) !== base.length)
    return bad(`made for a base of ${baseCount} entries, ours has ${base.length}`);
  const removedCount = r.varint();
  if (removedCount === undefined || removedCount > baseCount) return bad("bad removal count");
  const removed = new Set<number>();
  let at = -1;
  for (let i = 0n; i < removedCount; i++) {
    const gap = r.varint();
    if (gap === undefined) return bad("cut short");
    at += Number(gap) + 1;
    if (at >= base.length) return bad("removal beyond the base");
    removed.add(at);
  }
  const kept = base.filter((_, i) => !removed.has(i));
  const added: IpRange[] = [];
  const groupCount = r.varint();
  if (groupCount === undefined || groupCount > 256n) return bad("bad group count");
  for (let g = 0n; g < groupCount; g++) {
    const family = r.byte();
    const bits = r.byte();
    const n = r.varint();
    if ((family !== 4 && family !== 6) || bits === undefined || n === undefined)
      return bad("bad group header");
    if (bits > (family === 4 ? 32 : 128) || n > targetCount) return bad("bad group header");
    let start = 0n;
    for (let i = 0n; i < n; i++) {
      const gap = r.varint();
      if (gap === undefined) return bad("cut short");
      start += gap;
      added.push({ family, start, bits });
    }
  }
  if (!r.done) return bad("trailing bytes");
  const all = [...kept.map(entryRange), ...added].sort(compareRanges);
  const values = all.map((x) => prefixText(x));
  for (let i = 1; i < values.length; i++)
    if (values[i] === values[i - 1]) return bad(`${formatCidr(all[i]!)} added twice`);
  if (values.length !== Number(targetCount))
    return bad(`gives ${values.length} entries, the publisher has ${targetCount}`);
  if (!listHash(values).subarray(0, 8).equals(hash))
    return bad("the result differs from the publisher's version (fingerprint mismatch)");
  return ok(values);
}
