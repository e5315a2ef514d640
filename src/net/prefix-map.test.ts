import assert from "node:assert/strict";
import { isIP } from "node:net";
import { test } from "node:test";
import fc from "fast-check";
import {
  formatWords,
  newAddressWords,
  parseAddressWords,
  parsePrefixWords,
} from "./address-words.ts";
import { bigIntToIp, formatCidr, ipFamily, ipToBigInt, normalizeIp, parseCidr } from "./ip.ts";
import { PrefixMap } from "./prefix-map.ts";

const wordsToBigInt = (w: Uint32Array, family: 4 | 6): bigint =>
  family === 4
    ? BigInt(w[0]!)
    : (BigInt(w[0]!) << 96n) | (BigInt(w[1]!) << 64n) | (BigInt(w[2]!) << 32n) | BigInt(w[3]!);

test("address words: the same number as the BigInt parser, for every address fast-check makes", () => {
  const w = newAddressWords();
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
      const family = parseAddressWords(ip, w);
      const n = normalizeIp(ip)!;
      // `normalizeIp` maps only the dotted form of IPv4-mapped addresses; words map both.
      const mappedHex = ipFamily(n) === 6 && ipToBigInt(n) >> 32n === 0xffffn;
      assert.equal(family, mappedHex ? 4 : ipFamily(n), ip);
      const expected = mappedHex ? ipToBigInt(n) & 0xffffffffn : ipToBigInt(n);
      assert.equal(wordsToBigInt(w, family === 4 ? 4 : 6), expected, ip);
      assert.equal(w[4], family === 4 ? 32 : 128);
    }),
    { numRuns: 20000 },
  );
});

test("address words: accepts exactly what node:net accepts, on strings made of address characters", () => {
  const w = newAddressWords();
  const chars = fc.constantFrom(..."0123456789abcdefABCDEF:.".split(""), "::", "ff", "1.2");
  fc.assert(
    fc.property(fc.array(chars, { maxLength: 24 }), (parts) => {
      const s = parts.join("");
      assert.equal(parseAddressWords(s, w) !== 0, isIP(s) !== 0, s);
    }),
    { numRuns: 50000 },
  );
});

test("address words: brackets, zones, mapped forms and garbage", () => {
  const w = newAddressWords();
  assert.equal(parseAddressWords("[2001:db8::1]", w), 6);
  assert.equal(formatWords(w, 6), "2001:db8:0:0:0:0:0:1");
  assert.equal(parseAddressWords("fe80::1%eth0", w), 6);
  assert.equal(parseAddressWords("::ffff:192.0.2.7", w), 4);
  assert.equal(formatWords(w, 4), "192.0.2.7");
  assert.equal(parseAddressWords("::ffff:c000:207", w), 4);
  assert.equal(formatWords(w, 4), "192.0.2.7");
  assert.equal(parseAddressWords("255.255.255.255", w), 4);
  assert.equal(w[0], 0xffffffff);
  for (const bad of ["", "unknown", "1.2.3", "1.2.3.256", "01.2.3.4", "2001:db8::g", "::1::2"])
    assert.equal(parseAddressWords(bad, w), 0, bad);
  for (const bad of ["1.2.3.4%eth0", "%eth0", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:1.2.3.4"])
    assert.equal(parseAddressWords(bad, w), 0, bad);
});

test("prefix words: agree with parseCidr (host bits cleared, length checked)", () => {
  const w = newAddressWords();
  const prefix = fc.oneof(
    fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 40 })),
    fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 140 })),
  );
  fc.assert(
    fc.property(prefix, ([ip, bits]) => {
      const text = `${ip}/${bits}`;
      const family = parsePrefixWords(text, w);
      const ref = parseCidr(text);
      // IPv4-mapped prefixes differ on purpose (lengths count 128 bits as written): see below.
      const n = normalizeIp(ip)!;
      if (ip.includes(":") && (!n.includes(":") || ipToBigInt(n) >> 32n === 0xffffn)) return;
      if (ref === undefined) {
        assert.equal(family, 0, text);
        return;
      }
      assert.equal(family, ref.family, text);
      assert.equal(w[4], ref.bits, text);
      assert.equal(wordsToBigInt(w, ref.family), ref.start, text);
    }),
    { numRuns: 20000 },
  );
  assert.equal(parsePrefixWords("::ffff:1.2.3.0/120", w), 4);
  assert.equal(formatWords(w, 4, w[4]), "1.2.3.0/24");
  assert.equal(parsePrefixWords("::ffff:1.2.3.0/64", w), 6);
  assert.equal(formatWords(w, 6, w[4]), "0:0:0:0:0:0:0:0/64");
  for (const bad of ["1.2.3.0/", "1.2.3.0/33", "1.2.3.0/2a", "::/129", "::/0001", "x/8"])
    assert.equal(parsePrefixWords(bad, w), 0, bad);
});

// The reference: a list of (family, start, bits) compared by BigInt masks.
interface RefEntry {
  readonly family: 4 | 6;
  readonly start: bigint;
  readonly bits: number;
  value: number;
}
const refMask = (bits: number, family: 4 | 6): bigint => {
  const width = family === 4 ? 32 : 128;
  return ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - bits)) - 1n);
};
const refContains = (e: RefEntry, family: 4 | 6, n: bigint): boolean =>
  e.family === family && (n & refMask(e.bits, family)) === e.start;

// Addresses clustered in a few networks, so prefixes nest and overlap and look-ups hit.
const v4Address = fc
  .tuple(fc.constantFrom(0x0a000000, 0xc0a80000, 0x01020300, 0xffffff00), fc.nat(0xffff))
  .map(([base, low]) => bigIntToIp(BigInt((base | low) >>> 0), 4));
const v6Address = fc
  .tuple(fc.constantFrom(0x20010db8n, 0x2a0104f8n), fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }))
  .map(([base, low]) => bigIntToIp((base << 96n) | (low << 20n) | (low & 0xfffffn), 6));
const v4Prefix = fc.tuple(v4Address, fc.integer({ min: 0, max: 32 }));
const v6Prefix = fc.tuple(v6Address, fc.integer({ min: 0, max: 128 }));
const op = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constant("set" as const), fc.oneof(v4Prefix, v6Prefix)) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("delete" as const), fc.oneof(v4Prefix, v6Prefix)) },
);

test("prefix map: longest and all-matching look-ups agree with a naive reference through sets and deletes", () => {
  fc.assert(
    fc.property(
      fc.array(op, { maxLength: 120 }),
      fc.array(fc.oneof(v4Address, v6Address), { minLength: 1, maxLength: 40 }),
      (ops, queries) => {
        const map = new PrefixMap<number>();
        let ref: RefEntry[] = [];
        ops.forEach(([kind, [ip, bits]], i) => {
          const text = `${ip}/${bits}`;
          const r = parseCidr(text);
          if (!r) return;
          const at = ref.findIndex(
            (e) => e.family === r.family && e.bits === r.bits && e.start === r.start,
          );
          if (kind === "set") {
            assert.equal(map.set(text, i), true);
            if (at >= 0) ref[at]!.value = i;
            else ref.push({ family: r.family, start: r.start, bits: r.bits, value: i });
          } else {
            assert.equal(map.delete(text), at >= 0, text);
            ref = ref.filter((_, k) => k !== at);
          }
          assert.equal(map.size, ref.length);
        });
        for (const e of ref)
          assert.equal(map.get(`${bigIntToIp(e.start, e.family)}/${e.bits}`), e.value);
        for (const q of [...queries, ...ref.map((e) => bigIntToIp(e.start, e.family))]) {
          const family = ipFamily(q);
          const n = ipToBigInt(q);
          const all = ref.filter((e) => refContains(e, family, n)).sort((a, b) => b.bits - a.bits);
          assert.deepEqual(
            map.matches(q),
            all.map((e) => e.value),
            q,
          );
          assert.equal(map.longest(q), all[0]?.value, q);
          assert.equal(
            map.longest(q) !== undefined,
            all.length > 0,
            "contains ⇔ the reference contains",
          );
        }
      },
    ),
    { numRuns: 400 },
  );
});

test("prefix map: tables grow and shrink through many inserts and deletes", () => {
  const map = new PrefixMap<number>();
  const n = 50_000;
  const v4 = (i: number): string => bigIntToIp(BigInt(Math.imul(i, 2654435761) >>> 0), 4);
  const v6 = (i: number): string =>
    `2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64`;
  for (let i = 0; i < n; i++) {
    map.set(v4(i), i);
    map.set(v6(i), -i);
  }
  assert.equal(map.size, 2 * n);
  for (let i = 0; i < n; i += 2) {
    assert.equal(map.delete(v4(i)), true);
    assert.equal(map.delete(v6(i)), true);
  }
  assert.equal(map.size, n);
  for (let i = 0; i < n; i++) {
    assert.equal(map.longest(v4(i)), i % 2 === 0 ? undefined : i, v4(i));
    assert.equal(map.longest(v6(i).replace("::/64", "::1")), i % 2 === 0 ? undefined : -i);
  }
});

test("prefix map: the default routes, short prefixes across many /16s, and non-addresses", () => {
  const map = new PrefixMap<string>();
  assert.equal(map.set("0.0.0.0/0", "any4"), true);
  assert.equal(map.set("::/0", "any6"), true);
  assert.equal(map.set("10.0.0.0/8", "ten"), true);
  assert.equal(map.set("10.1.0.0/16", "ten-one"), true);
  assert.equal(map.set("10.1.2.3", "host"), true);
  assert.equal(map.set("not a prefix", "x"), false);
  assert.deepEqual(map.matches("10.1.2.3"), ["host", "ten-one", "ten", "any4"]);
  assert.deepEqual(map.matches("10.200.0.1"), ["ten", "any4"]);
  assert.deepEqual(map.matches("2001:db8::1"), ["any6"]);
  assert.equal(map.matchInto("nope", []), -1);
  assert.equal(map.longest("nope"), undefined);
  assert.equal(map.delete("10.0.0.0/8"), true);
  assert.equal(map.delete("10.0.0.0/8"), false);
  assert.deepEqual(map.matches("10.200.0.1"), ["any4"]);
  assert.equal(map.delete("0.0.0.0/0"), true);
  assert.equal(map.longest("10.200.0.1"), undefined);
  assert.equal(map.longest4(0x0a010203), "host");
  assert.equal(map.longest6([0x20010db8, 0, 0, 1]), "any6");
});

// A second reference, on the parser's own words (proven against node:net above), so that
// IPv4-mapped prefixes, bare addresses and /0 go through the map exactly as callers write them.
interface WordEntry {
  readonly family: 4 | 6;
  readonly start: bigint;
  readonly bits: number;
  value: number;
}
const wordsOf = (text: string, prefix: boolean): WordEntry | undefined => {
  const w = newAddressWords();
  const family = prefix ? parsePrefixWords(text, w) : parseAddressWords(text, w);
  if (family === 0) return undefined;
  return { family, start: wordsToBigInt(w, family), bits: w[4]!, value: 0 };
};
const holds = (e: WordEntry, q: WordEntry): boolean =>
  e.family === q.family && (q.start & refMask(e.bits, q.family)) === e.start;

// Addresses in two crowded /16s (so members nest in one list), a few /8s, or anywhere.
const anyV4 = fc
  .tuple(
    fc.constantFrom(0x0a010000, 0xc0a80000, 0x0a000000, 0x7f000000, 0),
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.nat(0xffff),
  )
  .map(([base, any, low]) => {
    const n =
      base === 0
        ? any >>> 0
        : base === 0x0a000000
          ? (base | (any & 0xffffff)) >>> 0
          : (base | low) >>> 0;
    return bigIntToIp(BigInt(n), 4);
  });
const anyV6 = fc
  .tuple(
    fc.constantFrom(0x20010db8n, 0x2a0104f8n, 0n),
    fc.bigInt({ min: 0n, max: (1n << 96n) - 1n }),
  )
  .map(([top, low]) =>
    bigIntToIp(top === 0n ? low << 32n : (top << 96n) | (low & ((1n << 96n) - 1n)), 6),
  );
/** A prefix as a caller may write it: CIDR, a bare address, or IPv4-mapped IPv6. */
const anyPrefix = fc.oneof(
  fc.tuple(anyV4, fc.integer({ min: 0, max: 32 })).map(([ip, bits]) => `${ip}/${bits}`),
  fc.tuple(anyV4, fc.integer({ min: 14, max: 32 })).map(([ip, bits]) => `${ip}/${bits}`),
  anyV4,
  fc.tuple(anyV4, fc.integer({ min: 96, max: 128 })).map(([ip, bits]) => `::ffff:${ip}/${bits}`),
  fc.tuple(anyV6, fc.integer({ min: 0, max: 128 })).map(([ip, bits]) => `${ip}/${bits}`),
  anyV6,
);
const anyAddress = fc.oneof(
  anyV4,
  anyV6,
  anyV4.map((ip) => `::ffff:${ip}`),
);
const step = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constant("set" as const), anyPrefix) },
  { weight: 2, arbitrary: fc.tuple(fc.constant("delete" as const), anyPrefix) },
  { weight: 2, arbitrary: fc.tuple(fc.constant("look" as const), anyAddress) },
);

test("prefix map: every look-up agrees with a naive reference through interleaved sets, deletes and look-ups", () => {
  fc.assert(
    fc.property(
      fc.array(step, { maxLength: 200 }),
      fc.array(anyAddress, { maxLength: 30 }),
      (steps, tail) => {
        const map = new PrefixMap<number>();
        const ref: WordEntry[] = [];
        const check = (ip: string): void => {
          const q = wordsOf(ip, false)!;
          const all = ref.filter((e) => holds(e, q)).sort((a, b) => b.bits - a.bits);
          assert.deepEqual(
            map.matches(ip),
            all.map((e) => e.value),
            ip,
          );
          assert.equal(map.longest(ip), all[0]?.value, ip);
          const w = newAddressWords();
          parseAddressWords(ip, w);
          assert.equal(q.family === 4 ? map.longest4(w[0]!) : map.longest6(w), all[0]?.value, ip);
        };
        steps.forEach(([kind, text], i) => {
          if (kind === "look") {
            check(text);
            return;
          }
          const p = wordsOf(text, true)!;
          const at = ref.findIndex(
            (e) => e.family === p.family && e.bits === p.bits && e.start === p.start,
          );
          if (kind === "set") {
            assert.equal(map.set(text, i), true);
            if (at >= 0) ref[at]!.value = i;
            else ref.push({ ...p, value: i });
          } else {
            assert.equal(map.delete(text), at >= 0, text);
            if (at >= 0) ref.splice(at, 1);
          }
          assert.equal(map.size, ref.length);
        });
        for (const e of ref) {
          const text =
            e.family === 4
              ? `${bigIntToIp(e.start, 4)}/${e.bits}`
              : `${bigIntToIp(e.start, 6)}/${e.bits}`;
          assert.equal(map.get(text), e.value, text);
          assert.equal(map.has(text), true, text);
        }
        for (const ip of [...tail, ...ref.map((e) => bigIntToIp(e.start, e.family))]) check(ip);
      },
    ),
    { numRuns: 300 },
  );
});

test("prefix map: a /16 with more members than an interval can name (the slow path), through deletes", () => {
  const map = new PrefixMap<number>();
  // 40,000 addresses of 10.1.0.0/16 and ranges nesting over them and over the gaps.
  const hosts = new Set<number>();
  for (let i = 0; hosts.size < 40_000; i++) hosts.add(Math.imul(i, 40503) & 0xffff);
  for (const h of hosts) map.set(`10.1.${h >>> 8}.${h & 255}`, h);
  const ranges: [number, number][] = [
    [16, 0],
    [20, 0x3000],
    [24, 0x3400],
    [28, 0x3450],
    [24, 0xfe00],
  ];
  for (const [bits, start] of ranges) map.set(`10.1.${start >>> 8}.${start & 255}/${bits}`, -bits);
  const expect = (low: number): number[] => {
    const out = hosts.has(low) ? [low] : [];
    for (const [bits, start] of [...ranges].reverse())
      if (low >>> (32 - bits) === start >>> (32 - bits)) out.push(-bits);
    return out;
  };
  const probe = (): void => {
    for (let k = 0; k < 3000; k++) {
      const low = Math.imul(k, 2654435761) >>> 16;
      const ip = `10.1.${low >>> 8}.${low & 255}`;
      assert.deepEqual(map.matches(ip), expect(low), ip);
      assert.equal(map.longest(ip), expect(low)[0], ip);
    }
  };
  probe();
  let n = 0;
  for (const h of hosts) {
    if (n++ % 3 !== 0) continue;
    assert.equal(map.delete(`10.1.${h >>> 8}.${h & 255}`), true);
    hosts.delete(h);
  }
  assert.equal(map.size, hosts.size + ranges.length);
  probe();
});

test("PrefixMap.settle: rewrites every changed /16 once, and look-ups answer as before", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.ipV4(), fc.integer({ min: 16, max: 32 })), {
        minLength: 1,
        maxLength: 60,
      }),
      fc.array(fc.ipV4(), { minLength: 1, maxLength: 40 }),
      (prefixes, queries) => {
        const lazy = new PrefixMap<number>();
        const settled = new PrefixMap<number>();
        const sixteens = new Set<string>();
        prefixes.forEach(([ip, bits], i) => {
          const cidr = formatCidr(parseCidr(`${ip}/${bits}`)!);
          lazy.set(cidr, i);
          settled.set(cidr, i);
          sixteens.add(ip.split(".").slice(0, 2).join("."));
        });
        // A prefix of /16–/32 dirties exactly its own /16.
        assert.equal(settled.settle(), sixteens.size);
        assert.equal(settled.settle(), 0, "nothing is left to rewrite");
        for (const q of [...queries, ...prefixes.map(([ip]) => ip)])
          assert.deepEqual(settled.matches(q), lazy.matches(q), q);
      },
    ),
  );
});
