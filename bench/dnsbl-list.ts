/** The DNSBL benchmarks' list (bench/dnsbl-gen.ts: one address or CIDR a line) as decisions. */
import { readFileSync } from "node:fs";
import type { Decision } from "../src/core/index.ts";
import { DecisionBook } from "../src/decisions/index.ts";

/** A book holding one week-long `ban` per line of `list`, created at `now`. */
export function bookFromList(list: string, now: number): DecisionBook {
  const book = new DecisionBook();
  let i = 0;
  for (const value of readFileSync(list, "utf8").split("\n")) {
    if (value === "") continue;
    book.add(
      Object.freeze({
        id: `b${i++}`,
        action: "ban",
        scope: value.includes("/") ? "range" : "ip",
        value,
        createdAt: now,
        expiresAt: now + 7 * 86_400_000,
        origin: "import",
        scenario: "bench-list",
        reason: "Listed by the benchmark list",
        offence: 0,
        tzOffset: 0,
      } satisfies Decision),
    );
  }
  return book;
}
