import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createFingerprint, fieldKind, fingerprint, fingerprintFields } from "./fingerprint.ts";
import {
  compileFingerprints,
  DEFAULT_FINGERPRINTS,
  FingerprintKeySchema,
  FingerprintsSchema,
} from "./text-config.ts";

const KEY = "a-secret-of-sixteen-or-more";

describe("fingerprint", () => {
  it("is short base64url (12 bytes) and stable across calls", () => {
    const a = fingerprint("name", "Jeff Bezos", { kind: "name", key: KEY });
    assert.match(a ?? "", /^[A-Za-z0-9_-]{16}$/);
    assert.equal(fingerprint("name", "Bézos  JEFF", { kind: "name", key: KEY }), a);
  });

  it("never contains the value nor its normal form", () => {
    const fp = fingerprint("name", "bezos jef", { kind: "name" }) ?? "";
    assert.doesNotMatch(fp, /bezos|jef/i);
  });

  it("depends on the field name and on the key", () => {
    const base = fingerprint("name", "Jeff Bezos", { kind: "name", key: KEY });
    assert.notEqual(fingerprint("comment", "Jeff Bezos", { kind: "name", key: KEY }), base);
    assert.notEqual(fingerprint("name", "Jeff Bezos", { kind: "name", key: `${KEY}x` }), base);
    assert.notEqual(fingerprint("name", "Jeff Bezos", { kind: "name" }), base);
  });

  it("answers undefined when nothing is left", () => {
    assert.equal(fingerprint("name", " \u200b ... ", { kind: "name" }), undefined);
    assert.equal(fingerprint("comment", ""), undefined);
  });

  it("does not collide on distinct normal forms (no accidental collisions in 20,000 names)", () => {
    const seen = new Map<string, string>();
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{2,10} [a-z]{2,12}$/), (v) => {
        const fp = fingerprint("name", v, { kind: "generic", key: KEY })!;
        const before = seen.get(fp);
        if (before !== undefined) assert.equal(before, v);
        seen.set(fp, v);
      }),
      { numRuns: 20_000 },
    );
  });
});

describe("fingerprintFields", () => {
  const identities = compileFingerprints(
    FingerprintsSchema.parse({
      name: { fields: ["first_name", "last_name"], kind: "name" },
      comment: { fields: ["comment"], kind: "text" },
    }),
  );

  it("makes first and last name one identity, in either order, apart from the comment", () => {
    const a = fingerprintFields(
      { first_name: "Jeff", last_name: "Bezos", comment: "déso pas déso" },
      identities,
      KEY,
    );
    const b = fingerprintFields(
      { first_name: "BEZOS", last_name: "j3ff", comment: "Déso pas déso!" },
      identities,
      KEY,
    );
    assert.deepEqual(
      a.map((f) => f.identity),
      ["name", "comment"],
    );
    assert.deepEqual(a, b);
    assert.equal(a[0]!.fingerprint, fingerprint("name", "Jeff Bezos", { kind: "name", key: KEY }));
  });

  it("leaves out identities with no usable value, and ignores inherited names", () => {
    const out = fingerprintFields({ first_name: "", comment: "..." }, identities, KEY);
    assert.deepEqual(out, []);
    const proto = fingerprintFields(Object.create({ first_name: "x y" }) as never, identities);
    assert.deepEqual(proto, []);
  });

  it("takes a partial name", () => {
    const out = fingerprintFields({ last_name: "Gates" }, identities);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.identity, "name");
  });

  it("checks its configuration", () => {
    assert.equal(FingerprintsSchema.safeParse({ name: { fields: [] } }).success, false);
    assert.equal(FingerprintsSchema.safeParse({ name: { fields: ["a"], x: 1 } }).success, false);
    assert.equal(
      FingerprintsSchema.safeParse({ name: { fields: ["a"], kind: "x" } }).success,
      false,
    );
    assert.equal(FingerprintKeySchema.safeParse("short").success, false);
    assert.equal(FingerprintsSchema.safeParse(DEFAULT_FINGERPRINTS).success, true);
    const compiled = compileFingerprints(FingerprintsSchema.parse({ c: { fields: ["comment"] } }));
    assert.deepEqual(compiled, [{ name: "c", fields: ["comment"], kind: "generic" }]);
    assert.ok(Object.isFrozen(compiled[0]));
  });
});

describe("createFingerprint", () => {
  it("infers the kind from the field names of an identity", () => {
    assert.equal(fieldKind("first_name"), "name");
    assert.equal(fieldKind("lastName"), "name");
    assert.equal(fieldKind("prénom"), "name");
    assert.equal(fieldKind("comment"), "text");
    assert.equal(fieldKind("city"), "generic");
    assert.equal(fieldKind("username"), "generic");
  });

  it("fingerprints first_name+last_name as a name, comment as text, the same as fingerprint()", () => {
    const fp = createFingerprint(KEY);
    assert.equal(
      fp("first_name+last_name", "Bezos Jeff"),
      fp("first_name+last_name", "Jeff Bezos"),
    );
    assert.equal(
      fp("first_name+last_name", "Jeff Bezos"),
      fingerprint("first_name+last_name", "Jeff Bezos", { kind: "name", key: KEY }),
    );
    assert.equal(
      fp("comment", "déso pas déso"),
      fingerprint("comment", "Déso, pas déso", { kind: "text", key: KEY }),
    );
    assert.notEqual(fp("comment", "pas déso déso"), fp("comment", "déso pas déso"));
    assert.equal(fp("city", "Pàris"), fingerprint("city", "paris", { kind: "generic", key: KEY }));
    assert.equal(fp("comment", "..."), undefined);
  });
});
