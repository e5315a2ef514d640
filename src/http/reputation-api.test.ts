import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ROUTES } from "./routes.ts";
import { createApi, type Api, type ApiResponse } from "./api.ts";
import { createApiKey } from "./api-keys.ts";
import { createDaemonRuntime, createTestRuntime, type TestRuntime } from "./test-runtime.ts";
import { parsePublicKey, SIGNATURE_HEADER, verifySignature } from "../reputation/index.ts";

interface Call {
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

function call(api: Api, method: string, url: string, c: Call = {}): Promise<ApiResponse> {
  const q = url.indexOf("?");
  return api.handle({
    method,
    path: q < 0 ? url : url.slice(0, q),
    ...(q >= 0 && { query: url.slice(q + 1) }),
    headers: c.headers ?? {},
    ...(c.body !== undefined && { body: Buffer.from(c.body) }),
  });
}

const json = (r: ApiResponse): Record<string, unknown> =>
  JSON.parse(String(r.body)) as Record<string, unknown>;

const FORM = "application/x-www-form-urlencoded";

void describe("reputation over the API (the daemon's runtime)", () => {
  let runtime: TestRuntime;
  let api: Api;
  let sensor: string;
  let other: string;
  let bouncer: string;

  before(async () => {
    runtime = await createDaemonRuntime({ reputation: { publish: true } });
    api = createApi(runtime);
    sensor = await createApiKey(runtime.storage, "fail2ban", "sensor", runtime.clock.now());
    other = await createApiKey(runtime.storage, "scripts", "sensor", runtime.clock.now());
    bouncer = await createApiKey(runtime.storage, "fw", "bouncer", runtime.clock.now());
  });
  after(() => runtime.close());

  it("takes fail2ban's report as its abuseipdb action posts it: a form, the key in Key", async () => {
    // What action.d/abuseipdb.conf's curl sends: --data-urlencode comment, ip; --data categories.
    const body = new URLSearchParams({
      comment: "sshd: 5 failures",
      ip: "203.0.113.9",
      categories: "18,22",
    }).toString();
    const r = await call(api, "POST", "/api/v2/report", {
      headers: { key: sensor, accept: "application/json", "content-type": FORM },
      body,
    });
    assert.equal(r.status, 200, String(r.body));
    const data = json(r).data as Record<string, unknown>;
    assert.equal(data.ipAddress, "203.0.113.9");
    assert.ok((data.abuseConfidenceScore as number) > 0);

    const again = await call(api, "POST", "/api/v2/report", {
      headers: { key: sensor, "content-type": FORM },
      body,
    });
    assert.equal(again.status, 429);
    assert.equal(again.headers["retry-after"], "900");
    assert.deepEqual(json(again), {
      errors: [
        {
          detail: "You can only report the same IP address (`203.0.113.9`) once in 15 minutes.",
          status: 429,
        },
      ],
    });
    // Another key may; JSON works too.
    const json2 = await call(api, "POST", "/api/v2/report", {
      headers: { key: other, "content-type": "application/json" },
      body: JSON.stringify({ ip: "203.0.113.9", categories: [11], comment: "" }),
    });
    assert.equal(json2.status, 200, String(json2.body));
  });

  it("answers bad reports with AbuseIPDB's errors: 422 with a detail that says where", async () => {
    const bad = async (body: string, detail: RegExp, status = 422) => {
      const r = await call(api, "POST", "/api/v2/report", {
        headers: { key: sensor, "content-type": FORM },
        body,
      });
      assert.equal(r.status, status, String(r.body));
      const errors = json(r).errors as { detail: string; status: number }[];
      assert.match(errors[0]!.detail, detail);
      assert.equal(errors[0]!.status, status);
    };
    await bad("ip=203.0.113.9&categories=99", /body\.categories: "99" is not a category/);
    await bad("ip=nope&categories=18", /body\.ip: "nope" is not an IP address/);
    await bad("categories=18", /body\.ip/);
    await bad("ip=127.0.0.1&categories=18", /allowlisted network: not reported/);
    await bad("ip=203.0.113.1&categories=18&ip=203.0.113.2", /given more than once/);
    const noKey = await call(api, "POST", "/api/v2/report", {
      headers: { "content-type": FORM },
      body: "ip=203.0.113.9&categories=18",
    });
    assert.equal(noKey.status, 401);
    assert.ok(Array.isArray(json(noKey).errors));
    const bouncerMayNot = await call(api, "POST", "/api/v2/report", {
      headers: { key: bouncer, "content-type": FORM },
      body: "ip=203.0.113.9&categories=18",
    });
    assert.equal(bouncerMayNot.status, 403);
  });

  it("checks an address as AbuseIPDB does, with the reports when verbose", async () => {
    const r = await call(
      api,
      "GET",
      "/api/v2/check?ipAddress=203.0.113.9&maxAgeInDays=90&verbose",
      {
        headers: { key: bouncer },
      },
    );
    assert.equal(r.status, 200, String(r.body));
    const data = json(r).data as Record<string, unknown>;
    assert.equal(data.ipAddress, "203.0.113.9");
    assert.equal(data.ipVersion, 4);
    assert.equal(data.isPublic, true);
    assert.equal(data.isWhitelisted, false);
    assert.equal(data.totalReports, 2);
    assert.equal(data.numDistinctUsers, 2);
    assert.match(String(data.lastReportedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    const reports = data.reports as { categories: number[]; reporterId: string }[];
    assert.deepEqual(reports.map((x) => x.reporterId).sort(), ["key:fail2ban", "key:scripts"]);
    const unknown = json(
      await call(api, "GET", "/api/v2/check?ipAddress=198.51.100.1", { headers: { key: bouncer } }),
    ).data as Record<string, unknown>;
    assert.equal(unknown.abuseConfidenceScore, 0);
    assert.equal(unknown.totalReports, 0);
    assert.equal(unknown.lastReportedAt, null);
    assert.equal("reports" in unknown, false);
    const local = json(
      await call(api, "GET", "/api/v2/check?ipAddress=10.0.0.1", { headers: { key: bouncer } }),
    ).data as Record<string, unknown>;
    assert.equal(local.isPublic, false);
    assert.equal(local.isWhitelisted, true);
    const bad = await call(api, "GET", "/api/v2/check?ipAddress=203.0.113.9&maxAgeInDays=400", {
      headers: { key: bouncer },
    });
    assert.equal(bad.status, 422);
  });

  it("counts this site's own bans, and shows why an address is suspect", async () => {
    const admin = await createApiKey(runtime.storage, "ops", "admin", runtime.clock.now());
    runtime.clock.advance(runtime.clock.now() + 60_000);
    const r = await call(api, "POST", "/v1/decisions", {
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({
        action: "ban",
        scope: "ip",
        value: "203.0.113.9",
        duration: "4h",
        reason: "guessing passwords",
      }),
    });
    assert.equal(r.status, 201, String(r.body));
    const view = await call(api, "GET", "/v1/reputation/203.0.113.9", {
      headers: { authorization: `Bearer ${bouncer}` },
    });
    assert.equal(view.status, 200, String(view.body));
    const body = ROUTES.reputation.responses[200].schema.parse(json(view));
    assert.equal(body.total_reports, 3);
    assert.equal(body.decisions.length, 1);
    assert.equal(body.reports[0]?.reporter, "rempart");
    assert.equal(body.reports[0]?.comment, "guessing passwords");
    assert.equal(body.address?.reports, 3);
    assert.equal(body.network?.prefix, "203.0.113.0/24");
    assert.equal(body.protected, null);
    assert.ok(body.confidence >= 50, String(body.confidence));
  });

  it("lists the addresses above a confidence, as JSON or plain text", async () => {
    const listed = json(
      await call(api, "GET", "/api/v2/blacklist?confidenceMinimum=50", {
        headers: { key: bouncer },
      }),
    );
    assert.deepEqual(
      (listed.data as { ipAddress: string }[]).map((d) => d.ipAddress),
      ["203.0.113.9"],
    );
    const plain = await call(api, "GET", "/api/v2/blacklist?confidenceMinimum=50&plaintext", {
      headers: { key: bouncer },
    });
    assert.equal(plain.body, "203.0.113.9\n");
    assert.match(String(plain.headers["content-type"]), /^text\/plain/);
    const none = json(
      await call(api, "GET", "/api/v2/blacklist?confidenceMinimum=100", {
        headers: { key: bouncer },
      }),
    );
    assert.deepEqual(none.data, []);
  });

  it("publishes its own reports signed, page by page, to anyone", async () => {
    const first = await call(api, "GET", "/v1/reputation/feed?limit=2");
    assert.equal(first.status, 200, String(first.body));
    const page = json(first) as { key: string; reports: { id: string }[]; next: string };
    const signature = /^ed25519=(.+)$/.exec(String(first.headers[SIGNATURE_HEADER]))?.[1];
    assert.ok(
      verifySignature(parsePublicKey(page.key)!, Buffer.from(first.body as Buffer), signature!),
    );
    assert.equal(page.reports.length, 2);
    const second = json(
      await call(api, "GET", `/v1/reputation/feed?after=${encodeURIComponent(page.next)}`),
    ) as { reports: { id: string }[]; next: string };
    assert.equal(second.reports.length, 1, "three reports in all: two scripts', one ban");
    const empty = json(
      await call(api, "GET", `/v1/reputation/feed?after=${encodeURIComponent(second.next)}`),
    ) as { reports: unknown[]; next: string };
    assert.deepEqual(empty.reports, []);
    assert.equal(empty.next, second.next, "an empty page keeps the cursor");
    const bad = await call(api, "GET", "/v1/reputation/feed?after=nope");
    assert.equal(bad.status, 400);
  });

  it("forgets an address's reports on an admin's word, and only then", async () => {
    const admin = await createApiKey(runtime.storage, "ops2", "admin", runtime.clock.now());
    const refused = await call(api, "DELETE", "/v1/reputation/203.0.113.9", {
      headers: { authorization: `Bearer ${sensor}` },
    });
    assert.equal(refused.status, 403);
    const r = await call(api, "DELETE", "/v1/reputation/203.0.113.9", {
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(r.status, 200, String(r.body));
    assert.deepEqual(json(r), { ip: "203.0.113.9", forgotten: 3 });
    const after = json(
      await call(api, "GET", "/v1/reputation/203.0.113.9", {
        headers: { authorization: `Bearer ${bouncer}` },
      }),
    );
    assert.equal(after.confidence, 0);
    assert.equal(after.total_reports, 0);
    assert.equal(after.network, null);
    assert.equal((after.decisions as unknown[]).length, 1, "the ban in force stays");
  });
});

void it("says the feed is not published, and reputation not kept, where it is not", async () => {
  const runtime = await createTestRuntime();
  try {
    const api = createApi(runtime);
    const feed = await call(api, "GET", "/v1/reputation/feed");
    assert.equal(feed.status, 404);
    assert.match(String(json(feed).message), /reputation\.publish/);
    const key = await createApiKey(runtime.storage, "s", "sensor", runtime.clock.now());
    const r = await call(api, "GET", "/api/v2/check?ipAddress=203.0.113.9", {
      headers: { key },
    });
    assert.equal(r.status, 503);
  } finally {
    await runtime.close();
  }
});

void describe("look-ups and appeals over the API (the daemon's runtime)", () => {
  let runtime: TestRuntime;
  let api: Api;
  let admin: string;
  const LISTED = "192.0.2.44";
  const FROM = { remoteAddress: "198.51.100.200" };

  const post = (path: string, body: string, type: string, lang = "en") =>
    api.handle({
      method: "POST",
      path,
      headers: { "content-type": type, "accept-language": lang },
      body: Buffer.from(body),
      ...FROM,
    });

  before(async () => {
    runtime = await createDaemonRuntime();
    api = createApi(runtime);
    admin = await createApiKey(runtime.storage, "ops", "admin", runtime.clock.now());
    const r = await call(api, "POST", "/v1/decisions", {
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({
        action: "ban",
        scope: "ip",
        value: LISTED,
        duration: "1d",
        reason: "guessed the password of bob@example.org",
      }),
    });
    assert.equal(r.status, 201);
    await call(api, "POST", "/v1/decisions", {
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({
        action: "challenge",
        scope: "range",
        value: "192.0.2.0/24",
        duration: "1h",
        reason: "a surge",
      }),
    });
  });
  after(() => runtime.close());

  it("tells anyone what is held against an address, never why in detail", async () => {
    const r = await api.handle({ method: "GET", path: `/v1/lookup/${LISTED}`, ...FROM });
    assert.equal(r.status, 200);
    const body = ROUTES.lookup.responses[200].schema.parse(json(r));
    assert.equal(body.listed, true);
    assert.deepEqual(body.decisions.map((d) => `${d.action} ${d.scope} ${d.source}`).sort(), [
      "ban ip operator",
      "challenge range operator",
    ]);
    assert.doesNotMatch(String(r.body), /bob@example\.org/, "a reason may name an account");
    assert.equal(body.appeal, null);
    const clean = json(await api.handle({ method: "GET", path: "/v1/lookup/203.0.113.1" }));
    assert.equal(clean.listed, false);
  });

  it("serves the page in the visitor's language, for their own address by default", async () => {
    const page = await api.handle({
      method: "GET",
      path: "/v1/lookup/",
      headers: { "accept-language": "fr-FR,fr;q=0.9" },
      remoteAddress: LISTED,
    });
    assert.equal(page.status, 200);
    assert.match(String(page.headers["content-type"]), /^text\/html/);
    const html = String(page.body);
    assert.match(html, /<html lang="fr">/);
    assert.match(html, new RegExp(`value="${LISTED.replaceAll(".", "\\.")}"`));
    assert.match(html, /bloquée/);
    assert.match(html, /<form method="post" action="\.\.\/appeals">/);
    assert.doesNotMatch(html, /bob@example/);
    const escaped = await api.handle({
      method: "GET",
      path: "/v1/lookup/",
      query: `ip=${encodeURIComponent("<script>x</script>")}`,
      ...FROM,
    });
    assert.equal(escaped.status, 400);
    assert.doesNotMatch(String(escaped.body), /<script>/);
    assert.match(String(escaped.body), /&lt;script&gt;/);
  });

  it("takes one appeal per address from the page's form, and redirects back to the page", async () => {
    const notListed = await post(
      "/v1/appeals",
      JSON.stringify({ ip: "203.0.113.1", message: "why?" }),
      "application/json",
    );
    assert.equal(notListed.status, 409);
    assert.equal(json(notListed).code, "APPEAL_REFUSED");
    const form = new URLSearchParams({
      ip: LISTED,
      contact: "marie@example.org",
      message: "C'est le wifi de l'école",
    }).toString();
    const sent = await post("/v1/appeals", form, "application/x-www-form-urlencoded");
    assert.equal(sent.status, 303, String(sent.body));
    assert.equal(sent.headers.location, `lookup/?ip=${LISTED}&appeal=sent`);
    const again = await post("/v1/appeals", form, "application/x-www-form-urlencoded", "fr");
    assert.equal(again.status, 409);
    assert.match(String(again.body), /already waiting for an answer/);
    const looked = json(await api.handle({ method: "GET", path: `/v1/lookup/${LISTED}` }));
    assert.equal((looked.appeal as { status: string }).status, "open");
    const metrics = String((await api.handle({ method: "GET", path: "/metrics" })).body);
    assert.match(metrics, /^rempart_appeals_open 1$/m);
  });

  it("limits one sender to five appeals a day", async () => {
    for (let i = 0; i < 5; i++) {
      const ip = `198.51.100.${10 + i}`;
      await call(api, "POST", "/v1/decisions", {
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({
          action: "ban",
          scope: "ip",
          value: ip,
          duration: "1h",
          reason: "x",
        }),
      });
    }
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push(
        (
          await post(
            "/v1/appeals",
            JSON.stringify({ ip: `198.51.100.${10 + i}`, message: "please" }),
            "application/json",
          )
        ).status,
      );
    // One was spent in the test before.
    assert.deepEqual(statuses, [201, 201, 201, 201, 429]);
  });

  it("lets an admin grant an appeal: the address's own decision is lifted, the range's stays", async () => {
    const auth = { authorization: `Bearer ${admin}` };
    const listed = json(await call(api, "GET", "/v1/appeals", { headers: auth }));
    const appeals = listed.appeals as { id: string; ip: string; contact: string }[];
    const mine = appeals.find((a) => a.ip === LISTED)!;
    assert.equal(mine.contact, "marie@example.org");
    const r = await call(api, "POST", `/v1/appeals/${mine.id}/forgive`, {
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ note: "a school's address" }),
    });
    assert.equal(r.status, 200, String(r.body));
    const done = ROUTES.forgiveAppeal.responses[200].schema.parse(json(r));
    assert.equal(done.lifted, 1);
    assert.equal(done.forgotten, 1, "the ban's report");
    assert.deepEqual(
      done.remaining.map((d) => d.value),
      ["192.0.2.0/24"],
    );
    assert.equal(done.appeal.status, "forgiven");
    assert.equal(done.appeal.closed_by, "ops");
    const check = runtime.check({ ip: LISTED }).map((d) => d.scope);
    assert.deepEqual(check, ["range"]);
    const twice = await call(api, "POST", `/v1/appeals/${mine.id}/refuse`, {
      headers: { ...auth, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(twice.status, 404);
    const sensor = await createApiKey(runtime.storage, "app", "sensor", runtime.clock.now());
    const forbidden = await call(api, "GET", "/v1/appeals", {
      headers: { authorization: `Bearer ${sensor}` },
    });
    assert.equal(forbidden.status, 403);
  });
});
