import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createApi, type Api, type ApiResponse } from "./api.ts";
import { createApiKey } from "./api-keys.ts";
import { z } from "zod";
import { DecisionView, ErrorView, ROUTES } from "./routes.ts";
import { createDaemonRuntime, createTestRuntime, type TestRuntime } from "./test-runtime.ts";

interface Call {
  readonly key?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

async function call(api: Api, method: string, url: string, c: Call = {}): Promise<ApiResponse> {
  const q = url.indexOf("?");
  const headers: Record<string, string> = { ...c.headers };
  if (c.key !== undefined) headers.authorization = `Bearer ${c.key}`;
  if (c.body !== undefined) headers["content-type"] ??= "application/json";
  return api.handle({
    method,
    path: q < 0 ? url : url.slice(0, q),
    ...(q >= 0 && { query: url.slice(q + 1) }),
    headers,
    ...(c.body !== undefined && {
      body: Buffer.from(typeof c.body === "string" ? c.body : JSON.stringify(c.body)),
    }),
  });
}

const raw = (r: ApiResponse): unknown => JSON.parse(String(r.body));

/** Reads an answer with the schema the route documents, so the documentation is checked too. */
const bodyOf = <T extends z.ZodType>(r: ApiResponse, schema: T): z.output<T> =>
  schema.parse(raw(r));

const CHECK = ROUTES.check.responses[200].schema;
const LIST = z.object({ decisions: z.array(DecisionView) });
const ADDED = z.object({ decision: DecisionView, merged: z.boolean() });
const ALERTS = ROUTES.listAlerts.responses[200].schema;
const ACCEPTED = ROUTES.ingestEvents.responses[202].schema;

interface Operation {
  readonly operationId: string;
  readonly responses: Record<string, unknown>;
  readonly parameters: readonly { readonly name: string; readonly in: string }[];
  readonly security: unknown;
}
interface OpenApiDoc {
  readonly openapi: string;
  readonly info: { readonly version: string };
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components: { readonly schemas: Record<string, unknown> };
}

function assertError(r: ApiResponse, status: number, code: string, message?: RegExp): void {
  assert.equal(r.status, status, String(r.body));
  const b = ErrorView.strict().parse(raw(r));
  assert.equal(b.code, code);
  if (message) assert.match(b.message, message);
}

const event = (id: string, ip: string, type = "form.submit", time = "2024-09-28T12:00:00Z") => ({
  id,
  type,
  time,
  source: { ip },
});

// The same suite against the test runtime and against the daemon itself.
for (const [label, make] of [
  ["test runtime", createTestRuntime],
  ["daemon", createDaemonRuntime],
] as const)
  describe(label, () => {
    let runtime: TestRuntime;
    let api: Api;
    let admin: string;
    let sensor: string;
    let bouncer: string;
    let logged: unknown[];

    beforeEach(async () => {
      runtime = await make();
      logged = [];
      api = createApi(runtime, {
        version: "9.9.9",
        logError: (_context, e) => {
          logged.push(e);
        },
      });
      const now = runtime.clock.now();
      admin = await createApiKey(runtime.storage, "ops", "admin", now);
      sensor = await createApiKey(runtime.storage, "webapp", "sensor", now);
      bouncer = await createApiKey(runtime.storage, "nginx", "bouncer", now);
    });

    afterEach(async () => {
      await runtime.close();
    });

    describe("authentication", () => {
      test("a keyed route without a key is 401 with WWW-Authenticate", async () => {
        const r = await call(api, "GET", "/v1/check?ip=203.0.113.7");
        assertError(r, 401, "UNAUTHORIZED", /Authorization: Bearer/);
        assert.match(r.headers["www-authenticate"] ?? "", /^Bearer/);
      });

      test("a malformed, unknown or wrong key is 401", async () => {
        const wrongSecret = `${admin.slice(0, 17)}${"A".repeat(43)}`;
        const unknownId = `rmp_000000000000_${admin.slice(17)}`;
        for (const key of ["nonsense", wrongSecret, unknownId, `${admin}x`]) {
          const r = await call(api, "GET", "/v1/alerts", { key });
          assertError(r, 401, "UNAUTHORIZED", /unknown or wrong/);
        }
      });

      test("a key of the wrong role is 403", async () => {
        assertError(
          await call(api, "POST", "/v1/decisions", {
            key: bouncer,
            body: { action: "ban", scope: "ip", value: "203.0.113.7", duration: "4h", reason: "x" },
          }),
          403,
          "FORBIDDEN",
          /a bouncer key may not call POST \/v1\/decisions/,
        );
        assertError(await call(api, "GET", "/v1/decisions", { key: sensor }), 403, "FORBIDDEN");
        assertError(
          await call(api, "POST", "/v1/events", { key: bouncer, body: [] }),
          403,
          "FORBIDDEN",
        );
      });

      test("the right role passes, by Authorization or X-Api-Key", async () => {
        assert.equal(
          (await call(api, "GET", "/v1/check?ip=203.0.113.7", { key: sensor })).status,
          200,
        );
        assert.equal(
          (await call(api, "GET", "/v1/check?ip=203.0.113.7", { key: bouncer })).status,
          200,
        );
        const viaHeader = await call(api, "GET", "/v1/decisions", {
          headers: { "x-api-key": bouncer },
        });
        assert.equal(viaHeader.status, 200);
        // admin may call everything
        assert.equal((await call(api, "POST", "/v1/events", { key: admin, body: [] })).status, 202);
      });

      test("validation errors are not shown to a caller without a key", async () => {
        assertError(await call(api, "GET", "/v1/check?ip=foo"), 401, "UNAUTHORIZED");
      });
    });

    describe("routing", () => {
      test("an unknown path is 404, a known path with the wrong method 405 with Allow", async () => {
        assertError(await call(api, "GET", "/v2/nothing"), 404, "NOT_FOUND", /no route for "GET"/);
        const r = await call(api, "PUT", "/v1/decisions", { key: admin });
        assertError(r, 405, "NOT_FOUND");
        assert.equal(r.headers.allow, "GET, POST, HEAD");
        assert.equal(
          (await call(api, "GET", "/v1/decisions/abc", { key: admin })).headers.allow,
          "DELETE",
        );
      });

      test("HEAD answers as GET does (a load balancer's health check)", async () => {
        const head = await call(api, "HEAD", "/v1/health");
        assert.equal(head.status, 200);
        assert.equal(
          (await call(api, "HEAD", "/v1/decisions", { key: admin })).status,
          (await call(api, "GET", "/v1/decisions", { key: admin })).status,
        );
        assertError(await call(api, "HEAD", "/v1/decisions"), 401, "UNAUTHORIZED");
      });

      test("an unexpected failure is 500 with a generic message, logged and never echoed", async () => {
        const failing = createApi(
          {
            ...runtime,
            listAlerts: () => Promise.reject(new Error("SQLITE_CORRUPT at /var/lib/x.db")),
          },
          { logError: (_c, e) => logged.push(e) },
        );
        const r = await call(failing, "GET", "/v1/alerts", { key: admin });
        assertError(r, 500, "INTERNAL", /internal error/);
        assert.doesNotMatch(String(r.body), /SQLITE|var\/lib/);
        assert.equal(logged.length, 1);
      });
    });

    describe("GET /v1/health", () => {
      test("needs no key and says version, uptime and active decisions", async () => {
        runtime.clock.advance(runtime.clock.now() + 90_000);
        const r = await call(api, "GET", "/v1/health");
        assert.equal(r.status, 200);
        assert.deepEqual(raw(r), {
          status: "ok",
          version: "9.9.9",
          uptime: 90,
          activeDecisions: 0,
        });
      });
    });

    describe("GET /v1/check", () => {
      test("allow when nothing applies, with the normalised subject", async () => {
        const r = await call(api, "GET", "/v1/check?ip=2001:DB8:0:0::1&email=Ann@Example.ORG", {
          key: bouncer,
        });
        assert.equal(r.status, 200);
        assert.deepEqual(raw(r), {
          subject: { ip: "2001:db8::1", email: "ann@example.org" },
          decisions: [],
          verdict: "allow",
        });
      });

      test("the strongest action that applies is the verdict; ranges and domains apply", async () => {
        const add = (body: object) => call(api, "POST", "/v1/decisions", { key: admin, body });
        assert.equal(
          (
            await add({
              action: "challenge",
              scope: "ip",
              value: "203.0.113.7",
              duration: "1h",
              reason: "r1",
            })
          ).status,
          201,
        );
        assert.equal(
          (
            await add({
              action: "ban",
              scope: "range",
              value: "203.0.113.0/24",
              duration: null,
              reason: "r2",
            })
          ).status,
          201,
        );
        assert.equal(
          (
            await add({
              action: "verify",
              scope: "domain",
              value: "spam.example",
              duration: "1d",
              reason: "r3",
            })
          ).status,
          201,
        );
        const answer = await call(api, "GET", "/v1/check?ip=203.0.113.7", { key: sensor });
        const r = bodyOf(answer, CHECK);
        assert.equal(r.verdict, "ban");
        assert.deepEqual(r.decisions.map((d) => d.action).sort(), ["ban", "challenge"]);
        // exactly the documented members, no more
        z.object({ decisions: z.array(DecisionView.strict()) }).parse(raw(answer));
        const ban = r.decisions.find((d) => d.action === "ban")!;
        assert.equal(ban.until, null);
        assert.equal(ban.origin, "manual");
        assert.equal(ban.scenario, "ops");
        const challenge = r.decisions.find((d) => d.action === "challenge")!;
        assert.equal(challenge.until, "2024-09-28T13:00:00+00:00");

        const byMail = bodyOf(
          await call(api, "GET", "/v1/check?email=bob@spam.example", { key: sensor }),
          CHECK,
        );
        assert.equal(byMail.verdict, "verify");
        // other addresses are not touched
        const other = bodyOf(
          await call(api, "GET", "/v1/check?ip=198.51.100.1", { key: sensor }),
          CHECK,
        );
        assert.equal(other.verdict, "allow");
      });

      test("validation errors say what and where", async () => {
        const bad = async (query: string, message: RegExp) => {
          assertError(
            await call(api, "GET", `/v1/check?${query}`, { key: sensor }),
            400,
            "INPUT_INVALID",
            message,
          );
        };
        await bad("", /give at least one of ip, account, email/);
        await bad("ip=foo", /^query\.ip: "foo" is not an IP address$/);
        await bad("email=nobody", /^query\.email: "nobody" is not an e-mail address$/);
        await bad("ip=1.2.3.4&ip=5.6.7.8", /query\.ip: given more than once/);
        await bad("ipp=1.2.3.4", /query: unknown member "ipp"/);
        await bad(`account=${"a".repeat(300)}`, /query\.account: Too big/);
      });

      test("a long bad value is not echoed whole", async () => {
        const r = await call(api, "GET", `/v1/check?ip=${"x".repeat(60)}`, { key: sensor });
        assertError(r, 400, "INPUT_INVALID");
        assert.ok(String(r.body).length < 200, String(r.body));
      });
    });

    describe("decisions", () => {
      const ban = {
        action: "ban",
        scope: "ip",
        value: "203.0.113.9",
        duration: "4h",
        reason: "spam run",
      };

      test("POST creates (201), then merges (200 merged)", async () => {
        const created = await call(api, "POST", "/v1/decisions", { key: admin, body: ban });
        assert.equal(created.status, 201);
        const d = bodyOf(created, ADDED);
        assert.equal(d.merged, false);
        assert.equal(d.decision.value, "203.0.113.9");
        assert.equal(d.decision.until, "2024-09-28T16:00:00+00:00");
        assert.equal(d.decision.reason, "spam run");
        const again = await call(api, "POST", "/v1/decisions", {
          key: admin,
          body: { ...ban, duration: "1h" },
        });
        assert.equal(again.status, 200);
        assert.equal(bodyOf(again, ADDED).merged, true);
        assert.equal(bodyOf(again, ADDED).decision.id, d.decision.id);
        // it is stored, not only in memory
        const stored = await runtime.storage.listDecisions({ value: "203.0.113.9" });
        assert.deepEqual(
          stored.map((s) => s.id),
          [d.decision.id],
        );
      });

      test("a decision on an allowlisted address is 422 DECISION_REFUSED with the policy's reason", async () => {
        // IPv4-mapped IPv6, dotted or in hex, is the IPv4 address it maps.
        for (const value of ["127.0.0.1", "10.1.2.3", "::1", "::ffff:7f00:1", "::ffff:a01:203"]) {
          const r = await call(api, "POST", "/v1/decisions", {
            key: admin,
            body: { ...ban, value },
          });
          assertError(r, 422, "DECISION_REFUSED", /allowlisted network/);
        }
        for (const value of ["80.0.0.0/8", "::ffff:0:0/96", "::ffff:c0a8:0/112"]) {
          const wide = await call(api, "POST", "/v1/decisions", {
            key: admin,
            body: { ...ban, scope: "range", value },
          });
          assertError(wide, 422, "DECISION_REFUSED", /wider than the \/16 limit|allowlisted/);
        }
        const check = await call(api, "GET", "/v1/check?ip=192.0.2.1", { key: admin });
        assert.equal(bodyOf(check, CHECK).verdict, "allow", "nothing got through");
        // Longer than a bouncer's Go duration, or a date, can hold: refused, nothing stored.
        const forever = await call(api, "POST", "/v1/decisions", {
          key: admin,
          body: { ...ban, value: "203.0.113.10", duration: "99999999d" },
        });
        assertError(forever, 400, "INPUT_INVALID", /longer than 100 years: write null/);
        const listed = await call(api, "GET", "/v1/decisions", { key: admin });
        assert.equal(listed.status, 200);
      });

      test("AS numbers and domains are stored as the guard matches them", async () => {
        const add = async (scope: string, value: string) =>
          bodyOf(
            await call(api, "POST", "/v1/decisions", {
              key: admin,
              body: { ...ban, scope, value },
            }),
            ADDED,
          ).decision.value;
        assert.equal(await add("as", "AS64496"), "64496");
        assert.equal(await add("as", "as64497"), "64497");
        assert.equal(await add("domain", "Spam.Example.ORG."), "spam.example.org");
        const listed = bodyOf(
          await call(api, "GET", "/v1/decisions?scope=as&value=AS64496", { key: admin }),
          LIST,
        );
        assert.deepEqual(
          listed.decisions.map((d: { value: string }) => d.value),
          ["64496"],
        );
      });

      test("POST validation errors name the member", async () => {
        const bad = async (body: unknown, message: RegExp, status = 400, headers = {}) => {
          assertError(
            await call(api, "POST", "/v1/decisions", { key: admin, body, headers }),
            status,
            "INPUT_INVALID",
            message,
          );
        };
        await bad({ ...ban, duration: "forever" }, /^body\.duration: "forever" is not a duration/);
        await bad({ ...ban, action: "nuke" }, /^body\.action: Invalid option/);
        await bad(
          { ...ban, value: "300.1.1.1" },
          /^body\.value: "300\.1\.1\.1" is not an IP address/,
        );
        await bad({ ...ban, scope: "range", value: "1.2.3.4/99" }, /is not a CIDR range/);
        await bad({ ...ban, scope: "as", value: "ASN-OVH" }, /"ASN-OVH" is not an AS number/);
        await bad({ ...ban, scope: "as", value: "4294967296" }, /is not an AS number/);
        await bad({ ...ban, scope: "domain", value: "a b.example" }, /is not a domain name/);
        await bad({ ...ban, scope: "domain", value: "user@example.org" }, /is not a domain name/);
        const withoutReason: Partial<typeof ban> = { ...ban };
        delete withoutReason.reason;
        await bad(withoutReason, /^body\.reason: is required$/);
        await bad({ ...ban, extra: 1 }, /^body: unknown member "extra"$/);
        await bad("{not json", /^body: is not valid JSON$/);
        await bad(ban, /Content-Type: application\/json/, 415, { "content-type": "text/plain" });
      });

      test("GET lists with filters, active only by default", async () => {
        const first = bodyOf(
          await call(api, "POST", "/v1/decisions", { key: admin, body: ban }),
          ADDED,
        );
        await call(api, "POST", "/v1/decisions", {
          key: admin,
          body: { ...ban, action: "throttle", value: "198.51.100.4" },
        });
        const all = bodyOf(await call(api, "GET", "/v1/decisions", { key: bouncer }), LIST);
        assert.equal(all.decisions.length, 2);
        const throttles = bodyOf(
          await call(api, "GET", "/v1/decisions?action=throttle", { key: bouncer }),
          LIST,
        );
        assert.deepEqual(
          throttles.decisions.map((d: { value: string }) => d.value),
          ["198.51.100.4"],
        );
        // value is normalised like the decisions are
        const byValue = bodyOf(
          await call(api, "GET", "/v1/decisions?scope=ip&value=203.0.113.9&limit=1", {
            key: bouncer,
          }),
          LIST,
        );
        assert.equal(byValue.decisions[0]!.id, first.decision.id);

        runtime.clock.advance(runtime.clock.now() + 5 * 3_600_000);
        assert.equal(
          bodyOf(await call(api, "GET", "/v1/decisions", { key: bouncer }), LIST).decisions.length,
          0,
        );
        assert.equal(
          bodyOf(await call(api, "GET", "/v1/decisions?active=false", { key: bouncer }), LIST)
            .decisions.length,
          2,
        );
      });

      test("GET validation errors", async () => {
        for (const [q, m] of [
          ["limit=0", /^query\.limit: must be at least 1$/],
          ["limit=5000", /^query\.limit: must be at most 1000$/],
          ["limit=ten", /^query\.limit: "ten" is not a whole number$/],
          ["scope=planet", /^query\.scope: "planet" is not one of/],
          ["active=yes", /^query\.active: Invalid option/],
        ] as const)
          assertError(
            await call(api, "GET", `/v1/decisions?${q}`, { key: bouncer }),
            400,
            "INPUT_INVALID",
            m,
          );
      });

      test("DELETE ends a decision (204), then 404; a bad id is 400", async () => {
        const d = bodyOf(
          await call(api, "POST", "/v1/decisions", { key: admin, body: ban }),
          ADDED,
        );
        const id = d.decision.id;
        const del = await call(api, "DELETE", `/v1/decisions/${id}`, { key: admin });
        assert.equal(del.status, 204);
        assert.equal(del.body, undefined);
        assert.equal(
          bodyOf(await call(api, "GET", "/v1/check?ip=203.0.113.9", { key: sensor }), CHECK)
            .verdict,
          "allow",
        );
        assert.equal(
          (await runtime.storage.listDecisions({ activeAt: runtime.clock.now() })).length,
          0,
        );
        assertError(
          await call(api, "DELETE", `/v1/decisions/${id}`, { key: admin }),
          404,
          "NOT_FOUND",
        );
        assertError(
          await call(api, "DELETE", "/v1/decisions/a%20b", { key: admin }),
          400,
          "INPUT_INVALID",
          /^params\.id: is not a decision id$/,
        );
      });
    });

    describe("POST /v1/events", () => {
      test("ingests an array, and detection really runs: alerts and decisions follow", async () => {
        const events = [1, 2, 3].map((i) =>
          event(`e${i}`, "203.0.113.50", "form.submit", `2024-09-28T12:00:0${i}Z`),
        );
        const r = await call(api, "POST", "/v1/events", { key: sensor, body: events });
        assert.equal(r.status, 202);
        assert.deepEqual(bodyOf(r, ACCEPTED), { accepted: 3, duplicates: 0 });
        assert.equal(runtime.counters().events, 3);
        const check = bodyOf(
          await call(api, "GET", "/v1/check?ip=203.0.113.50", { key: sensor }),
          CHECK,
        );
        assert.equal(check.verdict, "challenge");
        assert.equal(check.decisions[0]!.scenario, "form-flood");
        const alerts = bodyOf(
          await call(api, "GET", "/v1/alerts?scenario=form-flood", { key: admin }),
          ALERTS,
        );
        assert.equal(alerts.alerts.length, 1);
        assert.equal(alerts.alerts[0]!.value, "203.0.113.50");
        assert.deepEqual(alerts.alerts[0]!.decisions, [check.decisions[0]!.id]);
        assert.match(alerts.alerts[0]!.evidence[0]!.time, /^2024-09-28T12:00:0\dZ?|\+00:00$/);
      });

      test("accepts { events: [...] }", async () => {
        const r = await call(api, "POST", "/v1/events", {
          key: sensor,
          body: { events: [event("a", "198.51.100.1", "signup")] },
        });
        assert.equal(r.status, 202);
        assert.deepEqual(bodyOf(r, ACCEPTED), { accepted: 1, duplicates: 0 });
        assert.deepEqual(runtime.counters().eventsByType, { signup: 1 });
      });

      test("a retried request counts its events once: their ids are remembered", async () => {
        const events = [1, 2, 3].map((i) => event(`r${i}`, "203.0.113.80", "form.submit"));
        const first = await call(api, "POST", "/v1/events", { key: sensor, body: events });
        assert.deepEqual(bodyOf(first, ACCEPTED), { accepted: 3, duplicates: 0 });
        const retry = await call(api, "POST", "/v1/events", {
          key: sensor,
          body: [...events, event("r4", "203.0.113.80", "form.submit")],
        });
        assert.deepEqual(bodyOf(retry, ACCEPTED), { accepted: 1, duplicates: 3 });
        assert.equal(runtime.counters().events, 4);

        // A request that failed took nothing: its retry is taken whole.
        let down = true;
        const flaky = createApi(
          {
            ...runtime,
            ingest: (e) => (down ? Promise.reject(new Error("storage down")) : runtime.ingest(e)),
          },
          { logError: () => undefined },
        );
        const later = [event("f1", "203.0.113.81", "form.submit")];
        assert.equal(
          (await call(flaky, "POST", "/v1/events", { key: sensor, body: later })).status,
          500,
        );
        down = false;
        const again = await call(flaky, "POST", "/v1/events", { key: sensor, body: later });
        assert.deepEqual(bodyOf(again, ACCEPTED), { accepted: 1, duplicates: 0 });
      });

      test("all or nothing: one bad event and none is ingested; the first few are listed", async () => {
        const events = [
          event("ok1", "198.51.100.1"),
          event("bad1", "not-an-ip"),
          { id: "bad2", type: "form.submit" },
          event("ok2", "198.51.100.2"),
          ...Array.from({ length: 8 }, () => 42),
        ];
        const r = await call(api, "POST", "/v1/events", { key: sensor, body: { events } });
        assertError(r, 400, "INPUT_INVALID");
        const { message } = ErrorView.parse(raw(r));
        assert.match(message, /^10 of 12 events are invalid, none was ingested: /);
        assert.match(message, /body\.events\[1\]: source\.ip is not an IP address/);
        assert.match(message, /body\.events\[2\]: time must be/);
        assert.match(message, /body\.events\[4\]: the event must be a JSON object/);
        assert.match(message, /; and 5 more$/);
        assert.equal(runtime.counters().events, 0);
      });

      test("more than 1,000 events, or a body of the wrong shape, is 400", async () => {
        const many = Array.from({ length: 1001 }, (_, i) => event(`e${i}`, "198.51.100.1"));
        assertError(
          await call(api, "POST", "/v1/events", { key: sensor, body: many }),
          400,
          "INPUT_INVALID",
          /^body: at most 1000 events per request$/,
        );
        assertError(
          await call(api, "POST", "/v1/events", { key: sensor, body: '"hello"' }),
          400,
          "INPUT_INVALID",
          /^body: expected array or object$/,
        );
        assertError(
          await call(api, "POST", "/v1/events", { key: sensor, body: { events: 3 } }),
          400,
          "INPUT_INVALID",
          /^body\.events: Invalid input: expected array/,
        );
        assertError(
          await call(api, "POST", "/v1/events", {
            key: sensor,
            body: event("alone", "198.51.100.1"),
          }),
          400,
          "INPUT_INVALID",
          /^body\.events: is required: the body is an array of events, or \{"events": \[\.\.\.\]\}/,
        );
        assert.equal(runtime.counters().events, 0);
      });
    });

    describe("GET /v1/alerts", () => {
      beforeEach(async () => {
        const events = [1, 2, 3].map((i) =>
          event(`e${i}`, "203.0.113.60", "form.submit", `2024-09-28T11:00:0${i}Z`),
        );
        assert.equal(
          (await call(api, "POST", "/v1/events", { key: sensor, body: events })).status,
          202,
        );
      });

      test("since takes an ISO time or a duration ago", async () => {
        const list = async (q: string) =>
          bodyOf(await call(api, "GET", `/v1/alerts?${q}`, { key: admin }), ALERTS).alerts.length;
        assert.equal(await list("since=2h"), 1);
        assert.equal(await list("since=30m"), 0);
        assert.equal(await list("since=2024-09-28T10:00:00Z"), 1);
        assert.equal(await list("since=2024-09-28T11:30:00%2B00:00"), 0);
        assert.equal(await list("scenario=other"), 0);
        assert.equal(await list("limit=1"), 1);
      });

      test("validation errors", async () => {
        assertError(
          await call(api, "GET", "/v1/alerts?since=yesterday", { key: admin }),
          400,
          "INPUT_INVALID",
          /^query\.since: "yesterday" is neither an ISO 8601 time nor a duration/,
        );
      });
    });

    describe("GET /v1/openapi.json", () => {
      test("is JSON, OpenAPI 3.1, and lists every route with its parameters", async () => {
        const r = await call(api, "GET", "/v1/openapi.json");
        assert.equal(r.status, 200);
        const doc = raw(r) as OpenApiDoc;
        assert.equal(doc.openapi, "3.1.0");
        assert.equal(doc.info.version, "9.9.9");
        for (const [name, spec] of Object.entries(ROUTES)) {
          const op = doc.paths[spec.path.replace(/:(\w+)/g, "{$1}")]?.[spec.method.toLowerCase()];
          assert.ok(op, `${spec.method} ${spec.path} missing`);
          assert.equal(op.operationId, name);
          assert.ok(Object.keys(op.responses).length > 0);
        }
        const check = doc.paths["/v1/check"]!.get!;
        assert.deepEqual(
          check.parameters.map((p) => p.name),
          ["ip", "account", "email"],
        );
        assert.deepEqual(check.security, [{ bearer: [] }, { apiKey: [] }]);
        assert.deepEqual(doc.paths["/v1/health"]!.get!.security, []);
        assert.equal(doc.paths["/v1/decisions/{id}"]!.delete!.parameters[0]!.in, "path");
        // every $ref points at a schema that exists
        const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
        assert.ok(refs.length > 5);
        for (const ref of refs) {
          const id = ref.slice(ref.lastIndexOf("/") + 1, -1);
          assert.ok(doc.components.schemas[id], `${ref} resolves`);
        }
      });
    });

    describe("GET /metrics", () => {
      test("Prometheus text with the runtime's counters and process metrics", async () => {
        const events = [1, 2, 3].map((i) =>
          event(`e${i}`, "203.0.113.70", "form.submit", `2024-09-28T12:00:0${i}Z`),
        );
        await call(api, "POST", "/v1/events", { key: sensor, body: events });
        await call(api, "POST", "/v1/decisions", {
          key: admin,
          body: { action: "ban", scope: "ip", value: "127.0.0.1", duration: "1h", reason: "x" },
        });
        const r = await call(api, "GET", "/metrics");
        assert.equal(r.status, 200);
        assert.match(r.headers["content-type"] ?? "", /^text\/plain/);
        const text = String(r.body);
        for (const line of [
          'rempart_events_total{type="form.submit"} 3',
          "rempart_alerts_total 1",
          // The scenario's decision, and the manual one the policy refused (127.0.0.1).
          "rempart_decisions_created_total 1",
          "rempart_decisions_refused_total 1",
          "rempart_active_decisions 1",
          "rempart_parse_failures_total 0",
          "rempart_lines_read_total 0",
          'rempart_detection_keys{scenario="form-flood"} 1',
          'rempart_http_requests_total{route="ingestEvents",status="202"} 1',
          'rempart_http_requests_total{route="addDecision",status="422"} 1',
        ])
          assert.ok(text.includes(`\n${line}\n`), `missing ${line} in\n${text.slice(-600)}`);
        assert.match(text, /\nrempart_process_cpu_user_seconds_total \d/);
        assert.match(text, /# TYPE rempart_events_total counter/);
      });

      test("metricsRequireKey asks for a key (any role)", async () => {
        const locked = createApi(runtime, { metricsRequireKey: true });
        assertError(await call(locked, "GET", "/metrics"), 401, "UNAUTHORIZED");
        assert.equal((await call(locked, "GET", "/metrics", { key: bouncer })).status, 200);
        const doc = raw(await call(locked, "GET", "/v1/openapi.json")) as OpenApiDoc;
        assert.deepEqual(doc.paths["/metrics"]!.get!.security, [{ bearer: [] }, { apiKey: [] }]);
      });
    });

    describe("key cache", () => {
      test("a verified key is not looked up again until the cache entry expires", async () => {
        const storage = runtime.storage;
        const counting = {
          ...runtime,
          storage: {
            ...storage,
            findApiKey: (id: string) => {
              lookups++;
              return storage.findApiKey(id);
            },
          },
        };
        let lookups = 0;
        let now = 1_000;
        const cached = createApi(counting, { keyCache: { cacheTtlMs: 60_000, now: () => now } });
        for (let i = 0; i < 5; i++)
          assert.equal(
            (await call(cached, "GET", "/v1/check?ip=203.0.113.7", { key: sensor })).status,
            200,
          );
        assert.equal(lookups, 1);
        // a key deleted in the database stops working once its cache entry expires
        await storage.deleteApiKey(sensor.slice(4, 16));
        assert.equal(
          (await call(cached, "GET", "/v1/check?ip=203.0.113.7", { key: sensor })).status,
          200,
        );
        now += 60_001;
        assertError(
          await call(cached, "GET", "/v1/check?ip=203.0.113.7", { key: sensor }),
          401,
          "UNAUTHORIZED",
        );
        assert.equal(lookups, 2);
      });
    });
  });
