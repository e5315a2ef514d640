import type { IpRange } from "../net/index.ts";
import { compareRanges } from "./entry.ts";

const WIDTH = { 4: 32n, 6: 128n } as const;

/**
 * The fewest CIDR prefixes covering exactly the addresses the given prefixes cover: contained
 * prefixes disappear, adjacent and overlapping ones merge. IPv4 first, then IPv6, each in
 * address order. Linear after the sort.
 */
export function aggregate(ranges: Iterable<IpRange>): IpRange[] {
  const sorted = [...ranges].sort(compareRanges);
  const out: IpRange[] = [];
  let family: 4 | 6 | undefined;
  let start = 0n;
  let end = -1n;
  const flush = (): void => {
    if (family !== undefined && end >= start) split(family, start, end, out);
  };
  for (const r of sorted) {
    const last = r.start + (1n << (WIDTH[r.family] - BigInt(r.bits))) - 1n;
    if (r.family === family && r.start <= end + 1n) {
      if (last > end) end = last;
      continue;
    }
    flush();
    family = r.family;
    start = r.start;
    end = last;
  }
  flush();
  return out;
}

/** The aligned blocks, largest first, that tile [start, end]. */
function split(family: 4 | 6, start: bigint, end: bigint, out: IpRange[]): void {
  const width = WIDTH[family];
  let s = start;
  while (s <= end) {
    let size = width; // log2 of the block size
    // The block must start at s (alignment) and stay within end.
    while (size > 0n && (s & ((1n << size) - 1n)) !== 0n) size--;
    while (size > 0n && s + (1n << size) - 1n > end) size--;
    out.push(Object.freeze({ family, start: s, bits: Number(width - size) }));
    s += 1n << size;
  }
}
