import assert from "node:assert/strict";
import { test } from "node:test";
import type { Event } from "../core/index.ts";
import { DetectionEngine, type Trigger } from "./engine.ts";
import { BUILTIN_SCENARIO_DIR, loadScenarioDirs, parseScenarios } from "./scenario.ts";

const T0 = Date.UTC(2024, 8, 28, 0, 0, 0);
const MIN = 60_000;
let seq = 0;
const auth = (
  type: "auth.failure" | "auth.success",
  ip: string,
  minute: number,
  account?: string,
  service = "dovecot",
): Event => ({
  id: `e:${seq++}`,
  type,
  time: T0 + minute * MIN,
  tzOffset: 0,
  service,
  ip,
  ...(account === undefined ? {} : { account }),
  fields: {},
});

async function builtins(): Promise<DetectionEngine> {
  const r = await loadScenarioDirs([BUILTIN_SCENARIO_DIR]);
  assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.problems));
  return new DetectionEngine(r.scenarios);
}

function feed(engine: DetectionEngine, events: Event[]): Trigger[] {
  const out: Trigger[] = [];
  for (const e of events.sort((a, b) => a.time - b.time)) engine.process(e, out);
  return out;
}

test("fast guessing: a burst of failures from one address is caught", async () => {
  const engine = await builtins();
  const events = Array.from({ length: 15 }, (_, i) =>
    auth("auth.failure", "198.51.100.9", i / 10, `u${i}@x.org`),
  );
  const fired = feed(engine, events).filter((t) => t.scenario.name === "mail-bruteforce");
  assert.equal(fired.length, 1);
  assert.equal(fired[0]!.key, "198.51.100.9");
  assert.equal(fired[0]!.count, 11, "fires on the 11th try of a capacity-10 bucket");
  assert.ok(fired[0]!.evidence.length > 0);
});

test("low-and-slow: one try every 5-10 minutes is caught within about 20 tries", async () => {
  const engine = await builtins();
  const events: Event[] = [];
  let minute = 0;
  for (let i = 0; i < 60; i++) {
    minute += 5 + ((i * 7) % 6); // 5..10 minutes apart
    events.push(auth("auth.failure", "192.0.2.77", minute, `user${i % 9}@example.org`));
  }
  const fired = feed(engine, events).filter((t) => t.scenario.name === "mail-slow-guessing");
  assert.ok(fired.length >= 1, "slow guessing must be caught");
  const first = fired[0]!;
  const tries = events.findIndex((e) => e.id === first.event.id) + 1;
  assert.ok(tries <= 22, `caught after ${tries} tries`);
  assert.equal(
    feed(await builtins(), events).filter((t) => t.scenario.name === "mail-bruteforce").length,
    0,
    "too slow for the fast scenario",
  );
});

test("low-and-slow spares a phone retrying an old password where the account also logs in", async () => {
  const engine = await builtins();
  const events: Event[] = [];
  // A laptop logs in every 10 minutes; the phone fails every 5 minutes, for three days.
  for (let m = 0; m < 3 * 1440; m += 10)
    events.push(auth("auth.success", "203.0.113.50", m, "bob@example.org"));
  for (let m = 3; m < 3 * 1440; m += 5)
    events.push(auth("auth.failure", "203.0.113.50", m, "bob@example.org"));
  const fired = feed(engine, events);
  assert.deepEqual(
    fired.map((t) => t.scenario.name),
    [],
  );
});

test("low-and-slow: forgiveness covers that account only, not guessing others from the address", async () => {
  const engine = await builtins();
  const events: Event[] = [auth("auth.success", "203.0.113.60", 0, "carol@example.org")];
  for (let i = 1; i <= 40; i++)
    events.push(auth("auth.failure", "203.0.113.60", i * 7, `victim${i}@example.org`));
  const fired = feed(engine, events).filter((t) => t.scenario.name === "mail-slow-guessing");
  assert.ok(fired.length >= 1);
  const tries = events.findIndex((e) => e.id === fired[0]!.event.id);
  assert.ok(tries <= 22, `caught after ${tries} tries`);
});

test("users who mistype a few times, then get in, are never banned", async () => {
  const engine = await builtins();
  const events: Event[] = [];
  // 200 users, each mistyping 1-4 times before a success, several times a day for a week.
  for (let u = 0; u < 200; u++) {
    const ip = `198.18.${u >> 4}.${u & 15}`;
    for (let day = 0; day < 7; day++) {
      for (const hour of [8, 13, 19]) {
        const start = day * 1440 + hour * 60 + (u % 50);
        const misses = 1 + ((u + day + hour) % 4);
        for (let k = 0; k < misses; k++)
          events.push(auth("auth.failure", ip, start + k * 0.2, `u${u}@example.org`));
        events.push(auth("auth.success", ip, start + misses * 0.2, `u${u}@example.org`));
      }
    }
  }
  assert.deepEqual(
    feed(engine, events).map((t) => `${t.scenario.name} ${t.key}`),
    [],
  );
});

test("one account from many networks within an hour", async () => {
  const engine = await builtins();
  const events = Array.from({ length: 12 }, (_, i) =>
    auth("auth.success", `100.${20 + i}.7.1`, i * 3, "dave@example.org", "postfix"),
  );
  const fired = feed(engine, events).filter((t) => t.scenario.name === "account-many-networks");
  assert.equal(fired.length, 1);
  assert.equal(fired[0]!.key, "dave@example.org");
  assert.equal(fired[0]!.count, 10);
});

test("per-address HTTP flood", async () => {
  const engine = await builtins();
  const events: Event[] = [];
  for (let i = 0; i < 2000; i++) {
    events.push({
      id: `h:${i}`,
      type: "http.request",
      time: T0 + i * 20,
      tzOffset: 0,
      service: "nginx",
      ip: "192.0.2.200",
      fields: { path: "/" },
    });
    if (i % 10 === 0)
      events.push({
        id: `n:${i}`,
        type: "http.request",
        time: T0 + i * 20,
        tzOffset: 0,
        service: "nginx",
        ip: "192.0.2.201",
        fields: { path: "/" },
      });
  }
  const fired = feed(engine, events).filter((t) => t.scenario.name === "http-flood");
  assert.deepEqual([...new Set(fired.map((t) => t.key))], ["192.0.2.200"]);
});

test("memory stays bounded when distinct attacker keys run into the millions", () => {
  const r = parseScenarios(
    `name: t\ndescription: t\nkind: leaky\nfilter: type == "auth.failure"\nkey: ip\ncapacity: 5\nleak: 1h\n`,
    "inline",
  );
  assert.ok(r.ok);
  const engine = new DetectionEngine(r.scenarios, { maxKeysPerScenario: 10_000 });
  const out: Trigger[] = [];
  for (let i = 0; i < 1_000_000; i++) {
    const ip = `${10 + (i >>> 24)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
    engine.process(
      { id: "x", type: "auth.failure", time: T0 + i, tzOffset: 0, service: "s", ip, fields: {} },
      out,
    );
  }
  const keys = engine.stats().keys.t!;
  assert.ok(keys <= 10_000, `kept ${keys} keys`);
});

test("expired state is collected as event time passes", () => {
  const r = parseScenarios(
    `name: t\ndescription: t\nkind: leaky\nfilter: "true"\nkey: ip\ncapacity: 5\nleak: 1m\n`,
    "inline",
  );
  assert.ok(r.ok);
  const engine = new DetectionEngine(r.scenarios, { sweepEveryMs: MIN });
  const out: Trigger[] = [];
  for (let i = 0; i < 1000; i++)
    engine.process(auth("auth.failure", `192.0.2.${i % 250}`, i / 100), out);
  assert.ok(engine.stats().keys.t! > 0);
  engine.process(auth("auth.failure", "192.0.2.1", 60 * 24), out);
  assert.equal(engine.stats().keys.t, 1, "only the fresh key is left");
});

test("state survives a restart through takeChanges/restore", async () => {
  const load = await loadScenarioDirs([BUILTIN_SCENARIO_DIR]);
  assert.ok(load.ok);
  const a = new DetectionEngine(load.scenarios, { trackChanges: true });
  const events = Array.from({ length: 30 }, (_, i) =>
    auth("auth.failure", "192.0.2.99", (i + 1) * 7, `v${i}@x.org`),
  );
  const out: Trigger[] = [];
  for (const e of events.slice(0, 12)) a.process(e, out);
  const saved = a.takeChanges();
  assert.ok(saved.some((r) => r.scenario === "mail-slow-guessing" && r.key === "192.0.2.99"));
  const b = new DetectionEngine(load.scenarios, { trackChanges: true });
  b.restore(saved);
  const uninterrupted = new DetectionEngine(load.scenarios);
  const outA: Trigger[] = [];
  const outB: Trigger[] = [];
  for (const e of events) uninterrupted.process(e, outA);
  for (const e of events.slice(12)) b.process(e, outB);
  assert.deepEqual(
    outB.map((t) => [t.scenario.name, t.event.id]),
    outA.map((t) => [t.scenario.name, t.event.id]),
  );
});

test("scenario errors say file, line and what is wrong", () => {
  const r = parseScenarios(
    'name: bad\ndescription: x\nkind: leaky\nfilter: type == "a" &&\nkey: nope\ncapacity: 3\nleak: 10 minutes\n',
    "scenarios/bad.yaml",
  );
  assert.equal(r.ok, false);
  if (!r.ok) {
    const text = r.problems
      .map((p) => `${p.file}:${p.line ?? "?"} ${p.path} ${p.message}`)
      .join("\n");
    assert.match(text, /scenarios\/bad\.yaml:7 leak a duration/);
  }
  const r2 = parseScenarios(
    'name: bad\ndescription: x\nkind: leaky\nfilter: type == "a" &&\nkey: nope\ncapacity: 3\nleak: 10m\n',
    "b.yaml",
  );
  assert.equal(r2.ok, false);
  if (!r2.ok) {
    const text = r2.problems.map((p) => p.message).join("\n");
    assert.match(text, /filter: the expression ends too early/);
    assert.match(text, /unknown key field "nope"/);
  }
});

test("scenario mistakes that used to load are refused, each at its own line", () => {
  const problems = (text: string): string[] => {
    const r = parseScenarios(text, "s.yaml");
    assert.equal(r.ok, false, text);
    return r.ok ? [] : r.problems.map((p) => `${p.line ?? "?"} ${p.message}`);
  };
  const head = 'name: s\ndescription: x\nkind: window\nfilter: type == "a"\nkey: ip\n';
  // A zero window fires on every event; a zero-length ban is no decision.
  assert.deepEqual(problems(`${head}threshold: 5\nwindow: 0s\n`), [
    '7 a duration such as "30s", "10m", "4h", "7d", longer than zero',
  ]);
  assert.match(
    problems(`${head}threshold: 5\nwindow: 1m\ndecision:\n  action: ban\n  duration: 0s\n`)[0]!,
    /^10 .*longer than zero/,
  );
  assert.match(problems(`${head}threshold: 5\nwindow: 600\n`)[0]!, /^7 a duration such as/);
  // A setting of another kind would be ignored.
  assert.deepEqual(problems(`${head}threshold: 5\nwindow: 1m\ncapacity: 3\n`), [
    '8 a window scenario does not use "capacity" (leaky scenarios do)',
  ]);
  // The decision's value must be of its scope.
  assert.deepEqual(
    problems(
      'name: s\ndescription: x\nkind: window\nfilter: type == "a"\nkey: ip24\nthreshold: 5\nwindow: 1m\ndecision:\n  action: ban\n  scope: account\n  duration: 1h\n',
    ),
    [
      '10 decision.scope: the field "ip24" is of scope range, not account: give scope range, or a value field of scope account',
    ],
  );
  // An address for a range decision is a /32: allowed.
  const ok = parseScenarios(
    `${head}threshold: 5\nwindow: 1m\ndecision:\n  action: ban\n  scope: range\n  duration: 1h\n`,
    "s.yaml",
  );
  assert.ok(ok.ok);
  // An expression's problem is at its own line, not at the scenario's name.
  assert.deepEqual(
    problems(
      'name: s\ndescription: x\nkind: window\nkey: ip\nthreshold: 5\nwindow: 1m\nfilter: type == "a" &&\n',
    ),
    ["7 filter: the expression ends too early (column 15)"],
  );
});

test("a newsletter's usual burst that straddled an hour's boundary is still its usual burst", async () => {
  // A week of 400-message mornings, each starting 2 minutes before the hour and so split 200/200
  // between two hourly intervals; today the same 400 recipients go out within one interval.
  const engine = await builtins();
  const mail = (time: number, nrcpt: number): Event => ({
    id: `m:${seq++}`,
    type: "mail.submitted",
    time,
    tzOffset: 0,
    service: "postfix",
    account: "lettre@club1.example",
    fields: { nrcpt },
  });
  const events: Event[] = [];
  const today = T0 + 7 * 86_400_000 + 9 * 60 * MIN;
  for (let day = 7; day >= 1; day--)
    for (let k = 0; k < 400; k++)
      events.push(mail(today - day * 86_400_000 - 2 * MIN + k * 600, 1));
  const history = feed(engine, events);
  assert.ok(
    history.every((t) => t.event.time < today - 6 * 86_400_000),
    "only the first morning, from an account with no history yet, looks unusual",
  );
  const burst = feed(engine, [mail(today + 5 * MIN, 400)]);
  assert.deepEqual(
    burst.map((t) => t.scenario.name),
    [],
    "400 recipients at once, as every morning: not a stolen account",
  );
  // Twice the usual burst is not usual.
  const twice = feed(engine, [mail(today + 6 * MIN, 450), mail(today + 7 * MIN, 400)]);
  assert.deepEqual(
    twice.map((t) => t.scenario.name),
    ["mail-account-recipients"],
  );
});

const submitted = (account: string, time: number, sender?: string): Event => ({
  id: `s:${seq++}`,
  type: "mail.submitted",
  time,
  tzOffset: 0,
  service: "postfix",
  account,
  ...(sender === undefined ? {} : { email: sender }),
  fields: { nrcpt: 1, sender: sender ?? null },
});

const delivery = (account: string, time: number, status: string): Event => ({
  id: `d:${seq++}`,
  type: "mail.delivery",
  time,
  tzOffset: 0,
  service: "postfix",
  account,
  fields: { status },
});

const named = (triggers: Trigger[], name: string): Trigger[] =>
  triggers.filter((t) => t.scenario.name === name);

test("an account sending as many forged senders is held; aliases and list bounces are not", async () => {
  const engine = await builtins();
  const forged = Array.from({ length: 12 }, (_, i) =>
    submitted("carol@example.org", T0 + i * 2 * MIN, `ceo${i}@bank${i}.example`),
  );
  const fired = named(feed(engine, forged), "mail-sender-mismatch");
  assert.equal(fired.length, 1);
  assert.equal(fired[0]!.key, "carol@example.org");
  assert.equal(fired[0]!.count, 10);
  assert.equal(fired[0]!.scenario.decision?.action, "hold");
  assert.equal(fired[0]!.scenario.decision?.scope, "account");

  const benign: Event[] = [];
  for (let i = 0; i < 60; i++) {
    // A login without a domain writing as itself in the club's domains, in any case, and as
    // the club's role addresses: ten senders, six of them not its own.
    const own = ["alice@club.example", "Alice@Club.Example", "alice@club.org", "alice@club.net"];
    const roles = ["president", "info", "contact", "tresorier", "secretariat", "bureau"];
    benign.push(
      submitted(
        "alice",
        T0 + i * MIN,
        i % 2 === 0 ? own[(i / 2) % 4] : `${roles[((i - 1) / 2) % 6]!}@club.org`,
      ),
    );
    // A list manager: one envelope sender per recipient (VERP), and subaddresses.
    benign.push(
      submitted("lists@club.example", T0 + i * MIN, `club-bounces+m${i}=example.net@club.example`),
      submitted("bob@club.example", T0 + i * MIN, `bob+tag${i}@club.example`),
    );
  }
  assert.deepEqual(named(feed(engine, benign), "mail-sender-mismatch"), []);
});

test("most of an account's deliveries bouncing or deferred raises an alert", async () => {
  const engine = await builtins();
  // Spam to a bought list: 60 deliveries in half an hour, two thirds refused.
  const spam = Array.from({ length: 60 }, (_, i) =>
    delivery(
      "dave@example.org",
      T0 + i * 30_000,
      i % 3 === 0 ? "sent" : i % 2 ? "bounced" : "deferred",
    ),
  );
  const fired = named(feed(engine, spam), "mail-bounce-ratio");
  assert.equal(fired.length, 1, "one alert, then silent for an hour");
  assert.equal(fired[0]!.key, "dave@example.org");
  assert.equal(fired[0]!.scenario.decision, undefined, "an alert only");
  assert.match(fired[0]!.detail, /of 50 events/);

  const benign: Event[] = [];
  // A newsletter of 400 with 20 stale addresses, every morning.
  for (let day = 0; day < 3; day++)
    for (let k = 0; k < 400; k++)
      benign.push(
        delivery(
          "lettre@club.example",
          T0 + day * 86_400_000 + k * 600,
          k % 20 === 0 ? "bounced" : "sent",
        ),
      );
  // A member whose few messages all bounce (an old address book): under the minimum.
  for (let k = 0; k < 30; k++)
    benign.push(delivery("erin@club.example", T0 + k * 5 * MIN, "bounced"));
  // Retries of one message to a dead domain, every hour for two days, among normal mail.
  for (let h = 0; h < 48; h++) {
    benign.push(delivery("frank@club.example", T0 + h * 60 * MIN, "deferred"));
    for (let k = 0; k < 3; k++)
      benign.push(delivery("frank@club.example", T0 + h * 60 * MIN + (k + 1) * MIN, "sent"));
  }
  assert.deepEqual(named(feed(engine, benign), "mail-bounce-ratio"), []);
});

test("a burst at an hour of day the account never sends at raises an alert; a late message does not", async () => {
  const DAY = 86_400_000;
  const history = (account: string, days: number): Event[] => {
    const out: Event[] = [];
    // Five messages a day between 09:00 and 19:00, and one on some evenings at 22:00.
    for (let d = 0; d < days; d++) {
      for (let k = 0; k < 5; k++)
        out.push(submitted(account, T0 + d * DAY + (9 + 2 * k) * 60 * MIN));
      if (d % 2 === 0) out.push(submitted(account, T0 + d * DAY + 22 * 60 * MIN + 5 * MIN));
    }
    return out;
  };
  const today = T0 + 10 * DAY;
  const burst = (account: string, hour: number, n: number): Event[] =>
    Array.from({ length: n }, (_, i) => submitted(account, today + hour * 60 * MIN + i * 4 * MIN));

  const engine = await builtins();
  const stolen = named(
    feed(engine, [...history("gina@club.example", 10), ...burst("gina@club.example", 3, 12)]),
    "mail-account-odd-hour",
  );
  assert.equal(stolen.length, 1, "one alert for the hour");
  assert.equal(stolen[0]!.count, 10);
  assert.equal(stolen[0]!.scenario.decision, undefined, "an alert only");

  const quiet = await builtins();
  const benign = [
    ...history("hugo@club.example", 10),
    // A late message, and a few: under the volume.
    ...burst("hugo@club.example", 2, 1),
    ...burst("hugo@club.example", 3, 4),
    // A burst at 23:00, next to the 22:00 the account knows.
    ...history("ines@club.example", 10),
    ...burst("ines@club.example", 23, 12),
    // A burst at night from an account with three days of history: not enough to judge.
    ...history("jo@club.example", 3).map((e) => ({ ...e, time: e.time + 7 * DAY })),
    ...burst("jo@club.example", 3, 12),
  ];
  assert.deepEqual(named(feed(quiet, benign), "mail-account-odd-hour"), []);
});

test("saved state holds no NUL (PostgreSQL's text refuses it), and older saves still load", async () => {
  const load = await loadScenarioDirs([BUILTIN_SCENARIO_DIR]);
  assert.ok(load.ok);
  const a = new DetectionEngine(load.scenarios, { trackChanges: true });
  const out: Trigger[] = [];
  // A success forgives that account's failures from that address (mail-slow-guessing).
  a.process(auth("auth.success", "203.0.113.60", 0, "carol@example.org"), out);
  a.process(auth("auth.failure", "203.0.113.60", 1, "carol@example.org"), out);
  const saved = a.takeChanges();
  assert.ok(saved.length > 0);
  for (const r of saved) assert.ok(!`${r.scenario}${r.key}`.includes("\u0000"), r.scenario);
  const forgiven = saved.filter((r) => r.scenario.endsWith("#forgiven") && r.state !== "");
  assert.ok(forgiven.some((r) => r.scenario === "mail-slow-guessing#forgiven"));
  const b = new DetectionEngine(load.scenarios, { trackChanges: true });
  b.restore(saved);
  assert.equal(b.stats().forgiven, forgiven.length);
  // As a database written before has it: the key carrying a NUL prefix.
  const c = new DetectionEngine(load.scenarios, { trackChanges: true });
  const one = forgiven.find((r) => r.scenario === "mail-slow-guessing#forgiven")!;
  c.restore([{ ...one, scenario: "mail-slow-guessing", key: `\u0000forgiven:${one.key}` }]);
  assert.equal(c.stats().forgiven, 1);
});

test("ratio and hours state survive a restart through takeChanges/restore", async () => {
  const load = await loadScenarioDirs([BUILTIN_SCENARIO_DIR]);
  assert.ok(load.ok);
  const DAY = 86_400_000;
  const events: Event[] = [];
  for (let d = 0; d < 9; d++)
    for (let k = 0; k < 4; k++)
      events.push(submitted("kim@club.example", T0 + d * DAY + (10 + k) * 60 * MIN));
  for (let i = 0; i < 12; i++)
    events.push(submitted("kim@club.example", T0 + 9 * DAY + 3 * 60 * MIN + i * MIN));
  for (let i = 0; i < 60; i++)
    events.push(
      delivery(
        "kim@club.example",
        T0 + 9 * DAY + 3 * 60 * MIN + i * 20_000,
        i % 4 ? "bounced" : "sent",
      ),
    );
  events.sort((a, b) => a.time - b.time);
  const cut = events.findIndex((e) => e.time >= T0 + 9 * DAY + 3 * 60 * MIN + 5 * MIN);
  const a = new DetectionEngine(load.scenarios, { trackChanges: true });
  const out: Trigger[] = [];
  for (const e of events.slice(0, cut)) a.process(e, out);
  const saved = a.takeChanges();
  assert.ok(saved.some((r) => r.scenario === "mail-account-odd-hour"));
  assert.ok(saved.some((r) => r.scenario === "mail-bounce-ratio"));
  const b = new DetectionEngine(load.scenarios);
  b.restore(saved);
  const uninterrupted = new DetectionEngine(load.scenarios);
  const outA: Trigger[] = [];
  const outB: Trigger[] = [];
  for (const e of events) uninterrupted.process(e, outA);
  for (const e of events.slice(cut)) b.process(e, outB);
  const names = (ts: Trigger[]): string[][] =>
    ts.filter((t) => t.event.time >= events[cut]!.time).map((t) => [t.scenario.name, t.event.id]);
  assert.ok(names(outA).some(([n]) => n === "mail-account-odd-hour"));
  assert.ok(names(outA).some(([n]) => n === "mail-bounce-ratio"));
  assert.deepEqual(names(outB), names(outA));
});
