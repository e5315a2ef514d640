import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ChallengePasses, cookieValues, passSubject } from "./challenge-pass.ts";

const T0 = Date.UTC(2026, 11, 8, 1, 0, 0);
const KEY = Buffer.alloc(32, 1);

describe("ChallengePasses", () => {
  const passes = new ChallengePasses(KEY, 3_600_000);

  it("is valid from its address until it expires, and from nowhere else", () => {
    const p = passes.issue("192.0.2.7", T0);
    assert.equal(p.expiresAt, T0 + 3_600_000);
    assert.match(p.value, /^[A-Za-z0-9_-]+$/, "a cookie value needs no quoting");
    assert.ok(passes.valid(p.value, "192.0.2.7", T0));
    assert.ok(passes.valid(p.value, "192.0.2.7", T0 + 3_599_999));
    assert.ok(!passes.valid(p.value, "192.0.2.7", T0 + 3_600_000), "expired");
    assert.ok(!passes.valid(p.value, "192.0.2.8", T0), "another address");
    assert.ok(!passes.valid(p.value, "192.0.2.7", T0 - 61_000), "issued in the future");
  });

  it("binds an IPv6 pass to the /64, whose privacy addresses change", () => {
    const p = passes.issue("2001:db8:1:2::5", T0);
    assert.ok(passes.valid(p.value, "2001:db8:1:2:abcd::9", T0));
    assert.ok(!passes.valid(p.value, "2001:db8:1:3::5", T0));
    assert.equal(passSubject("2001:db8:1:2:abcd::9"), "2001:db8:1:2::/64");
    assert.equal(passSubject("192.0.2.7"), "192.0.2.7");
  });

  it("is not made without the key", () => {
    const p = passes.issue("192.0.2.7", T0);
    const other = new ChallengePasses(Buffer.alloc(32, 2), 3_600_000);
    assert.ok(!other.valid(p.value, "192.0.2.7", T0));
  });

  it("refuses any change to a pass, and never throws on junk", () => {
    const p = passes.issue("192.0.2.7", T0);
    const bytes = Buffer.from(p.value, "base64url");
    for (let i = 0; i < bytes.length; i++) {
      const b = Buffer.from(bytes);
      b[i]! ^= 1;
      assert.ok(!passes.valid(b.toString("base64url"), "192.0.2.7", T0), `byte ${i} flipped`);
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (junk) => {
        assert.equal(passes.valid(junk, "192.0.2.7", T0), false);
      }),
    );
  });
});

describe("cookieValues", () => {
  it("finds each value of a name, and not a name that merely ends with it", () => {
    assert.deepEqual(cookieValues("a=1; rempart_pass=xyz; b=2", "rempart_pass"), ["xyz"]);
    assert.deepEqual(cookieValues("rempart_pass=x;rempart_pass=y", "rempart_pass"), ["x", "y"]);
    assert.deepEqual(cookieValues('rempart_pass="q"', "rempart_pass"), ["q"]);
    assert.deepEqual(cookieValues("my_rempart_pass=x; rempart_passe=y", "rempart_pass"), []);
    assert.deepEqual(cookieValues(["a=1", "rempart_pass=z"], "rempart_pass"), ["z"]);
    assert.deepEqual(cookieValues(undefined, "rempart_pass"), []);
    assert.deepEqual(cookieValues("", "rempart_pass"), []);
  });
});
