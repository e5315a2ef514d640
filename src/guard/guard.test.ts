/**
 * The guard's judgement, with small fakes of its signal ports (the real providers have their
 * own tests, and test/integration replays whole incidents through the real ones).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Decision } from "../core/index.ts";
import { GuardSectionSchema, guardOptions } from "./config.ts";
import { Guard, PASS_FORM, type GuardParts } from "./guard.ts";
import { ChallengePasses } from "./pow/index.ts";
import { CountersConfigSchema, createCounters } from "./limits/index.ts";
import type { AsInfo, Counters, PowCheck, PowChecked, Submission } from "./ports.ts";

const T0 = Date.UTC(2020, 10, 18, 14, 0, 0); // 14:00 UTC: daytime

/** Counts without windows: enough to test the judgement, not the counters. */
class FakeCounters implements Counters {
  readonly counts = new Map<string, number>();
  readonly sets = new Map<string, Set<string>>();
  hit(keys: readonly string[]) {
    return Promise.resolve(
      keys.map((k) => {
        const n = (this.counts.get(k) ?? 0) + 1;
        this.counts.set(k, n);
        return n;
      }),
    );
  }
  distinct(keys: readonly string[], member: string) {
    return Promise.resolve(
      keys.map((k) => {
        const s = this.sets.get(k) ?? new Set<string>();
        s.add(member);
        this.sets.set(k, s);
        return s.size;
      }),
    );
  }
  count(keys: readonly string[]) {
    return Promise.resolve(keys.map((k) => this.counts.get(k) ?? 0));
  }
  close() {
    return Promise.resolve();
  }
}

interface World {
  counters?: { short: Counters; long: Counters };
  decisions: Decision[];
  as: Map<string, AsInfo>;
  tor: Set<string>;
  night: boolean;
  reputation?: Map<string, number>;
}

function setup(section: unknown = {}, world: Partial<World> = {}) {
  const w: World = { decisions: [], as: new Map(), tor: new Set(), night: false, ...world };
  const used = new Set<string>();
  const issued: string[][] = [];
  const parts: GuardParts = {
    pow: {
      challenge: (form, level) => Promise.resolve({ form, level }),
      // The fake's payloads are "solved:<form>:<level>:<nonce>".
      check: (payload, form): PowChecked => {
        if (payload === undefined) return { ok: false, reason: "missing" };
        const [tag, f, level, nonce] = payload.split(":");
        if (tag !== "solved") return { ok: false, reason: "malformed" };
        if (f !== form) return { ok: false, reason: "wrong-form" };
        return { ok: true, level: Number(level), once: nonce!, until: Infinity };
      },
      claim: (checked): Promise<PowCheck> => {
        if (!checked.ok) return Promise.resolve(checked);
        if (used.has(checked.once)) return Promise.resolve({ ok: false, reason: "reused" });
        used.add(checked.once);
        return Promise.resolve({ ok: true, level: checked.level });
      },
    },
    passes: new ChallengePasses(Buffer.alloc(32, 7), 3_600_000),
    tokens: {
      issue: (form, _now, avoid) => {
        issued.push([...avoid]);
        return { token: `tok:${form}`, honeypot: "website" };
      },
      verify: (token, form, fields) => {
        if (token === undefined) return { ok: false, reason: "missing" };
        if (token !== `tok:${form}`) return { ok: false, reason: "bad-signature" };
        if ((fields.website ?? "") !== "") return { ok: false, reason: "honeypot" };
        return { ok: true, fillMs: 10_000 };
      },
    },
    as: { lookup: (ip) => w.as.get(ip) },
    tor: { has: (ip) => w.tor.has(ip) },
    disposable: { has: (d) => d === "yopmail.com" },
    mx: { check: (d) => Promise.resolve(d === "nomx.example" ? "none" : "ok") },
    short: w.counters?.short ?? new FakeCounters(),
    long: w.counters?.long ?? new FakeCounters(),
    decisions: (s) => w.decisions.filter((d) => d.scope === "ip" && d.value === s.ip),
    fingerprint: (field, value) => {
      const v = value.trim().toLowerCase();
      return v === "" ? undefined : `${field}=${v}`;
    },
    normalizeEmail: (a) => {
      const at = a.lastIndexOf("@");
      return at <= 0 ? undefined : { canonical: a.toLowerCase(), domain: a.slice(at + 1) };
    },
    isNight: () => w.night,
    ...(w.reputation === undefined
      ? {}
      : { reputation: (ip: string) => w.reputation?.get(ip) ?? 0 }),
  };
  return {
    guard: new Guard(parts, guardOptions(GuardSectionSchema.parse(section))),
    world: w,
    issued,
  };
}

let n = 0;
function person(over: Partial<Submission> = {}): Submission {
  n++;
  return {
    id: `s${n}`,
    kind: "form.submit",
    form: "petition",
    time: T0 + n * 1000,
    ip: `198.51.100.${n % 250}`,
    email: `p${n}@example.org`,
    fields: { first_name: `Ann${n}`, last_name: "Smith", website: "" },
    token: "tok:petition",
    altcha: `solved:petition:0:${n}`,
    ...over,
  };
}

function without(s: Submission, ...keys: (keyof Submission)[]): Submission {
  return Object.fromEntries(
    Object.entries(s).filter(([k]) => !keys.includes(k as keyof Submission)),
  ) as unknown as Submission;
}

const PETITION = {
  forms: { petition: { identities: [["first_name", "last_name"]], unique_email: true } },
};

void describe("the guard", () => {
  void it("allows a person whose page solved the invisible proof of work", async () => {
    const { guard } = setup(PETITION);
    const a = await guard.assess(person());
    assert.equal(a.verdict, "allow");
    assert.equal(a.score, 0);
    assert.deepEqual(a.reasons, ["pow-solved"]);
  });

  void it("does not allow a script that posts without token or proof of work", async () => {
    const { guard } = setup(PETITION);
    const bare = without(person(), "token", "altcha");
    const a = await guard.assess(bare);
    assert.equal(a.verdict, "challenge", "asked to do the page's work, not held for an e-mail");
    assert.ok(a.challenge !== undefined);
    assert.ok(a.reasons.includes("token-missing") && a.reasons.includes("pow-missing"));
    assert.ok(a.score >= 0.6, `score ${a.score}`);
  });

  void it("gives a challenge with the verdict, and accepts it solved at that level", async () => {
    const { guard } = setup(PETITION);
    const s = person();
    const first = without(s, "altcha");
    const a = await guard.assess(first);
    assert.equal(a.verdict, "challenge");
    const level = a.challenge?.level as number;
    assert.ok(level >= 1);
    const again = await guard.assess({ ...s, id: "again", altcha: `solved:petition:${level}:z1` });
    assert.equal(again.verdict, "allow", JSON.stringify(again));
  });

  void it("names the honeypot after none of the form's identities or given fields", () => {
    const { guard, issued } = setup(PETITION);
    guard.token("petition", T0);
    guard.token("petition", T0, ["middle_name", "website"]);
    guard.token("other", T0, ["fax"]);
    assert.deepEqual(issued, [
      ["first_name", "last_name"],
      ["first_name", "last_name", "middle_name", "website"],
      ["fax"],
    ]);
  });

  void it("denies a filled honeypot", async () => {
    const { guard } = setup(PETITION);
    const a = await guard.assess(person({ fields: { first_name: "A", website: "http://x" } }));
    assert.equal(a.verdict, "deny");
    assert.equal(a.reasons[0], "honeypot");
  });

  void it("refuses a solution used twice or made for another form", async () => {
    const { guard } = setup(PETITION);
    const once = person();
    assert.equal((await guard.assess(once)).verdict, "allow");
    const twice = await guard.assess({ ...once, id: "twice", email: "other@example.org" });
    assert.ok(twice.reasons.includes("pow-reused"));
    const other = await guard.assess(person({ altcha: "solved:signup:0:q" }));
    assert.ok(other.reasons.includes("pow-invalid"));
  });

  void it("follows decisions: a ban denies whatever the page did", async () => {
    const ban = { scope: "ip", value: "203.0.113.9", action: "ban" } as unknown as Decision;
    const { guard } = setup(PETITION, { decisions: [ban] });
    const a = await guard.assess(person({ ip: "203.0.113.9" }));
    assert.equal(a.verdict, "deny");
    assert.ok(a.reasons.includes("decision-deny"));
  });

  void it("weighs an address's reputation from 25, fully from 85, and lets policies read it", async () => {
    const reputation = new Map([
      ["192.0.2.10", 20],
      ["192.0.2.55", 55],
      ["192.0.2.90", 90],
    ]);
    const { guard } = setup(
      {
        ...PETITION,
        policies: [{ name: "known-abuser", when: "fields.reputation >= 90", verdict: "deny" }],
      },
      { reputation },
    );
    const score = async (ip: string) => {
      // No proof of work: its negative weight would hide small scores below 0.
      const a = await guard.assess(without(person({ ip }), "altcha"));
      return { a, reasons: a.reasons };
    };
    const low = await score("192.0.2.10");
    assert.ok(!low.reasons.includes("reputation"), "below 25 it does not weigh");
    const mid = await score("192.0.2.55");
    const clean = await score("198.51.100.77");
    assert.ok(mid.reasons.includes("reputation"));
    // Half of the ramp: 0.2, whatever else the two submissions share.
    assert.ok(
      Math.abs(mid.a.score - clean.a.score - 0.2) < 0.002,
      `${mid.a.score} vs ${clean.a.score}`,
    );
    const high = await score("192.0.2.90");
    assert.equal(high.a.verdict, "deny");
    assert.ok(high.reasons.includes("policy:known-abuser"));
  });

  void it("puts Tor at the form's floor, challenge by default, deny when configured", async () => {
    const tor = new Set(["192.0.2.66"]);
    const byDefault = setup(PETITION, { tor });
    assert.equal((await byDefault.guard.assess(person({ ip: "192.0.2.66" }))).verdict, "challenge");
    const strict = setup(
      { forms: { petition: { tor: "deny" } } },
      { tor: new Set(["192.0.2.66"]) },
    );
    assert.equal((await strict.guard.assess(person({ ip: "192.0.2.66" }))).verdict, "deny");
  });

  void it("lets a challenge floor be met by a solution at the level its challenges ask", async () => {
    const tor = new Set(["192.0.2.66"]);
    const challenge = {
      scope: "ip",
      value: "203.0.113.5",
      action: "challenge",
    } as unknown as Decision;
    const { guard } = setup(PETITION, { tor, decisions: [challenge] });
    for (const ip of ["192.0.2.66", "203.0.113.5"]) {
      const asked = await guard.challenge("petition", ip, T0);
      const level = asked?.level as number;
      assert.ok(level >= 2, `a floor's challenge asks for more than the invisible work (${ip})`);
      const easy = await guard.assess(
        person({ ip, altcha: `solved:petition:${level - 1}:${ip}a` }),
      );
      assert.equal(easy.verdict, "challenge", `an easier solution does not meet the floor (${ip})`);
      assert.equal(easy.challenge?.level, level, "the verdict's challenge is the endpoint's");
      const met = await guard.assess(person({ ip, altcha: `solved:petition:${level}:${ip}b` }));
      assert.equal(met.verdict, "allow", `${ip}: ${JSON.stringify(met)}`);
      assert.ok(met.reasons.includes("decision-challenge") || met.reasons.includes("tor"));
    }
  });

  void it("takes an empty e-mail for no e-mail: a form without one is challenged, not held", async () => {
    // A forged token (0.5) past a low verify threshold, with the page's proof of work done.
    const { guard } = setup({
      ...PETITION,
      thresholds: { challenge: 0.2, verify: 0.3, deny: 0.9 },
    });
    const forged = { ...person(), token: "forged", fields: { first_name: "Zed" } };
    const given = await guard.assess(forged);
    assert.equal(given.verdict, "verify", "with an e-mail: held until it is confirmed");
    const none = await guard.assess(without({ ...person(), token: "forged" }, "email"));
    const empty = await guard.assess({ ...person(), token: "forged", email: "" });
    assert.equal(none.verdict, "challenge");
    assert.equal(empty.verdict, "challenge", JSON.stringify(empty));
  });

  void it("asks sign-ups from hosting networks at night to verify (seed 000)", async () => {
    const as = new Map([["192.0.2.10", { asn: 16276, name: "OVH", hosting: true }]]);
    const day = setup({ forms: { signup: { kind: "signup" } } }, { as, night: false });
    const s = person({
      form: "signup",
      kind: "signup",
      ip: "192.0.2.10",
      token: "tok:signup",
      altcha: "solved:signup:0:h1",
    });
    assert.equal((await day.guard.assess(s)).verdict, "allow");
    const night = setup({ forms: { signup: { kind: "signup" } } }, { as, night: true });
    const a = await night.guard.assess({ ...s, id: "n" });
    assert.equal(a.verdict, "verify");
    assert.ok(a.reasons.includes("hosting-network") && a.reasons.includes("night"));
  });

  void it("counts one identity across submissions: the 60,000 Jeff Bezos (seed 004)", async () => {
    const { guard } = setup(PETITION);
    const verdicts: string[] = [];
    for (let i = 0; i < 80; i++) {
      const a = await guard.assess(
        person({ fields: { first_name: "Jeff", last_name: "Bezos" }, ip: `203.0.113.${i}` }),
      );
      verdicts.push(a.verdict);
    }
    assert.equal(verdicts[0], "allow");
    assert.equal(verdicts.at(-1), "deny");
    // Real names seen a few times stay allowed.
    for (let i = 0; i < 5; i++)
      assert.equal(
        (await guard.assess(person({ fields: { first_name: "Marie", last_name: "Martin" } })))
          .verdict,
        "allow",
      );
  });

  void it("treats a second accepted signature with the same e-mail as a duplicate", async () => {
    const { guard } = setup(PETITION);
    assert.equal((await guard.assess(person({ email: "dup@example.org" }))).verdict, "allow");
    const second = await guard.assess(person({ email: "dup@example.org" }));
    assert.ok(second.reasons.includes("duplicate-email"));
    assert.notEqual(second.verdict, "allow");
  });

  void it("weighs e-mails: disposable, no MX; not at all where the form says so", async () => {
    const { guard } = setup({ forms: { signup: { kind: "signup" } } });
    const a = await guard.assess(person({ form: "signup", email: "a@nomx.example" }));
    assert.ok(a.reasons.includes("no-mx"));
    assert.notEqual(a.verdict, "allow");
    const lax = setup({ forms: { c: { email_weight: 0 } } });
    const b = await lax.guard.assess(
      person({ form: "c", email: "a@nomx.example", token: "tok:c", altcha: "solved:c:0:l" }),
    );
    assert.equal(b.verdict, "allow", JSON.stringify(b));
  });

  void it("applies configured policies, naming them in the reasons", async () => {
    const as = new Map([["192.0.2.20", { asn: 64500, name: "Example", hosting: false }]]);
    const { guard } = setup(
      { policies: [{ name: "no-64500", when: "fields.asn == 64500", verdict: "deny" }] },
      { as },
    );
    const a = await guard.assess(person({ ip: "192.0.2.20" }));
    assert.equal(a.verdict, "deny");
    assert.ok(a.reasons.includes("policy:no-64500"));
    assert.equal((await guard.assess(person())).verdict, "allow");
  });

  void it("assesses without counts when Redis is out of reach, and says so", async () => {
    // A real Redis client, pointed at a port nothing listens on.
    const config = CountersConfigSchema.parse({
      backend: "redis",
      redis_url: "redis://127.0.0.1:1",
      timeout: "100ms",
    });
    const short = createCounters(config, 600_000);
    const long = createCounters(config, 86_400_000);
    try {
      await Promise.all([short.start(), long.start()]).catch(() => undefined);
      const { guard } = setup(PETITION, { counters: { short, long } });
      const a = await guard.assess(person());
      assert.equal(a.verdict, "allow");
      assert.ok(a.reasons.includes("counters-unavailable"), JSON.stringify(a));
    } finally {
      await Promise.all([short.close(), long.close()]);
    }
  });

  void it("counts in memory without promises, to the same verdicts as through them", async () => {
    const config = CountersConfigSchema.parse({});
    /** The memory counters seen only through their promises (as a remote backend is). */
    const promisesOnly = (c: Counters): Counters => ({
      hit: (k, now) => c.hit(k, now),
      distinct: (k, m, now) => c.distinct(k, m, now),
      count: (k, now) => c.count(k, now),
      close: () => c.close(),
    });
    const make = () => ({
      short: createCounters(config, 600_000),
      long: createCounters(config, 86_400_000),
    });
    const direct = make();
    const wrapped = make();
    assert.ok(direct.short.sync !== undefined, "the memory backend offers the synchronous path");
    const a = setup(PETITION, { counters: direct }).guard;
    const b = setup(PETITION, {
      counters: { short: promisesOnly(wrapped.short), long: promisesOnly(wrapped.long) },
    }).guard;
    const verdicts = new Set<string>();
    const reasons = new Set<string>();
    // One identity and one e-mail from a few addresses, then many: rates, spread, duplicates.
    for (let i = 0; i < 60; i++) {
      const s = person({
        ip: `203.0.113.${i % 2}`,
        email: i % 3 === 0 ? "same@example.org" : `p${i}@example.org`,
        fields: { first_name: "Jeff", last_name: i % 2 === 0 ? "Bezos" : `B${i}`, website: "" },
      });
      const [x, y] = [await a.assess(s), await b.assess(s)];
      assert.deepEqual(x, y, `submission ${i}`);
      verdicts.add(x.verdict);
      for (const r of x.reasons) reasons.add(r);
    }
    assert.ok(verdicts.size > 1, `the run reached more than one verdict: ${[...verdicts].join()}`);
    for (const r of ["duplicate-email", "identity-velocity", "address-rate"])
      assert.ok(reasons.has(r), `counted to ${r}: ${[...reasons].join()}`);
  });

  void it("refuses challenges to an address past its limit, not to others", async () => {
    const { guard } = setup({ challenges_per_address: 3 });
    for (let i = 0; i < 3; i++)
      assert.ok((await guard.challenge("petition", "192.0.2.7", T0 + i)) !== undefined);
    assert.equal(await guard.challenge("petition", "192.0.2.7", T0 + 3), undefined);
    assert.ok((await guard.challenge("petition", "192.0.2.8", T0 + 4)) !== undefined);
  });

  void it("asks the challenge page for a challenged address's work, at the least", async () => {
    const banned = { scope: "ip", value: "203.0.113.9", action: "ban" } as unknown as Decision;
    const { guard } = setup({}, { decisions: [banned] });
    const quiet = await guard.passChallenge("192.0.2.7", T0);
    assert.deepEqual(quiet, { form: PASS_FORM, level: 2 }, "no risk: still the floor's level");
    assert.equal((await guard.passChallenge("203.0.113.9", T0))?.level, 3, "a ban's level");
  });

  void it("earns a pass with a solution of the page's own challenge, at its level, once", async () => {
    const banned = { scope: "ip", value: "203.0.113.9", action: "ban" } as unknown as Decision;
    const { guard } = setup({}, { decisions: [banned] });
    const ip = "192.0.2.7";
    const refused = async (payload: string | undefined, from = ip): Promise<string> => {
      const r = await guard.earnPass(payload, from, T0);
      assert.equal(r.ok, false, `${payload} earned a pass`);
      return r.ok ? "" : r.reason;
    };
    assert.equal(await refused(undefined), "missing");
    assert.equal(await refused("solved:petition:3:a"), "wrong-form", "a form's solution");
    // A challenge fetched at the invisible level (the public guard route gives level 0 to an
    // address at no risk) is not one the page gives.
    assert.equal(await refused(`solved:${PASS_FORM}:1:b`), "too-easy");
    assert.equal(await refused(`solved:${PASS_FORM}:2:c`, "203.0.113.9"), "too-easy");

    const earned = await guard.earnPass(`solved:${PASS_FORM}:2:d`, ip, T0);
    assert.ok(earned.ok);
    assert.equal(earned.expiresAt, T0 + 3_600_000);
    assert.equal(await refused(`solved:${PASS_FORM}:2:d`), "reused");

    assert.ok(guard.hasPass([earned.value], ip, T0 + 1000));
    assert.ok(guard.hasPass(["junk", earned.value], ip, T0 + 1000), "one good value of several");
    assert.ok(!guard.hasPass([earned.value], "192.0.2.8", T0 + 1000), "another address");
    assert.ok(!guard.hasPass([earned.value], ip, T0 + 3_600_000), "expired");
    assert.ok(!guard.hasPass([], ip, T0));
  });

  void it("does not limit challenges with challenges_per_address: 0", async () => {
    const { guard } = setup({ challenges_per_address: 0 });
    for (let i = 0; i < 1000; i++)
      assert.ok((await guard.challenge("petition", "192.0.2.7", T0 + i)) !== undefined);
  });

  void it("refuses a policy that does not compile, or reads a signal that is not one, saying where", () => {
    const refusal = (when: string): string => {
      const r = GuardSectionSchema.safeParse({ policies: [{ name: "p", when, verdict: "deny" }] });
      assert.equal(r.success, false, when);
      const issue = r.error.issues[0]!;
      assert.deepEqual(issue.path, ["policies", 0, "when"]);
      return issue.message;
    };
    assert.match(refusal("fields.asn =="), /ends too early at column 14/);
    assert.match(
      refusal('type == "signup" && fields.hostin == true'),
      /fields\.hostin at column 21 is not a signal a policy reads \(fields\.form, fields\.hosting/,
    );
    assert.match(refusal("nonsense == 1"), /unknown field "nonsense"/);
    const ok = GuardSectionSchema.parse({
      policies: [{ name: "p", when: 'fields.hosting && ip in ["192.0.2.1"]', verdict: "verify" }],
    });
    assert.equal(guardOptions(ok).policies.length, 1);
  });
});
