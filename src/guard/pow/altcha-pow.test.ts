import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { verifySolution } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/pbkdf2";
import type { Challenge } from "altcha-lib/types";
import fc from "fast-check";
import {
  AltchaPow,
  canonicalParameters,
  type AltchaPowOptions,
  type PowFailure,
} from "./altcha-pow.ts";
import { encodeAltchaPayload, solveAltcha } from "./altcha-solve.ts";
import { deriveGuardKeys } from "./guard-secret.ts";
import { MemoryOnceStore, type OnceStore } from "./once-store.ts";
import { connectRedisOnceStore, type RedisOnceStoreHandle } from "./redis-once-store.ts";

const keys = deriveGuardKeys(randomBytes(32));
// Light work so the suite stays fast; the defaults are exercised once below.
const light = (store: OnceStore = new MemoryOnceStore(), more: Partial<AltchaPowOptions> = {}) =>
  new AltchaPow({ keys, store, cost: 10, counter: 40, ...more });

const T = Date.parse("2020-11-18T16:05:00Z");
const REASONS: readonly PowFailure[] = [
  "missing",
  "malformed",
  "bad-signature",
  "wrong-form",
  "expired",
  "reused",
  "wrong-solution",
];

async function solved(pow: AltchaPow, form = "petition", level = 0, now = T) {
  const challenge = await pow.challenge(form, level, now);
  const result = await solveAltcha(challenge);
  assert.ok(result, "the solver finds the counter");
  return { challenge, ...result };
}

const decode = (payload: string) =>
  JSON.parse(Buffer.from(payload, "base64").toString("utf8")) as {
    challenge: { parameters: Record<string, unknown>; signature: string };
    solution: { counter: number; derivedKey: string };
  };
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");

void describe("AltchaPow", () => {
  void it("accepts a solution made by altcha-lib's solver, with its level", async () => {
    const pow = light();
    const { payload } = await solved(pow, "petition", 1);
    assert.deepEqual(await pow.verify(payload, "petition", T + 30_000), { ok: true, level: 1 });
  });

  void it("accepts a solution to a challenge made with the defaults (PBKDF2/SHA-256)", async () => {
    const pow = new AltchaPow({ keys, store: new MemoryOnceStore() });
    const { challenge, payload, solution } = await solved(pow);
    const parameters = (challenge as unknown as Challenge).parameters;
    assert.equal(parameters.algorithm, "PBKDF2/SHA-256");
    assert.equal(parameters.cost, 1000);
    assert.ok(solution.counter >= 500 && solution.counter <= 1000, `${solution.counter}`);
    assert.deepEqual(await pow.verify(payload, "petition", T + 1000), { ok: true, level: 0 });
  });

  void it("agrees with altcha-lib's own verifySolution (on the wall clock)", async () => {
    const pow = light();
    const now = Date.now();
    const { challenge, solution, payload } = await solved(pow, "signup", 0, now);
    const lib = await verifySolution({
      challenge: challenge as unknown as Challenge,
      solution,
      deriveKey,
      hmacSignatureSecret: keys.challengeSignature,
      hmacKeySignatureSecret: keys.keySignature,
    });
    assert.equal(lib.verified, true);
    assert.equal((await pow.verify(payload, "signup", now)).ok, true);
  });

  void it("accepts a solution once: the second use is reused", async () => {
    const pow = light();
    const { payload } = await solved(pow);
    assert.equal((await pow.verify(payload, "petition", T + 1)).ok, true);
    assert.deepEqual(await pow.verify(payload, "petition", T + 2), {
      ok: false,
      reason: "reused",
    });
  });

  void it("binds a challenge to its form", async () => {
    const pow = light();
    const { payload } = await solved(pow, "petition");
    assert.deepEqual(await pow.verify(payload, "signup", T), { ok: false, reason: "wrong-form" });
    // The refusal did not use it up.
    assert.equal((await pow.verify(payload, "petition", T)).ok, true);
  });

  void it("expires on the injected clock, not the wall clock (replay of 2020 works)", async () => {
    const pow = light(new MemoryOnceStore(), { expiresMs: 600_000 });
    const { payload } = await solved(pow, "petition", 0, T);
    assert.deepEqual(await pow.verify(payload, "petition", T + 600_001), {
      ok: false,
      reason: "expired",
    });
    assert.equal((await pow.verify(payload, "petition", T + 599_000)).ok, true);
  });

  void it("refuses altered parameters as bad-signature", async () => {
    const pow = light();
    const { payload } = await solved(pow, "petition", 2);
    const tampered: [string, unknown][] = [
      ["data", { form: "petition", level: 0 }],
      ["expiresAt", 9_999_999_999],
      ["cost", 1],
      ["keyPrefix", "00"],
    ];
    for (const [key, value] of tampered) {
      const p = decode(payload);
      p.challenge.parameters[key] = value;
      assert.deepEqual(
        await pow.verify(encode(p), "petition", T),
        { ok: false, reason: "bad-signature" },
        key,
      );
    }
    const other = new AltchaPow({
      keys: deriveGuardKeys(randomBytes(32)),
      store: new MemoryOnceStore(),
    });
    assert.deepEqual(await other.verify(payload, "petition", T), {
      ok: false,
      reason: "bad-signature",
    });
  });

  void it("refuses a wrong derived key, and leaves the challenge usable", async () => {
    const pow = light();
    const { payload } = await solved(pow);
    const p = decode(payload);
    const real = p.solution.derivedKey;
    p.solution.derivedKey = (real[0] === "0" ? "1" : "0") + real.slice(1);
    assert.deepEqual(await pow.verify(encode(p), "petition", T), {
      ok: false,
      reason: "wrong-solution",
    });
    assert.equal((await pow.verify(payload, "petition", T)).ok, true);
  });

  void it("says missing and malformed", async () => {
    const pow = light();
    const { challenge } = await solved(pow);
    const malformed = [
      "not base64!",
      encode("{"),
      Buffer.from("{").toString("base64"),
      // The widget's test mode.
      encode({ challenge: null, solution: null, test: true }),
      encodeAltchaPayload(challenge, { counter: -1, derivedKey: "00" }),
      encodeAltchaPayload({ ...challenge, signature: "zz" }, { counter: 1, derivedKey: "00" }),
      "A".repeat(5000),
    ];
    assert.deepEqual(await pow.verify(undefined, "petition", T), { ok: false, reason: "missing" });
    assert.deepEqual(await pow.verify("", "petition", T), { ok: false, reason: "missing" });
    for (const m of malformed) {
      assert.deepEqual(await pow.verify(m, "petition", T), { ok: false, reason: "malformed" }, m);
    }
    const p = decode(encodeAltchaPayload(challenge, { counter: 1, derivedKey: "00" }));
    p.challenge.parameters["extra"] = 1;
    assert.deepEqual(await pow.verify(encode(p), "petition", T), {
      ok: false,
      reason: "malformed",
    });
  });

  void it("raises the counter range 4× per level and clamps the level to 0..3", async () => {
    const pow = new AltchaPow({ keys, store: new MemoryOnceStore() });
    assert.deepEqual(pow.counterRange(0), [500, 1000]);
    for (let l = 1; l <= 3; l++) {
      const [lo, hi] = pow.counterRange(l);
      const [plo, phi] = pow.counterRange(l - 1);
      assert.equal(hi / phi, 4);
      assert.equal(lo / plo, 4);
    }
    assert.deepEqual(pow.counterRange(9), pow.counterRange(3));
    assert.deepEqual(pow.counterRange(-1), pow.counterRange(0));
    assert.deepEqual(pow.counterRange(Number.NaN), pow.counterRange(0));
    const c = (await light().challenge("petition", 7, T)) as unknown as Challenge;
    assert.deepEqual(c.parameters.data, { form: "petition", level: 3 });
    assert.equal(c.parameters.expiresAt, Math.ceil((T + 600_000) / 1000));
  });

  void it("never throws on hostile input", async () => {
    const pow = light();
    const { payload } = await solved(pow);
    const valid = decode(payload);
    const json = fc.jsonValue();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.base64String(),
          json.map(encode),
          json.map((v) => encode({ challenge: { parameters: v, signature: "0".repeat(64) } })),
          fc
            .tuple(fc.constantFrom(...Object.keys(valid.challenge.parameters)), json)
            .map(([k, v]) =>
              encode({
                ...valid,
                challenge: {
                  ...valid.challenge,
                  parameters: { ...valid.challenge.parameters, [k]: v },
                },
              }),
            ),
          fc
            .tuple(fc.nat(payload.length - 1), fc.string({ minLength: 1, maxLength: 1 }))
            .map(([i, ch]) => payload.slice(0, i) + ch + payload.slice(i + 1)),
        ),
        async (input) => {
          const check = await pow.verify(input, "petition", T);
          if (!check.ok) assert.ok(REASONS.includes(check.reason), check.reason);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

const url = process.env["REMPART_TEST_REDIS_URL"];
const stores: [string, () => Promise<OnceStore>][] = [
  ["memory", () => Promise.resolve(new MemoryOnceStore())],
];
const handles: RedisOnceStoreHandle[] = [];
if (url !== undefined && url !== "") {
  stores.push([
    "redis",
    async () => {
      const h = await connectRedisOnceStore(url, `rempart:test:pow:${process.pid}:`);
      handles.push(h);
      return h.store;
    },
  ]);
}
after(async () => {
  await Promise.all(handles.map((h) => h.close()));
});

void describe("AltchaPow concurrent verifications", () => {
  for (const [name, open] of stores) {
    void it(`accepts one of two simultaneous uses of a solution (${name})`, async () => {
      const pow = light(await open());
      const { payload } = await solved(pow, "petition", 0, Date.now());
      const now = Date.now();
      const checks = await Promise.all([
        pow.verify(payload, "petition", now),
        pow.verify(payload, "petition", now),
      ]);
      assert.equal(checks.filter((c) => c.ok).length, 1);
      assert.deepEqual(
        checks.find((c) => !c.ok),
        { ok: false, reason: "reused" },
      );
    });
  }
  if (url === undefined || url === "") {
    void it("runs against Redis too", {
      skip: "set REMPART_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run it on Redis",
    });
  }
});

/** altcha-lib's canonical form (its helpers' sortKeys, which it does not export). */
function sortKeys(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .flatMap((k) => (record[k] === undefined ? [] : [[k, sortKeys(record[k])]])),
  );
}

void it("signs the parameters in altcha-lib's canonical form, optional keys or not", () => {
  const hexString = fc.stringMatching(/^(?:[0-9a-f]{2}){0,8}$/);
  fc.assert(
    fc.property(
      fc.record(
        {
          algorithm: fc.constantFrom("PBKDF2/SHA-256", "ARGON2ID", "SCRYPT"),
          nonce: hexString,
          salt: hexString,
          cost: fc.integer(),
          keyLength: fc.nat(),
          keyPrefix: hexString,
          keySignature: fc.stringMatching(/^[0-9a-f]{64}$/),
          memoryCost: fc.nat(),
          parallelism: fc.nat(),
          expiresAt: fc.nat(),
          data: fc.record({ form: fc.string({ maxLength: 20 }), level: fc.nat(3) }),
        },
        {
          requiredKeys: [
            "algorithm",
            "nonce",
            "salt",
            "cost",
            "keyLength",
            "keyPrefix",
            "keySignature",
            "expiresAt",
            "data",
          ],
        },
      ),
      (p) => {
        // Shuffled key order in, as a client may send it.
        const shuffled = Object.fromEntries(Object.entries(p).reverse()) as typeof p;
        assert.equal(canonicalParameters(shuffled), JSON.stringify(sortKeys(p)));
      },
    ),
    { numRuns: 500 },
  );
});
