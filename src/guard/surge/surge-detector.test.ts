import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Decision, Event } from "../../core/index.ts";
import { buildDetection } from "../../daemon/compose.ts";
import { defaultConfig } from "../../daemon/config.ts";
import { Pipeline } from "../../daemon/pipeline.ts";
import type { AsInfo, AsLookup } from "../ports.ts";
import { networkOf, SurgeConfigSchema, SurgeDetector, type SurgeFinding } from "./index.ts";

const T0 = Date.parse("2024-10-01T00:00:00Z");
const MIN = 60_000;

/** A fake AS table: the first two octets name the AS. */
const AS: Readonly<Record<string, AsInfo>> = {
  "81.10": { asn: 3215, name: "Orange", hosting: false },
  "81.20": { asn: 3215, name: "Orange", hosting: false },
  "91.30": { asn: 12322, name: "Free", hosting: false },
  "51.77": { asn: 16276, name: "OVH", hosting: true },
};
const asLookup: AsLookup = {
  lookup: (ip) => AS[ip.split(".").slice(0, 2).join(".")],
};

let seq = 0;
function http(t: number, ip: string, path: string): Event {
  return {
    id: `e${++seq}`,
    type: "http.request",
    time: t,
    tzOffset: 0,
    service: "nginx",
    ip,
    fields: { method: "GET", path, status: 200 },
  };
}
function submit(t: number, ip: string, form: string): Event {
  return {
    id: `f${++seq}`,
    type: "form.submit",
    time: t,
    tzOffset: 0,
    service: "app",
    ip,
    fields: { form },
  };
}

/** Real visitors: `n` addresses in Orange and Free, each a page, its assets and a search. */
function* visitors(from: number, minutes: number, perMinute: number): Generator<Event> {
  for (let m = 0; m < minutes; m++) {
    for (let k = 0; k < perMinute; k++) {
      const t = from + m * MIN + Math.floor((k * MIN) / perMinute);
      const v = (m * perMinute + k) % 400;
      const ip =
        v % 2 === 0 ? `81.10.${v % 200}.${(v % 250) + 1}` : `91.30.${v % 200}.${(v % 250) + 1}`;
      yield http(t, ip, "/");
      yield http(t + 100, ip, "/static/app.css");
      yield http(t + 200, ip, `/search?q=${v}`);
    }
  }
}

/**
 * A spread botnet: 60 addresses packed in one OVH /24 and 300 spread over Orange /24s, each
 * hitting /search about 6 times a minute and never an asset.
 */
function* botnet(from: number, minutes: number): Generator<Event> {
  const bots: string[] = [];
  for (let i = 0; i < 60; i++) bots.push(`51.77.8.${i + 1}`);
  for (let i = 0; i < 300; i++) bots.push(`81.20.${i}.${(i * 7) % 250}`);
  for (let m = 0; m < minutes; m++) {
    for (let r = 0; r < 6; r++) {
      for (const [i, ip] of bots.entries()) {
        const t = from + m * MIN + r * 10_000 + (i % 10_000);
        yield http(t, ip, `/search?q=bot${i}&p=${r}`);
      }
    }
  }
}

function merge(...streams: Generator<Event>[]): Event[] {
  return streams.flatMap((s) => [...s]).sort((a, b) => a.time - b.time);
}

function run(d: SurgeDetector, events: readonly Event[]): SurgeFinding[] {
  const out: SurgeFinding[] = [];
  for (const e of events) d.process(e, out);
  return out;
}

const config = SurgeConfigSchema.parse({ as: { min_baseline_hits: 100 } });

describe("SurgeDetector", () => {
  it("stays calm on a day's usual traffic, its ups and downs included", () => {
    const d = new SurgeDetector(config, asLookup);
    // 40 minutes at 10 visits a minute, then 40 at 30: a morning's rise, not a surge.
    const found = run(d, merge(visitors(T0, 40, 10), visitors(T0 + 40 * MIN, 40, 30)));
    assert.deepEqual(found, []);
    assert.equal(d.mode("route:/search", T0 + 80 * MIN).underAttack, false);
    assert.equal(d.classify("route:/search", "81.10.1.2", 3215, T0 + 80 * MIN), "normal");
  });

  it("a scanner's thousand 404s are one target: they do not crowd real routes and forms out", () => {
    const small = SurgeConfigSchema.parse({ max_targets: 50, as: { min_baseline_hits: 100 } });
    const d = new SurgeDetector(small, asLookup);
    const scan: Event[] = Array.from({ length: 1200 }, (_, i) => ({
      ...http(T0 + 30 * MIN + i * 40, "51.77.9.9", `/wp-${i}/setup-config.php`),
      fields: { method: "GET", path: `/wp-${i}/setup-config.php`, status: 404 },
    }));
    run(
      d,
      [...visitors(T0, 40, 10), ...scan].sort((a, b) => a.time - b.time),
    );
    assert.equal(d.targetOf(scan[0]!), "route:(not found)");
    assert.equal(d.stats().targets, 3, "/, /search and (not found)");
    // A route first seen after the scan is its own target.
    run(d, [http(T0 + 41 * MIN, "81.10.1.2", "/contact")]);
    assert.equal(d.stats().targets, 4);
  });

  it("forms are never folded into (other), however many routes there are", () => {
    const tiny = SurgeConfigSchema.parse({ max_targets: 2, as: { min_baseline_hits: 100 } });
    const d = new SurgeDetector(tiny, asLookup);
    run(d, [http(T0, "81.10.1.2", "/a"), http(T0, "81.10.1.2", "/b"), http(T0, "81.10.1.2", "/c")]);
    run(d, [http(T0, "81.10.1.2", "/d")]);
    assert.equal(d.stats().targets, 3, "/a, /b, then (other) for /c and /d");
    run(d, [submit(T0, "81.10.1.2", "petition"), submit(T0, "81.10.1.2", "signup")]);
    assert.equal(d.stats().targets, 5, "each form its own");
  });

  it("turns the under-attack mode on and decides on the networks and addresses of a botnet", () => {
    const d = new SurgeDetector(config, asLookup);
    const start = T0 + 60 * MIN;
    const found = run(d, merge(visitors(T0, 70, 20), botnet(start, 10)));
    const mode = d.mode("route:/search", start + 10 * MIN);
    assert.equal(mode.underAttack, true);
    assert.ok(mode.since! >= start && mode.since! < start + MIN, `since ${mode.since}`);
    assert.equal(d.mode("route:/", start + 10 * MIN).underAttack, false);

    const alerts = found.filter((f) => f.decision === undefined);
    assert.deepEqual(
      alerts.map((a) => a.value),
      ["route:/search"],
    );
    const decided = (scope: string) =>
      found.filter((f) => f.decision?.scope === scope).map((f) => f.decision!.value);
    assert.deepEqual(decided("range"), ["51.77.8.0/24"]);
    // OVH: no real visitor came from it; Orange: many did, so never the whole AS.
    assert.deepEqual(decided("as"), ["16276"]);
    const ips = new Set(decided("ip"));
    assert.ok(ips.size >= 300, `${ips.size} addresses decided`);
    for (const ip of ips) assert.ok(ip.startsWith("81.20.") || ip.startsWith("51.77."), ip);
    assert.ok(found.every((f) => f.decision === undefined || f.decision.action === "challenge"));

    const now = start + 10 * MIN;
    assert.equal(d.classify("route:/search", "51.77.8.200", 16276, now), "concentrated-network");
    assert.equal(d.classify("route:/search", "51.77.99.1", 16276, now), "concentrated-network");
    // Spread over Orange, the surge is not concentrated: everyone else is challenged.
    assert.equal(mode.isConcentrated, false);
    assert.equal(d.classify("route:/search", "81.10.3.4", 3215, now), "under-attack");
    assert.equal(d.classify("route:/", "81.10.3.4", 3215, now), "normal");
  });

  it("ends the mode once the rate has been back to normal for the cooldown", () => {
    const d = new SurgeDetector(config, asLookup);
    const start = T0 + 60 * MIN;
    const found = run(d, merge(visitors(T0, 100, 20), botnet(start, 5)));
    const ends = found.filter((f) => f.decision === undefined && f.reason.includes("no longer"));
    assert.equal(ends.length, 1);
    assert.ok(ends[0]!.at >= start + 15 * MIN && ends[0]!.at <= start + 17 * MIN);
    assert.equal(d.mode("route:/search", T0 + 100 * MIN).underAttack, false);
  });

  it("watches forms: a flood of submissions from one network", () => {
    const d = new SurgeDetector(
      SurgeConfigSchema.parse({ min_rate: 20, range: { min_hits: 10 } }),
      asLookup,
    );
    const events: Event[] = [];
    for (let m = 0; m < 40; m++)
      for (let k = 0; k < 3; k++)
        events.push(submit(T0 + m * MIN + k * 1000, `81.10.${m}.${k + 1}`, "petition"));
    for (let s = 0; s < 120; s++)
      events.push(submit(T0 + 40 * MIN + s * 500, `51.77.9.${(s % 30) + 1}`, "petition"));
    const found = run(d, events);
    assert.equal(d.mode("form:petition", T0 + 41 * MIN).underAttack, true);
    assert.ok(
      found.some((f) => f.decision?.scope === "range" && f.decision.value === "51.77.9.0/24"),
    );
    const ips = found.filter((f) => f.decision?.scope === "ip").map((f) => f.decision!.value);
    assert.ok(ips.length >= 25 && ips.every((ip) => ip.startsWith("51.77.9.")), ips.join());
    assert.equal(d.mode("form:petition", T0 + 41 * MIN).isConcentrated, true);
    assert.equal(d.classify("form:petition", "81.10.1.1", 3215, T0 + 41 * MIN), "normal");
    // The guard may name the form alone.
    assert.equal(
      d.classify("petition", "51.77.9.77", undefined, T0 + 41 * MIN),
      "concentrated-network",
    );
    assert.equal(d.mode("petition", T0 + 41 * MIN).underAttack, true);
    assert.equal(d.mode("petition", T0 + 60 * MIN).underAttack, false, "stale after the cooldown");
  });

  it("keeps its learned baselines across a restart (takeChanges, restore)", () => {
    const before = new SurgeDetector(config, asLookup);
    run(before, [...visitors(T0, 60, 20)]);
    const records = before.takeChanges();
    assert.ok(records.some((r) => r.key === "route:/search" && r.state !== ""));
    assert.deepEqual(before.takeChanges(), [], "only what moved since the last call");

    const start = T0 + 60 * MIN;
    const after = new SurgeDetector(config, asLookup);
    assert.equal(after.restore(records), records.length);
    const found = run(after, merge(visitors(start, 10, 20), botnet(start, 10)));
    const asDecisions = (f: SurgeFinding[]): string[] =>
      f.filter((x) => x.decision?.scope === "as").map((x) => x.decision!.value);
    // The OVH decision needs the learned share of each AS: the restored baseline has it.
    assert.deepEqual(asDecisions(found), ["16276"]);
    assert.equal(after.mode("route:/search", start + 10 * MIN).underAttack, true);

    const fresh = new SurgeDetector(config, asLookup);
    const without = run(fresh, merge(visitors(start, 10, 20), botnet(start, 10)));
    assert.deepEqual(asDecisions(without), [], "without the baselines it cannot tell");
  });

  it("skips checkpoint records it cannot read", () => {
    const d = new SurgeDetector(config, asLookup);
    const n = d.restore([
      { scenario: "\u0000surge-baseline", key: "route:/a", state: "{not json", expiresAt: 1 },
      { scenario: "\u0000surge-baseline", key: "route:/b", state: '{"v":2}', expiresAt: 1 },
      { scenario: "\u0000surge-baseline", key: "elsewhere", state: "{}", expiresAt: 1 },
      { scenario: "ssh-bf", key: "route:/c", state: "{}", expiresAt: 1 },
    ]);
    assert.equal(n, 0);
    assert.equal(d.stats().targets, 0);
  });

  it("never decides on a whole AS without an AS look-up or a learned baseline", () => {
    const d = new SurgeDetector(config);
    const found = run(d, merge(visitors(T0, 70, 20), botnet(T0 + 60 * MIN, 5)));
    assert.ok(!found.some((f) => f.decision?.scope === "as"));
    assert.ok(found.some((f) => f.decision?.scope === "range"));
  });

  it("keeps its memory within the configured caps", () => {
    const d = new SurgeDetector(SurgeConfigSchema.parse({ max_addresses: 500, max_targets: 10 }));
    const out: SurgeFinding[] = [];
    for (let i = 0; i < 5000; i++)
      d.process(http(T0 + i * 10, `198.51.${i >> 8}.${i & 255}`, `/p${i}/x`), out);
    const s = d.stats();
    assert.ok(s.addresses <= 500, `${s.addresses} addresses`);
    assert.ok(s.targets <= 11, `${s.targets} targets`);
  });
});

describe("surge findings in the pipeline", () => {
  it("become decisions through the same policy as scenario triggers", async () => {
    let n = 0;
    const newId = () => `d${++n}`;
    const cfg = defaultConfig();
    const detection = await buildDetection(cfg, [], newId, {}, { config, asLookup });
    assert.ok(detection.surge);
    const decisions: Decision[] = [];
    const pipeline = new Pipeline({
      ...detection,
      newId,
      output: {
        decision: (d) => decisions.push(d),
        ended: () => undefined,
        alert: () => undefined,
      },
    });
    for (const e of merge(visitors(T0, 70, 20), botnet(T0 + 60 * MIN, 5))) pipeline.ingest(e);
    assert.ok(decisions.some((d) => d.scope === "range" && d.value === "51.77.8.0/24"));
    assert.ok(decisions.some((d) => d.scope === "as" && d.value === "16276"));
    assert.ok(
      decisions.every((d) => d.scenario === "surge" && d.expiresAt === d.createdAt + 3_600_000),
    );
    assert.equal(pipeline.book.on("range", "51.77.8.0/24", T0 + 65 * MIN).length, 1);
    assert.equal(detection.surge.mode("route:/search", T0 + 65 * MIN).underAttack, true);
  });

  it("measures concentration as a count over the last two intervals would", () => {
    // The detector keeps its counts by network and AS as the hits come; a model recounts every
    // evaluation from the events themselves: hits, distinct and first-seen addresses of each
    // /24 (/48) and AS over this interval and the last. Addresses come back across intervals,
    // one /24 is shared by two ASes, and AS judgements need no baseline here.
    const cfg = SurgeConfigSchema.parse({
      interval: "1m",
      evaluate_every: "5s",
      cooldown: "1m",
      new_target_rate: 200,
      range: { min_hits: 15, min_addresses: 4, min_first_seen: 0.6 },
      as: { min_baseline_hits: 0, max_baseline_share: 1, min_share: 0.1, min_addresses: 6 },
    });
    const asOf = (ip: string): number | undefined => {
      const o = ip.split(".").map(Number);
      if (ip.includes(":")) return 64600;
      if (o[0] === 51) return o[3]! <= 50 ? 16276 : 12876; // 51.77.8.0/24: two ASes, one small
      return o[0] === 81 ? 3215 : o[0] === 185 ? 60000 + (o[1]! % 3) : undefined;
    };
    const lookup: AsLookup = {
      lookup: (ip) => {
        const asn = asOf(ip);
        return asn === undefined ? undefined : { asn, name: `AS${asn}`, hosting: true };
      },
    };
    let x = 99;
    const r = (n: number): number => ((x = (x * 1103515245 + 12345) & 0x7fffffff), x % n);
    const events: Event[] = [];
    // Known addresses first (not first-seen later), then a flood that comes back to them.
    const known = Array.from({ length: 40 }, (_, i) => `81.10.${i % 5}.${i + 1}`);
    for (let i = 0; i < 80; i++) events.push(submit(T0 + i * 20_000, known[i % 40]!, "p"));
    const f0 = T0 + 30 * MIN;
    for (let i = 0; i < 3000; i++) {
      const c = r(10);
      const ip =
        c < 3
          ? `51.77.8.${r(60) + 1}`
          : c < 5
            ? `185.${r(6)}.${r(3)}.${r(40) + 1}`
            : c < 7
              ? `2001:db8:${r(2)}::${r(30).toString(16)}`
              : c < 8
                ? known[r(40)]!
                : `${1 + r(200)}.${r(256)}.${r(256)}.${1 + r(254)}`;
      events.push(submit(f0 + Math.floor((i * 4 * MIN) / 3000), ip, "p"));
    }
    const d = new SurgeDetector(cfg, lookup);
    // The same, with other thresholds of cover: together they bound the share covered.
    const covers = Array.from({ length: 19 }, (_, k) => (k + 1) / 20).filter((c) => c !== 0.5);
    const others = covers.map(
      (c) => new SurgeDetector(SurgeConfigSchema.parse({ ...cfg, concentrated_cover: c }), lookup),
    );
    const out: SurgeFinding[] = [];
    const first = new Map<string, number>();
    let since: number | undefined;
    let last = d.mode("p", T0);
    let evaluations = 0;
    let checkedDecisions = 0;
    for (const [i, e] of events.entries()) {
      const before = out.length;
      d.process(e, out);
      for (const o of others) o.process(e, []);
      const ip = e.ip!;
      if (!first.has(ip)) first.set(ip, e.time);
      since ??= out.find((f) => f.scope === "form")?.at;
      const mode = d.mode("p", e.time);
      if (mode === last) continue;
      last = mode;
      evaluations++;
      // The model: this interval and the last, recounted.
      const from = e.time - (e.time % MIN) - MIN;
      const nets = new Map<string, { hits: number; ips: Set<string> }>();
      const ases = new Map<number, { hits: number; ips: Set<string> }>();
      const ipHits = new Map<string, number>();
      let total = 0;
      for (const p of events.slice(0, i + 1)) {
        if (p.time < from) continue;
        total++;
        ipHits.set(p.ip!, (ipHits.get(p.ip!) ?? 0) + 1);
        const add = <K>(m: Map<K, { hits: number; ips: Set<string> }>, k: K): void => {
          const n = m.get(k) ?? { hits: 0, ips: new Set<string>() };
          n.hits++;
          n.ips.add(p.ip!);
          m.set(k, n);
        };
        add(nets, networkOf(p.ip!));
        const asn = asOf(p.ip!);
        if (asn !== undefined) add(ases, asn);
      }
      const freshSince = since! - 10 * MIN;
      const freshOf = (n: { ips: Set<string> }): number =>
        [...n.ips].filter((a) => first.get(a)! >= freshSince).length;
      const passes = (n: { hits: number; ips: Set<string> }, minHits: number, minAddrs: number) =>
        n.hits >= minHits && n.ips.size >= minAddrs && freshOf(n) >= 0.6 * n.ips.size;
      // A network decision asked for now says what it counted.
      for (const f of out.slice(before)) {
        if (f.decision?.scope !== "range" && f.decision?.scope !== "as") continue;
        const n =
          f.decision.scope === "range"
            ? nets.get(f.decision.value)
            : ases.get(Number(f.decision.value));
        const said = /\((\d+) hits from (\d+) addresses, (\d+) % first seen/.exec(f.reason);
        assert.ok(n !== undefined && said !== null, f.reason);
        const fresh = Math.round((freshOf(n) / n.ips.size) * 100);
        assert.deepEqual(said.slice(1).map(Number), [n.hits, n.ips.size, fresh], f.reason);
        checkedDecisions++;
      }
      const expected = [
        ...[...nets].filter(([, n]) => passes(n, 15, 4)).map(([k, n]) => `range ${k} ${n.hits}`),
        ...[...ases]
          .filter(([, n]) => passes(n, 0.1 * total, 6))
          .map(([k, n]) => `as ${k} ${n.hits}`),
      ].sort();
      const got = mode.concentrated
        .map((c) => `${c.scope} ${c.value} ${Math.round(c.share * total)}`)
        .sort();
      assert.deepEqual(got, expected, `evaluation at event ${i}`);
      const ranges = new Set(
        expected.filter((c) => c.startsWith("range")).map((c) => c.split(" ")[1]),
      );
      const asns = new Set(expected.filter((c) => c.startsWith("as")).map((c) => c.split(" ")[1]));
      let covered = 0;
      for (const [a, h] of ipHits)
        if (ranges.has(networkOf(a)) || asns.has(String(asOf(a)))) covered += h;
      assert.equal(mode.isConcentrated, covered >= 0.5 * total, `evaluation at event ${i}`);
      for (const [k, o] of others.entries())
        assert.equal(
          o.mode("p", e.time).isConcentrated,
          covered >= covers[k]! * total,
          `evaluation at event ${i}, cover ${covers[k]}: ${covered} of ${total}`,
        );
    }
    assert.ok(evaluations >= 40, `${evaluations} evaluations`);
    assert.ok(checkedDecisions >= 5, `${checkedDecisions} network decisions checked`);
    assert.ok(out.some((f) => f.decision?.scope === "range"));
    assert.ok(out.some((f) => f.decision?.scope === "as" && f.decision.value === "16276"));
  });

  it("finds a network or an AS that passes only over the two intervals together", () => {
    // 15 hits are needed from a /24, 6 addresses from an AS: the /24 has 8 hits in one
    // interval and 7 in the next, the AS 3 addresses in each.
    const cfg = SurgeConfigSchema.parse({
      evaluate_every: "5s",
      new_target_rate: 50,
      range: { min_hits: 15, min_addresses: 4 },
      as: { min_baseline_hits: 0, max_baseline_share: 1, min_share: 0.05, min_addresses: 6 },
    });
    const lookup: AsLookup = {
      lookup: (ip) =>
        ip.startsWith("100.64.") ? { asn: 64700, name: "B", hosting: true } : undefined,
    };
    const d = new SurgeDetector(cfg, lookup);
    const t0 = T0 - (T0 % MIN);
    const events: Event[] = [];
    for (let i = 0; i < 60; i++) events.push(submit(t0 + i * 500, `198.18.${i}.1`, "q"));
    for (let i = 0; i < 8; i++) events.push(submit(t0 + 31_000 + i, `185.1.1.${1 + (i % 2)}`, "q"));
    for (let i = 0; i < 3; i++) events.push(submit(t0 + 32_000 + i, `100.64.${i}.1`, "q"));
    for (let i = 0; i < 7; i++)
      events.push(submit(t0 + MIN + 1000 + i, `185.1.1.${3 + (i % 2)}`, "q"));
    for (let i = 0; i < 3; i++) events.push(submit(t0 + MIN + 2000 + i, `100.64.${3 + i}.1`, "q"));
    events.push(submit(t0 + MIN + 30_000, "198.18.200.1", "q"));
    const out = run(d, events);
    assert.ok(
      out.some((f) => f.scope === "form"),
      "the surge began",
    );
    const found = d
      .mode("q", t0 + MIN + 30_000)
      .concentrated.map((c) => `${c.scope} ${c.value}`)
      .sort();
    assert.deepEqual(found, ["as 64700", "range 185.1.1.0/24"]);
  });

  it("can be turned off", async () => {
    const off = SurgeConfigSchema.parse({ enabled: false });
    const detection = await buildDetection(defaultConfig(), [], () => "x", {}, { config: off });
    assert.equal(detection.surge, undefined);
    assert.deepEqual(detection.detectors, []);
  });
});
