import type { AsInfo } from "../ports.ts";
import { newAddressWords, parseAddressWords } from "../../net/index.ts";
import { grownArray, largeArray } from "../../net/large-arrays.ts";
import type { AsCsvRow } from "./as-csv.ts";

/** The ASes of a table, by index: numbers, hosting flags, and names as ranges of one array. */
export interface AsList {
  readonly asns: Uint32Array;
  /** 1: hosting. */
  readonly hosting: Uint8Array;
  /** Every name in UTF-8, end to end; AS i's ends at `nameEnds[i]` and starts where i − 1's ends. */
  readonly names: Buffer;
  readonly nameEnds: Uint32Array;
}

/**
 * Address ranges → AS, in sorted typed arrays searched by bisection: no BigInt, no allocation
 * per look-up, a few MB for the whole Internet. IPv4 rows are `[start, end, index]` triples of
 * a Uint32Array; IPv6 rows are 128-bit exact (`[s0..s3, e0..e3]` in one array, the AS's index
 * in another), because a few hundred rows of the public data are narrower than a /64.
 *
 * The ASes (about 90,000 in the public data) are typed arrays too, their names in UTF-8. An
 * AS's AsInfo is made on its first look-up and shared by all later ones: the heap holds the
 * ASes actually met, not three objects (the info, its name, its boxed number) for each AS
 * there is, which every full collection had to mark (bench/RESULTS.md, "AS data outside the
 * heap").
 */
export class AsTable {
  readonly #v4: Uint32Array;
  readonly #v6: Uint32Array;
  readonly #v6Info: Uint32Array;
  readonly #ases: AsList;
  readonly #infos: (AsInfo | undefined)[];
  readonly #words = newAddressWords();

  constructor(v4: Uint32Array, v6: Uint32Array, v6Info: Uint32Array, ases: AsList) {
    this.#v4 = v4;
    this.#v6 = v6;
    this.#v6Info = v6Info;
    this.#ases = ases;
    this.#infos = new Array<AsInfo | undefined>(ases.asns.length);
  }

  /** Rows after merging (IPv4, IPv6) and distinct ASes. */
  get counts(): { readonly v4: number; readonly v6: number; readonly ases: number } {
    return { v4: this.#v4.length / 3, v6: this.#v6Info.length, ases: this.#ases.asns.length };
  }

  /** Bytes held in typed arrays (the ASes looked up are on the heap besides). */
  get bytes(): number {
    const a = this.#ases;
    return (
      this.#v4.byteLength +
      this.#v6.byteLength +
      this.#v6Info.byteLength +
      a.asns.byteLength +
      a.hosting.byteLength +
      a.nameEnds.byteLength +
      a.names.byteLength
    );
  }

  /** How many of the ASes are classified as hosting. */
  hostingCount(): number {
    let n = 0;
    for (const h of this.#ases.hosting) n += h;
    return n;
  }

  lookup(ip: string): AsInfo | undefined {
    const w = this.#words;
    const family = parseAddressWords(ip, w);
    if (family === 4) {
      const rows = this.#v4;
      const x = w[0]!;
      let lo = 0;
      let hi = rows.length / 3 - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (rows[3 * mid]! <= x) lo = mid + 1;
        else hi = mid - 1;
      }
      if (hi < 0 || rows[3 * hi + 1]! < x) return undefined;
      return this.#info(rows[3 * hi + 2]!);
    }
    if (family === 6) {
      const rows = this.#v6;
      let lo = 0;
      let hi = this.#v6Info.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (cmp(rows, 8 * mid, w) <= 0) lo = mid + 1;
        else hi = mid - 1;
      }
      if (hi < 0 || cmp(rows, 8 * hi + 4, w) < 0) return undefined;
      return this.#info(this.#v6Info[hi]!);
    }
    return undefined;
  }

  /** AS `i`'s info: the one made on its first look-up. */
  #info(i: number): AsInfo {
    const known = this.#infos[i];
    if (known !== undefined) return known;
    const a = this.#ases;
    const info: AsInfo = Object.freeze({
      asn: a.asns[i]!,
      name: a.names.toString("utf8", i === 0 ? 0 : a.nameEnds[i - 1]!, a.nameEnds[i]),
      hosting: a.hosting[i] === 1,
    });
    this.#infos[i] = info;
    return info;
  }
}

/** `rows[at..at+3]` against `w[0..3]`: negative, zero or positive. */
function cmp(rows: Uint32Array, at: number, w: Uint32Array): number {
  for (let k = 0; k < 4; k++) {
    const a = rows[at + k]!;
    const b = w[k]!;
    if (a !== b) return a < b ? -1 : 1;
  }
  return 0;
}

export const EMPTY_AS_TABLE = new AsTable(
  new Uint32Array(0),
  new Uint32Array(0),
  new Uint32Array(0),
  {
    asns: new Uint32Array(0),
    hosting: new Uint8Array(0),
    names: Buffer.alloc(0),
    nameEnds: new Uint32Array(0),
  },
);

/** What building the table found in the data (overlaps are the source's own mistakes). */
export interface AsTableStats {
  readonly rows: number;
  /** Rows cut or dropped because an earlier range already covered them. */
  readonly overlaps: number;
  /** Rows with AS 0 (IANA's "not routed"), left out. */
  readonly unrouted: number;
}

/** A growable Uint32Array (its copies are given back when freed: see large-arrays.ts). */
class Words {
  data = new Uint32Array(1 << 12);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length)
      this.data = grownArray(Uint32Array, this.data, this.data.length * 2);
    this.data[this.length++] = v;
  }
}

/**
 * Collects rows in any order, then sorts them, cuts overlaps (the earlier row of the sort
 * wins), merges neighbours of the same AS and freezes the result.
 */
export class AsTableBuilder {
  readonly #v4 = new Words();
  readonly #v6 = new Words();
  readonly #infoOf = new Map<number, number>();
  readonly #asns: number[] = [];
  readonly #names: string[] = [];
  #rows = 0;
  #unrouted = 0;

  add(row: AsCsvRow): void {
    this.#rows++;
    if (row.asn === 0) {
      this.#unrouted++;
      return;
    }
    let info = this.#infoOf.get(row.asn);
    if (info === undefined) {
      info = this.#asns.length;
      this.#infoOf.set(row.asn, info);
      this.#asns.push(row.asn);
      // A copy: a slice would keep the whole chunk of the file it was cut from alive until the
      // table is built.
      this.#names.push(Buffer.from(row.name, "utf8").toString("utf8"));
    }
    if (row.family === 4) {
      this.#v4.push(row.start[0]!);
      this.#v4.push(row.end[0]!);
      this.#v4.push(info);
    } else {
      for (let k = 0; k < 4; k++) this.#v6.push(row.start[k]!);
      for (let k = 0; k < 4; k++) this.#v6.push(row.end[k]!);
      this.#v6.push(info);
    }
  }

  get rows(): number {
    return this.#rows;
  }

  /** `hosting(asn, name)` classifies each AS once. */
  build(hosting: (asn: number, name: string) => boolean): {
    table: AsTable;
    stats: AsTableStats;
  } {
    const count = this.#asns.length;
    const asns = Uint32Array.from(this.#asns);
    const hosts = new Uint8Array(count);
    const nameEnds = new Uint32Array(count);
    let end = 0;
    for (let i = 0; i < count; i++) {
      const name = this.#names[i]!;
      if (hosting(asns[i]!, name)) hosts[i] = 1;
      nameEnds[i] = end += Buffer.byteLength(name, "utf8");
    }
    const names = Buffer.alloc(end);
    for (let i = 0; i < count; i++) names.write(this.#names[i]!, i === 0 ? 0 : nameEnds[i - 1]!);
    const ases: AsList = { asns, hosting: hosts, names, nameEnds };
    const v4 = normalise(this.#v4, 1);
    const v6 = normalise(this.#v6, 4);
    const v6Rows = v6.rows.length / 9;
    const v6Bounds = new Uint32Array(8 * v6Rows);
    const v6Info = new Uint32Array(v6Rows);
    for (let i = 0; i < v6Rows; i++) {
      v6Bounds.set(v6.rows.subarray(9 * i, 9 * i + 8), 8 * i);
      v6Info[i] = v6.rows[9 * i + 8]!;
    }
    return {
      table: new AsTable(v4.rows, v6Bounds, v6Info, ases),
      stats: Object.freeze({
        rows: this.#rows,
        overlaps: v4.overlaps + v6.overlaps,
        unrouted: this.#unrouted,
      }),
    };
  }
}

/**
 * Sorts rows of `2n + 1` words (`n` = words per address) by start, cuts overlaps and merges
 * adjacent rows of the same AS. Returns a right-sized array.
 */
function normalise(src: Words, n: 1 | 4): { rows: Uint32Array; overlaps: number } {
  const width = 2 * n + 1;
  const data = src.data;
  const count = src.length / width;
  // Row i's start is at data[i * width], its end at data[i * width + n].
  const cmpAt = (a: Uint32Array, i: number, b: Uint32Array, j: number): number => {
    for (let k = 0; k < n; k++) {
      const x = a[i + k]!;
      const y = b[j + k]!;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  };
  let order: Uint32Array | undefined;
  for (let i = 1; i < count; i++)
    if (cmpAt(data, (i - 1) * width, data, i * width) > 0) {
      const o = Array.from({ length: count }, (_, k) => k);
      o.sort((a, b) => cmpAt(data, a * width, data, b * width));
      order = Uint32Array.from(o);
      break;
    }

  const out = largeArray(Uint32Array, count * width);
  let len = 0;
  let overlaps = 0;
  const lastEnd = new Uint32Array(4);
  const start = new Uint32Array(4);
  for (let r = 0; r < count; r++) {
    const at = (order === undefined ? r : order[r]!) * width;
    for (let k = 0; k < n; k++) start[k] = data[at + k]!;
    const endAt = at + n;
    const info = data[at + 2 * n]!;
    if (len > 0 && cmpAt(start, 0, lastEnd, 0) <= 0) {
      overlaps++;
      if (cmpAt(data, endAt, lastEnd, 0) <= 0) continue; // wholly covered
      for (let k = 0; k < n; k++) start[k] = lastEnd[k]!;
      increment(start, n);
    }
    const prev = (len - 1) * width;
    let extend = len > 0 && out[prev + 2 * n] === info;
    if (extend) {
      // The same AS right after the previous row: extend that row.
      next.set(lastEnd);
      increment(next, n);
      extend = cmpAt(next, 0, start, 0) === 0;
    }
    const row = extend ? prev : len++ * width;
    if (!extend) {
      for (let k = 0; k < n; k++) out[row + k] = start[k]!;
      out[row + 2 * n] = info;
    }
    for (let k = 0; k < n; k++) out[row + n + k] = lastEnd[k] = data[endAt + k]!;
  }
  return { rows: out.slice(0, len * width), overlaps };
}

const next = new Uint32Array(4);

/** Adds one to an address of `n` words (never called on the last address: ends ≥ starts). */
function increment(w: Uint32Array, n: 1 | 4): void {
  for (let k = n - 1; k >= 0; k--) {
    w[k] = (w[k]! + 1) >>> 0;
    if (w[k] !== 0) return;
  }
}
