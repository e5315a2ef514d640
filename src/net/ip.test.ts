import assert from "node:assert/strict";
import { isIP } from "node:net";
import { test } from "node:test";
import fc from "fast-check";
import {
  formatCidr,
  ipPrefix,
  ipToBigInt,
  normalizeIp,
  parseCidr,
  RangeList,
  rangeContains,
} from "./ip.ts";

const v6 = fc.ipV6();
const v4 = fc.ipV4();

test("normalisation: canonical, idempotent, and the same number", () => {
  fc.assert(
    fc.property(fc.oneof(v4, v6), (ip) => {
      const n = normalizeIp(ip);
      assert.ok(n !== undefined);
      assert.equal(normalizeIp(n), n, "idempotent");
      assert.ok(isIP(n) !== 0);
      if (!/^::ffff:\d/i.test(ip) && isIP(ip) === isIP(n))
        assert.equal(ipToBigInt(n), ipToBigInt(ip.toLowerCase()));
    }),
    { numRuns: 5000 },
  );
});

test("normalisation takes exactly the texts node:net takes for an address", () => {
  // IPv6 is parsed by the words parser, not node:net's expression: they must agree.
  const unit = fc.constantFrom(...Array.from("0123456789abcdefABCDEF:.:::"));
  const near = fc.oneof(
    fc.ipV6(),
    fc.ipV6().map((s) => s.toUpperCase()),
    fc.tuple(fc.ipV6(), fc.string({ unit, maxLength: 4 })).map(([a, b]) => a + b),
    fc.tuple(fc.string({ unit, maxLength: 4 }), fc.ipV6()).map(([a, b]) => a + b),
    fc.string({ unit, maxLength: 45 }),
  );
  fc.assert(
    fc.property(near, (s) => {
      assert.equal(normalizeIp(s) !== undefined, isIP(s) !== 0, s);
    }),
    { numRuns: 20_000 },
  );
  // Brackets that are not one pair around the whole text, and zones, as before.
  for (const bad of ["[::1]%eth0", "[::]%", "[::1", "[[::1]]", "%::1"])
    assert.equal(normalizeIp(bad), undefined, bad);
  assert.equal(normalizeIp("[fe80::1%eth0]"), "fe80::1");
  assert.equal(normalizeIp("::ffff:102:304"), "1.2.3.4", "mapped in hex is IPv4 too");
  assert.equal(normalizeIp("::FFFF:7F00:1"), "127.0.0.1");
});

test("normalisation: RFC 5952 examples, mapped IPv4, brackets, zones, garbage", () => {
  assert.equal(normalizeIp("2001:DB8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
  assert.equal(normalizeIp("2001:db8:0:0:0:0:2:1"), "2001:db8::2:1");
  assert.equal(normalizeIp("2001:db8::0001"), "2001:db8::1");
  assert.equal(normalizeIp("::ffff:192.0.2.7"), "192.0.2.7");
  assert.equal(normalizeIp("[2001:db8::1]"), "2001:db8::1");
  assert.equal(normalizeIp("fe80::1%eth0"), "fe80::1");
  for (const bad of ["", "unknown", "1.2.3", "1.2.3.256", "2001:db8::g", "::1::2", "01.2.3.4"]) {
    assert.equal(normalizeIp(bad), undefined, bad);
  }
});

test("a prefix contains the address it was made from, and its width is right", () => {
  fc.assert(
    fc.property(fc.oneof(v4, v6), fc.nat(128), (raw, b) => {
      const ip = normalizeIp(raw)!;
      const bits = ip.includes(":") ? b : b % 33;
      const prefix = ipPrefix(ip, bits);
      const range = parseCidr(prefix)!;
      assert.equal(range.bits, bits);
      assert.ok(rangeContains(range, ip), `${prefix} contains ${ip}`);
      assert.equal(formatCidr(range), prefix, "round trip");
      // The same as masking the address's BigInt, the long way.
      assert.equal(prefix, formatCidr(parseCidr(`${ip}/${bits}`)!));
    }),
    { numRuns: 3000 },
  );
});

test("parseCidr clears host bits and refuses nonsense", () => {
  assert.equal(formatCidr(parseCidr("192.0.2.77/24")!), "192.0.2.0/24");
  assert.equal(formatCidr(parseCidr("2001:db8:1:2:3::/48")!), "2001:db8:1::/48");
  for (const bad of ["192.0.2.0/33", "2001:db8::/129", "x/8", "192.0.2.0/", "192.0.2.0/a"])
    assert.equal(parseCidr(bad), undefined, bad);
});

test("RangeList finds containing ranges and overlaps", () => {
  const list = new RangeList(["10.0.0.0/8", "2001:db8::/32"].map((c) => parseCidr(c)!));
  assert.ok(list.find("10.9.8.7"));
  assert.equal(list.find("11.0.0.1"), undefined);
  assert.ok(list.find("2001:db8:ffff::1"));
  assert.ok(list.overlaps(parseCidr("10.1.0.0/16")!));
  assert.ok(list.overlaps(parseCidr("0.0.0.0/0")!), "a wider range overlaps too");
  assert.equal(list.overlaps(parseCidr("192.0.2.0/24")!), false);
});

test("an IPv4-mapped prefix is the IPv4 prefix it maps, as the prefix map matches it", () => {
  const text = (t: string): string | undefined => {
    const r = parseCidr(t);
    return r === undefined ? undefined : formatCidr(r);
  };
  assert.equal(text("::ffff:0:0/96"), "0.0.0.0/0");
  assert.equal(text("::ffff:c0a8:0/112"), "192.168.0.0/16");
  assert.equal(text("::ffff:192.0.2.0/120"), "192.0.2.0/24");
  assert.equal(text("::ffff:7f00:1"), "127.0.0.1/32");
  assert.equal(text("::ffff:0:0/80"), undefined, "past the mapped space");
  assert.equal(text("::ffff:0:0/129"), undefined);
  assert.equal(text("::/0"), "::/0");
});
