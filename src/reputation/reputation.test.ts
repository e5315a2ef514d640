import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Decision, Storage } from "../core/index.ts";
import { normalizeIp } from "../net/index.ts";
import { openStorage } from "../storage/index.ts";
import { PeerFeeds, SIGNATURE_HEADER } from "./peers.ts";
import { confidenceOf } from "./reputation-book.ts";
import { ReputationConfigSchema } from "./reputation-config.ts";
import {
  isPublicIp,
  MAX_FEED_PAGE,
  parseCursor,
  REPORT_INTERVAL_MS,
  Reputation,
  type ReputationDeps,
} from "./reputation.ts";
import { signerFromSeed, type Signer } from "./signing.ts";

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;
const protection = (ip: string): string | undefined =>
  isPublicIp(ip) ? undefined : `${ip} is in an allowlisted network`;

function decision(overrides: Partial<Decision>): Decision {
  return {
    id: `d-${Math.random().toString(36).slice(2)}`,
    action: "ban",
    scope: "ip",
    value: "192.0.2.7",
    createdAt: T0,
    expiresAt: T0 + 3_600_000,
    origin: "scenario",
    scenario: "mail-bruteforce",
    reason: "12 failures in 60 s",
    offence: 0,
    tzOffset: 0,
    ...overrides,
  };
}

async function site(
  config: Record<string, unknown> = {},
  signer?: Signer,
): Promise<{ storage: Storage; reputation: Reputation; lines: string[] }> {
  const storage = await openStorage({ kind: "sqlite", path: ":memory:" });
  const lines: string[] = [];
  const deps: ReputationDeps = {
    storage,
    protection,
    signer,
    site: "a.example",
    log: (l) => lines.push(l),
  };
  return {
    storage,
    reputation: new Reputation(ReputationConfigSchema.parse(config), deps),
    lines,
  };
}

void describe("Reputation: this site's decisions", () => {
  void it("reports bans and lesser decisions on one address, not ranges, lists or allowlisted addresses", async () => {
    const { reputation, storage } = await site();
    const ban = decision({});
    const r = reputation.observe(ban);
    assert.deepEqual(r, {
      id: ban.id,
      time: T0,
      ip: "192.0.2.7",
      categories: [18],
      weight: 1,
      reporter: "rempart",
      comment: "12 failures in 60 s",
    });
    assert.equal(
      reputation.observe(
        decision({ action: "challenge", value: "198.51.100.9", scenario: "http-flood" }),
      )?.weight,
      0.5,
    );
    assert.equal(
      reputation.observe(decision({ scope: "range", value: "203.0.113.0/24" })),
      undefined,
    );
    assert.equal(
      reputation.observe(decision({ origin: "import", scenario: "spamhaus-drop" })),
      undefined,
    );
    assert.equal(reputation.observe(decision({ value: "10.1.2.3" })), undefined);
    // The address, and its /24 at a quarter.
    assert.equal(reputation.book.confidence("192.0.2.7", T0), confidenceOf(1.25));
    // Scored, not stored: the daemon stores it with the decision's checkpoint.
    assert.deepEqual(await storage.listReports({}), []);
    await storage.close();
  });

  void it("rebuilds the same scores from storage after a restart, and forgets what is past keep", async () => {
    const { reputation, storage } = await site({ keep: "30d" });
    const reports = [
      decision({ createdAt: T0 - 40 * DAY }),
      decision({ createdAt: T0 - 2 * DAY }),
      decision({ createdAt: T0 - DAY, value: "2001:db8::1" }),
    ].map((d) => reputation.observe(d)!);
    await storage.addReports(reports);
    const fresh = new Reputation(ReputationConfigSchema.parse({ keep: "30d" }), {
      storage,
      protection,
      site: "a",
      log: () => undefined,
    });
    assert.equal(await fresh.load(T0), 2);
    assert.equal((await storage.listReports({})).length, 2, "the 40-day-old report is deleted");
    const expected = new Reputation(ReputationConfigSchema.parse({}), {
      storage,
      protection,
      site: "a",
      log: () => undefined,
    });
    expected.observe(decision({ createdAt: T0 - 2 * DAY }));
    assert.equal(fresh.book.confidence("192.0.2.7", T0), expected.book.confidence("192.0.2.7", T0));
    assert.ok(fresh.book.confidence("2001:db8::1", T0) > 0);
    await storage.close();
  });
});

void describe("Reputation: reports from scripts", () => {
  void it("stores a report, refuses the same reporter and address within 15 minutes, and allowlisted addresses", async () => {
    const { reputation, storage } = await site();
    const input = {
      ip: "192.0.2.7",
      categories: [22, 18, 18, 99],
      comment: "sshd: 5 failures",
      time: T0,
      reporter: "key:fail2ban",
    };
    const first = await reputation.report(input);
    assert.ok(first.ok);
    assert.deepEqual(first.report.categories, [18, 22], "unknown categories dropped, sorted, once");
    assert.equal(first.confidence, confidenceOf(1.25));
    const again = await reputation.report({ ...input, time: T0 + 60_000 });
    assert.deepEqual(again, {
      ok: false,
      reason: "too-soon",
      retryAfterMs: REPORT_INTERVAL_MS - 60_000,
    });
    // Another reporter may; the same one may again after 15 minutes.
    assert.ok((await reputation.report({ ...input, reporter: "key:scripts" })).ok);
    assert.ok((await reputation.report({ ...input, time: T0 + REPORT_INTERVAL_MS })).ok);
    const refused = await reputation.report({ ...input, ip: "127.0.0.1" });
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.reason, "protected");
    assert.equal((await storage.listReports({ ip: "192.0.2.7" })).length, 3);

    const check = await reputation.check("192.0.2.7", T0 + REPORT_INTERVAL_MS, DAY, 2);
    assert.equal(check.total, 3);
    assert.equal(check.reporters, 2);
    assert.equal(check.reports.length, 2);
    assert.equal(check.isPublic, true);
    assert.equal(check.standing.address?.reports, 3);
    const later = await reputation.check("192.0.2.7", T0 + 3 * DAY, DAY, 10);
    assert.equal(later.total, 0, "none within the asked age");
    assert.ok(later.standing.confidence > 0, "the score decays, it does not vanish");
    const local = await reputation.check("10.0.0.1", T0, DAY, 10);
    assert.equal(local.isPublic, false);
    assert.match(local.protection ?? "", /allowlisted/);
    await storage.close();
  });
});

void describe("Reputation: peers' signed feeds", () => {
  const signer = signerFromSeed(randomBytes(32));
  let a: Awaited<ReturnType<typeof site>>;
  let server: Server;
  let url: string;
  let tamper: ((body: Buffer) => Buffer) | undefined;
  const now = T0;

  before(async () => {
    a = await site({ publish: true }, signer);
    server = createServer((req, res) => {
      const u = new URL(req.url ?? "/", "http://x");
      const after = u.searchParams.get("after");
      const limit = Number(u.searchParams.get("limit") ?? MAX_FEED_PAGE);
      void a.reputation
        .feed(after === null ? undefined : parseCursor(after), limit, now)
        .then((page) => {
          const body = tamper === undefined ? page.body : tamper(page.body);
          res.writeHead(200, {
            "content-type": "application/json",
            [SIGNATURE_HEADER]: `ed25519=${page.signature}`,
          });
          res.end(body);
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/reputation/feed`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await a.storage.close();
  });

  const reader = async (key = signer.publicKey, trust = 0.5) => {
    const b = await site();
    const feeds = new PeerFeeds([{ name: "a", url, public_key: key, trust, every: "5m" }], {
      storage: b.storage,
      book: b.reputation.book,
      protection,
      now: () => now,
      log: (l) => b.lines.push(l),
      keepMs: 90 * DAY,
    });
    return { ...b, feeds };
  };

  void it("reads a peer's own reports page by page, weighed by trust, and resumes after its cursor", async () => {
    const own: Decision[] = [];
    for (let i = 0; i < MAX_FEED_PAGE + 5; i++)
      own.push(
        decision({ id: `a-${i}`, value: `198.51.${100 + (i >> 8)}.${i & 255}`, createdAt: T0 + i }),
      );
    await a.storage.addReports(own.map((d) => a.reputation.observe(d)!));
    // A report A itself took from a peer is not A's to pass on.
    await a.storage.addReports([
      {
        id: "z:1",
        time: T0,
        ip: "192.0.2.99",
        categories: [],
        weight: 1,
        reporter: "peer:z",
        comment: "",
      },
    ]);
    const b = await reader();
    assert.deepEqual(await b.feeds.pull("a"), { reports: MAX_FEED_PAGE + 5, pages: 2 });
    const stored = await b.storage.listReports({ ip: "198.51.100.0" });
    assert.deepEqual(stored, [
      {
        id: "a:a-0",
        time: T0,
        ip: "198.51.100.0",
        categories: [18],
        weight: 0.5,
        reporter: "peer:a",
        comment: "",
      },
    ]);
    assert.equal((await b.storage.listReports({ ip: "192.0.2.99" })).length, 0);
    assert.ok(b.reputation.book.confidence("198.51.100.0", now) > 0);
    assert.equal(
      await b.storage.peerCursor("a"),
      `${T0 + MAX_FEED_PAGE + 4}.a-${MAX_FEED_PAGE + 4}`,
    );
    // Nothing new: nothing read twice. Then one more decision at A.
    assert.deepEqual(await b.feeds.pull("a"), { reports: 0, pages: 1 });
    await a.storage.addReports([
      a.reputation.observe(decision({ id: "a-new", createdAt: T0 + DAY }))!,
    ]);
    assert.deepEqual(await b.feeds.pull("a"), { reports: 1, pages: 1 });
    // B publishes none of A's reports as its own.
    assert.deepEqual(await b.storage.ownReportsAfter(undefined, 10), []);
    await b.storage.close();
  });

  void it("refuses a page whose bytes were changed, or signed by another key, and keeps its cursor", async () => {
    const b = await reader();
    tamper = (body) => Buffer.from(body.toString().replace('"weight":1', '"weight":9'));
    try {
      await assert.rejects(b.feeds.pull("a"), /signature does not verify/);
    } finally {
      tamper = undefined;
    }
    const other = await reader(signerFromSeed(randomBytes(32)).publicKey);
    await assert.rejects(other.feeds.pull("a"), /signature does not verify/);
    assert.equal(await b.storage.peerCursor("a"), undefined);
    assert.deepEqual(await b.storage.listReports({}), []);
    assert.equal(b.feeds.stats()[0]?.failures, 1);
    assert.match(b.lines[0] ?? "", /reputation peer a: the page's signature does not verify/);
    await b.storage.close();
    await other.storage.close();
  });

  void it("drops a peer's reports on addresses this site protects, and dates none in the future", async () => {
    await a.storage.addReports([
      {
        id: "p-1",
        time: T0 + 2 * DAY,
        ip: "10.9.9.9",
        categories: [],
        weight: 1,
        reporter: "key:x",
        comment: "",
      },
      {
        id: "p-2",
        time: T0 + 30 * DAY,
        ip: "192.0.2.50",
        categories: [],
        weight: 1,
        reporter: "key:x",
        comment: "secret",
      },
    ]);
    const b = await reader();
    await b.feeds.pull("a");
    assert.deepEqual(await b.storage.listReports({ ip: "10.9.9.9" }), []);
    const [future] = await b.storage.listReports({ ip: "192.0.2.50" });
    assert.equal(future?.time, now);
    assert.equal(future?.comment, "", "comments are never shared");
    await b.storage.close();
  });
});

void it("parses the cursors it formats, and nothing else", () => {
  assert.deepEqual(parseCursor("1700000000000.d-1"), { time: 1_700_000_000_000, id: "d-1" });
  assert.equal(parseCursor("x.d"), undefined);
  assert.equal(parseCursor("12"), undefined);
  assert.equal(normalizeIp("192.0.2.1"), "192.0.2.1");
});

void it("refuses a configuration with peers of one name, a key that is not one, keep below half_life", () => {
  const key = signerFromSeed(Buffer.alloc(32, 1)).publicKey;
  const peer = { name: "a", url: "https://a.example/v1/reputation/feed", public_key: key };
  const problems = (config: unknown): string[] => {
    const r = ReputationConfigSchema.safeParse(config);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  assert.deepEqual(problems({ peers: [peer] }), []);
  assert.deepEqual(problems({ peers: [peer, peer] }), [
    'peers.1.name: another peer is named "a": each needs its own name',
  ]);
  assert.match(
    problems({ peers: [{ ...peer, public_key: "ed25519:nope" }] })[0] ?? "",
    /^peers\.0\.public_key: expected the peer's public key/,
  );
  assert.match(problems({ peers: [{ ...peer, url: "ftp://x" }] })[0] ?? "", /^peers\.0\.url/);
  assert.deepEqual(problems({ half_life: "30d", keep: "7d" }), [
    "keep: keep must be at least half_life: a report deleted earlier would still count",
  ]);
});
