import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Decision, Storage } from "../core/index.ts";
import { openStorage } from "../storage/index.ts";
import { AbuseReportsConfigSchema } from "./abuse-reports-config.ts";
import {
  AbuseReporter,
  LOOKUPS_PER_ROUND,
  MAX_ATTEMPTS,
  MAX_REPORT_AGE_MS,
  type AbuseMessage,
} from "./abuse-reports.ts";
import type { AbuseContact } from "./rdap.ts";

const T0 = Date.parse("2026-12-08T03:00:00Z");

function ban(value: string, overrides: Partial<Decision> = {}): Decision {
  return {
    id: `d-${value}-${Math.random().toString(36).slice(2, 8)}`,
    action: "ban",
    scope: "ip",
    value,
    createdAt: T0,
    expiresAt: T0 + 86_400_000,
    origin: "scenario",
    scenario: "mail-bruteforce",
    reason: "Fast password guessing on SMTP/IMAP/POP from one address: 12 events in 60 s",
    offence: 0,
    tzOffset: 0,
    ...overrides,
  };
}

interface World {
  storage: Storage;
  reporter: AbuseReporter;
  sent: AbuseMessage[];
  lookups: string[];
  lines: string[];
  /** Contacts by /24's first three numbers; "fail": the registry errs. */
  registry: Map<string, AbuseContact | "fail">;
  refuse: { value: boolean };
  /** The wall clock the reporter reads. */
  clock: { now: number };
}

async function world(config: Record<string, unknown> = {}): Promise<World> {
  const storage = await openStorage({ kind: "sqlite", path: ":memory:" });
  const w: Omit<World, "reporter"> = {
    storage,
    sent: [],
    lookups: [],
    lines: [],
    registry: new Map(),
    refuse: { value: false },
    clock: { now: T0 },
  };
  const reporter = new AbuseReporter(
    AbuseReportsConfigSchema.parse({
      enabled: true,
      from: "abuse-reports@site.example",
      reporter: "Association Exemple, mx.site.example",
      ...config,
    }),
    {
      storage,
      lookup: (ip) => {
        w.lookups.push(ip);
        const c = w.registry.get(ip.slice(0, ip.lastIndexOf(".")));
        return c === "fail" ? Promise.reject(new Error("registry down")) : Promise.resolve(c);
      },
      send: (m) => {
        if (w.refuse.value) return Promise.reject(new Error("451 4.3.0 try again later"));
        w.sent.push(m);
        return Promise.resolve(`250 2.0.0 Ok: queued as Q${w.sent.length}`);
      },
      protection: (ip) => (ip.startsWith("192.0.2.") ? "allowlisted" : undefined),
      now: () => w.clock.now,
      site: "mx1",
      log: (l) => w.lines.push(l),
    },
  );
  return { ...w, reporter };
}

const net = (email: string, network = "EXAMPLE-NET"): AbuseContact => ({
  email,
  network,
  range: undefined,
});

void describe("AbuseReporter", () => {
  it("reports only scenarios' bans on public, unprotected addresses", async () => {
    const w = await world();
    const r = w.reporter;
    assert.equal(r.reports(ban("203.0.113.9")), true);
    assert.equal(r.reports(ban("203.0.113.9", { origin: "manual" })), false, "an operator's");
    assert.equal(r.reports(ban("203.0.113.9", { origin: "import" })), false, "a list's");
    assert.equal(r.reports(ban("203.0.113.9", { action: "challenge" })), false);
    assert.equal(r.reports(ban("203.0.113.0/24", { scope: "range" })), false);
    assert.equal(r.reports(ban("10.1.2.3")), false, "private");
    assert.equal(r.reports(ban("192.0.2.5")), false, "allowlisted");
    w.clock.now = T0 + MAX_REPORT_AGE_MS + 1;
    assert.equal(r.reports(ban("203.0.113.9")), false, "a ban made of an old log's lines");
    w.clock.now = T0;
    const picky = await world({ scenarios: ["mail-slow-guessing"], actions: ["ban", "challenge"] });
    assert.equal(picky.reporter.reports(ban("203.0.113.9")), false);
    assert.equal(
      picky.reporter.reports(
        ban("203.0.113.9", { scenario: "mail-slow-guessing", action: "challenge" }),
      ),
      true,
    );
  });

  it("sends one message per abuse desk with its addresses and a CSV, and looks each /24 up once", async () => {
    const w = await world();
    w.registry.set("203.0.113", net("abuse@hoster.example", "HOSTER-NET"));
    w.registry.set("198.51.100", net("abuse@hoster.example", "HOSTER-NET"));
    w.registry.set("100.64.7", net("abuse@other.example"));
    for (const ip of ["203.0.113.9", "203.0.113.10", "198.51.100.4"]) w.reporter.observe(ban(ip));
    w.reporter.observe(ban("203.0.113.11", { reason: 'say "hi", then, leave' }));
    const outcome = await w.reporter.run(T0 + 3_600_000);
    assert.deepEqual(outcome, { sent: 4, messages: 1, noContact: 0, waiting: 0, failed: 0 });
    assert.equal(w.sent.length, 1);
    const m = w.sent[0]!;
    assert.equal(m.to, "abuse@hoster.example");
    assert.equal(m.from, "abuse-reports@site.example");
    assert.equal(
      m.subject,
      "Abuse report: 4 addresses in HOSTER-NET (Association Exemple, mx.site.example)",
    );
    assert.match(m.text, /these 4 addresses of your network \(HOSTER-NET\)/);
    assert.match(
      m.text,
      /^203\.0\.113\.9 {3}2026-12-08T03:00:00\+00:00 {2}\[Brute-Force\] Fast password guessing/m,
    );
    assert.match(m.text, /Replies reach abuse-reports@site\.example\./);
    const csv = m.csv.split("\r\n");
    assert.equal(csv[0], "ip,time,categories,scenario,what");
    assert.ok(
      csv.includes(
        '203.0.113.11,2026-12-08T03:00:00+00:00,Brute-Force,mail-bruteforce,"say ""hi"", then, leave"',
      ),
    );
    assert.equal(w.lookups.length, 2, "one look-up per /24");
    const stored = await w.storage.listAbuseReports({ status: "sent" });
    assert.equal(stored.length, 4);
    assert.equal(stored[0]!.note, "250 2.0.0 Ok: queued as Q1");
    // Sent once: the next round has nothing.
    assert.deepEqual(await w.reporter.run(T0 + 7_200_000), {
      sent: 0,
      messages: 0,
      noContact: 0,
      waiting: 0,
      failed: 0,
    });
  });

  it("keeps contacts for contact_ttl, takes configured ones first, and marks networks without one", async () => {
    const w = await world({
      // The narrowest network wins, whatever the order.
      contacts: { "203.0.0.0/16": "wide@known.example", "203.0.113.0/25": "noc@known.example" },
      contact_ttl: "1d",
    });
    w.registry.set("198.51.100", net("abuse@hoster.example"));
    w.reporter.observe(ban("203.0.113.9"));
    w.reporter.observe(ban("198.51.100.4"));
    w.reporter.observe(ban("100.1.1.1"));
    w.reporter.observe(ban("203.0.113.200"));
    const first = await w.reporter.run(T0);
    assert.equal(first.messages, 3);
    assert.equal(first.noContact, 1);
    assert.deepEqual(w.sent.map((m) => m.to).sort(), [
      "abuse@hoster.example",
      "noc@known.example",
      "wide@known.example",
    ]);
    assert.match(w.sent.find((m) => m.to === "noc@known.example")!.text, /203\.0\.113\.9 /);
    assert.deepEqual(w.lookups.sort(), ["100.1.1.1", "198.51.100.4"]);
    // Within the day, from the cache; after it, asked again.
    w.reporter.observe(ban("198.51.100.5", { createdAt: T0 + 1000 }));
    await w.reporter.run(T0 + 3_600_000);
    assert.equal(w.lookups.length, 2);
    w.reporter.observe(ban("198.51.100.6", { createdAt: T0 + 2000 }));
    await w.reporter.run(T0 + 2 * 86_400_000);
    assert.equal(w.lookups.length, 3);
    assert.equal((await w.storage.listAbuseReports({ status: "no-contact" })).length, 1);
  });

  it("keeps reports queued while the registry or the mail server fails, and gives up after five rounds", async () => {
    const w = await world();
    w.registry.set("203.0.113", "fail");
    w.registry.set("198.51.100", net("abuse@hoster.example"));
    w.refuse.value = true;
    w.reporter.observe(ban("203.0.113.9"));
    w.reporter.observe(ban("198.51.100.4"));
    for (let round = 1; round < MAX_ATTEMPTS; round++) {
      const o = await w.reporter.run(T0 + round * 3_600_000);
      assert.deepEqual(
        o,
        { sent: 0, messages: 0, noContact: 0, waiting: 2, failed: 0 },
        `round ${round}`,
      );
    }
    const pending = await w.storage.listAbuseReports({ status: "pending" });
    assert.deepEqual(
      pending.map((r) => r.attempts),
      [MAX_ATTEMPTS - 1, MAX_ATTEMPTS - 1],
    );
    assert.match(pending.find((r) => r.ip === "198.51.100.4")!.note, /not sent: 451 4\.3\.0/);
    assert.match(
      pending.find((r) => r.ip === "203.0.113.9")!.note,
      /contact look-up failed: registry down/,
    );
    const last = await w.reporter.run(T0 + MAX_ATTEMPTS * 3_600_000);
    assert.equal(last.failed, 2);
    assert.equal((await w.storage.listAbuseReports({ status: "failed" })).length, 2);
    assert.ok(w.lines.some((l) => /2 given up|1 given up/.test(l)));
  });

  it("looks up at most LOOKUPS_PER_ROUND new networks a round; the others wait, unharmed", async () => {
    const w = await world();
    const n = LOOKUPS_PER_ROUND + 3;
    for (let i = 0; i < n; i++) {
      const ip = `100.${1 + (i >> 8)}.${i & 255}.9`;
      w.registry.set(ip.slice(0, ip.lastIndexOf(".")), net(`abuse${i}@isp.example`));
      w.reporter.observe(ban(ip, { createdAt: T0 + i }));
    }
    const first = await w.reporter.run(T0 + 3_600_000);
    assert.equal(first.sent, LOOKUPS_PER_ROUND);
    assert.equal(first.waiting, 3);
    assert.equal(w.lookups.length, LOOKUPS_PER_ROUND);
    const waiting = await w.storage.listAbuseReports({ status: "pending" });
    assert.deepEqual(
      waiting.map((r) => r.attempts),
      [0, 0, 0],
      "no attempt spent",
    );
    const second = await w.reporter.run(T0 + 7_200_000);
    assert.equal(second.sent, 3);
  });

  it("splits a desk's addresses into messages of max_per_message", async () => {
    const w = await world({ max_per_message: 2 });
    w.registry.set("203.0.113", net("abuse@hoster.example"));
    for (let i = 1; i <= 5; i++) w.reporter.observe(ban(`203.0.113.${i}`, { createdAt: T0 + i }));
    const o = await w.reporter.run(T0 + 3_600_000);
    assert.equal(o.messages, 3);
    assert.deepEqual(
      w.sent.map((m) => m.csv.split("\r\n").length - 2),
      [2, 2, 1],
    );
    assert.equal(
      w.sent[2]!.subject,
      "Abuse report: 203.0.113.5 in EXAMPLE-NET (Association Exemple, mx.site.example)",
    );
  });

  it("refuses to be enabled without a sender address", () => {
    const r = AbuseReportsConfigSchema.safeParse({ enabled: true });
    assert.equal(r.success, false);
    assert.match(r.error?.issues[0]?.message ?? "", /from is required/);
    assert.equal(AbuseReportsConfigSchema.safeParse({}).success, true);
  });
});
