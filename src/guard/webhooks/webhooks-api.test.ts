import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createApi, type Api, type ApiResponse } from "../../http/api.ts";
import { createApiKey } from "../../http/api-keys.ts";
import { AccountView, ErrorView, ROUTES } from "../../http/routes.ts";
import {
  createDaemonRuntime,
  createTestRuntime,
  TEST_START,
  type TestRuntime,
} from "../../http/test-runtime.ts";
import { WebhooksConfigSchema } from "./webhooks-config.ts";

const GC_SECRET = "gc-endpoint-secret-0123456789";
const SHOP_SECRET = "shop-secret-abcdefghijklmnop";
const WEBHOOKS = WebhooksConfigSchema.parse({
  gocardless: { secret: GC_SECRET },
  hmac: {
    shop: { secret: SHOP_SECRET, header: "X-Shop-Signature", timestamp_header: "X-Shop-Time" },
    legacy: { secret: SHOP_SECRET, encoding: "base64", prefix: "sha256=" },
  },
});
const SUMMARY = ROUTES.gocardlessWebhook.responses[200].schema;

const hexMac = (secret: string, ...parts: string[]) =>
  createHmac("sha256", secret).update(parts.join("")).digest("hex");

async function post(
  api: Api,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  return api.handle({
    method: "POST",
    path,
    headers: { "content-type": "application/json", ...headers },
    body: Buffer.from(body),
  });
}

const raw = (r: ApiResponse): unknown => JSON.parse(String(r.body));

function assertError(r: ApiResponse, status: number, code: string, message?: RegExp): void {
  assert.equal(r.status, status, String(r.body));
  const b = ErrorView.strict().parse(raw(r));
  assert.equal(b.code, code);
  if (message) assert.match(b.message, message);
}

/** A GoCardless event as its webhook carries it. */
function gcEvent(
  id: string,
  minute: number,
  resource: string,
  action: string,
  links: Record<string, string>,
  metadata: Record<string, string> = {},
) {
  return {
    id,
    created_at: new Date(TEST_START + minute * 60_000).toISOString(),
    resource_type: resource,
    action,
    links,
    details: { origin: "gocardless", cause: `${action}_cause`, description: "…" },
    metadata: {},
    resource_metadata: metadata,
  };
}

/** Pretty-printed, as GoCardless sends it: the signature covers these exact bytes. */
const gcBody = (...events: unknown[]) => JSON.stringify({ events }, null, 2);

for (const [label, make] of [
  ["test runtime", createTestRuntime],
  ["daemon", createDaemonRuntime],
] as const)
  describe(`accounts and webhooks (${label})`, () => {
    let runtime: TestRuntime;
    let api: Api;
    let admin: string;
    let sensor: string;
    let bouncer: string;

    beforeEach(async () => {
      runtime = await make({
        accounts: { require_payment: true, pending_email_expiry: "7d", verify_limit: 3 },
        webhooks: WEBHOOKS,
      });
      api = createApi(runtime, { logError: (_c, e) => assert.fail(String(e)) });
      const now = runtime.clock.now();
      admin = await createApiKey(runtime.storage, "ops", "admin", now);
      sensor = await createApiKey(runtime.storage, "webapp", "sensor", now);
      bouncer = await createApiKey(runtime.storage, "nginx", "bouncer", now);
    });

    afterEach(() => runtime.close());

    const appEvents = (...events: unknown[]) =>
      post(api, "/v1/events", JSON.stringify(events), { authorization: `Bearer ${sensor}` });

    const signupEvent = (account: string, minute = 0) => ({
      id: `sig-${account}`,
      type: "signup",
      time: new Date(TEST_START + minute * 60_000).toISOString(),
      source: { ip: "203.0.113.7" },
      actor: { account, email: `${account}@example.fi` },
    });
    const confirmedEvent = (account: string, minute = 1) => ({
      ...signupEvent(account, minute),
      id: `conf-${account}`,
      type: "email.confirmed",
    });

    async function account(id: string, key = sensor) {
      const r = await api.handle({
        method: "GET",
        path: `/v1/accounts/${encodeURIComponent(id)}`,
        headers: { authorization: `Bearer ${key}` },
      });
      assert.equal(r.status, 200, String(r.body));
      return AccountView.parse(raw(r));
    }

    const gocardless = (body: string, signature = hexMac(GC_SECRET, body)) =>
      post(api, "/v1/webhooks/gocardless", body, {
        "webhook-signature": signature,
        "user-agent": "gocardless-webhook-service/1.1",
      });

    test("a GoCardless payment takes a signed-up, confirmed account to active", async () => {
      assert.equal((await appEvents(signupEvent("mika"), confirmedEvent("mika"))).status, 202);
      assert.equal((await account("mika")).state, "email_verified");

      const mandate = gcEvent(
        "EV1",
        2,
        "mandates",
        "created",
        { mandate: "MD1", customer: "CU1" },
        {
          account: "mika",
        },
      );
      const r1 = await gocardless(gcBody(mandate));
      assert.equal(r1.status, 200, String(r1.body));
      assert.deepEqual(SUMMARY.parse(raw(r1)), {
        received: 1,
        ingested: 1,
        duplicates: 0,
        unmapped: 0,
        tied: 0,
      });
      assert.equal((await account("mika")).state, "pending_payment");

      // Later events carry no metadata: the mandate seen above ties them to the account.
      const paid = gcEvent("EV3", 4, "payments", "confirmed", { payment: "PM1", mandate: "MD1" });
      const paidOut = gcEvent("EV4", 5, "payments", "paid_out", { payment: "PM1" });
      assert.equal((await gocardless(gcBody(paid, paidOut))).status, 200);
      const a = await account("mika");
      assert.equal(a.state, "active");
      assert.equal(
        a.since,
        new Date(TEST_START + 4 * 60_000).toISOString().replace(".000Z", "+00:00"),
      );
      const applied = a.history.find((h) => h.event === "gocardless:EV3");
      assert.deepEqual(
        [applied?.cause, applied?.from, applied?.to, applied?.by],
        ["payment.confirmed", "pending_payment", "active", "gocardless"],
      );

      // An earlier status delivered late changes nothing, and says so.
      const submitted = gcEvent("EV2", 3, "payments", "submitted", { payment: "PM1" });
      assert.equal((await gocardless(gcBody(submitted))).status, 200);
      const after = await account("mika");
      assert.equal(after.state, "active");
      assert.deepEqual(
        [after.history[0]?.event, after.history[0]?.outcome],
        ["gocardless:EV2", "ignored"],
      );
      assert.match(
        after.history[0]?.reason ?? "",
        /no transition from pending_payment .*in its place/,
      );
    });

    test("a fake bank account's charge-back suspends the account", async () => {
      await appEvents(signupEvent("fake"), confirmedEvent("fake"));
      const meta = { account: "fake" };
      await gocardless(
        gcBody(
          gcEvent("EV10", 2, "payments", "submitted", { payment: "PM9", mandate: "MD9" }, meta),
          gcEvent("EV11", 3, "payments", "confirmed", { payment: "PM9" }, meta),
          gcEvent("EV12", 9, "payments", "charged_back", { payment: "PM9" }, meta),
        ),
      );
      const a = await account("fake");
      assert.equal(a.state, "suspended");
      assert.equal(a.resume, "active");
    });

    test("a bad or missing signature is 498, and nothing is taken", async () => {
      await appEvents(signupEvent("nora"), confirmedEvent("nora"));
      const body = gcBody(
        gcEvent("EV20", 2, "payments", "confirmed", { payment: "PM2" }, { account: "nora" }),
      );
      const forged = hexMac("not-the-secret-at-all", body);
      for (const r of [
        await gocardless(body, forged),
        await gocardless(body, hexMac(GC_SECRET, JSON.stringify(JSON.parse(body)))),
        await gocardless(body, `${hexMac(GC_SECRET, body)}00`),
        await gocardless(body, "zz"),
        await post(api, "/v1/webhooks/gocardless", body),
      ])
        assertError(r, 498, "WEBHOOK_SIGNATURE_INVALID", /Webhook-Signature/);
      assert.equal((await account("nora")).state, "email_verified");
      // The same events, signed right, are still taken: a refusal did not mark them as seen.
      assert.equal((await gocardless(body)).status, 200);
      assert.equal((await account("nora")).state, "active");
    });

    test("a redelivery answers 200 without applying anything twice", async () => {
      await appEvents(signupEvent("olga"), confirmedEvent("olga"));
      const body = gcBody(
        gcEvent("EV30", 2, "mandates", "active", { mandate: "MD3" }, { account: "olga" }),
        gcEvent("EV31", 3, "payments", "failed", { payment: "PM3", mandate: "MD3" }),
      );
      assert.equal((await gocardless(body)).status, 200);
      const before = await account("olga");
      assert.equal(before.state, "restricted");
      const again = await gocardless(body);
      assert.equal(again.status, 200);
      assert.deepEqual(SUMMARY.parse(raw(again)), {
        received: 2,
        ingested: 0,
        duplicates: 2,
        unmapped: 0,
        tied: 0,
      });
      assert.deepEqual(await account("olga"), before);
    });

    test("a payment's confirmation delivered before the event that ties it still clears it", async () => {
      await appEvents(signupEvent("max"), confirmedEvent("max"));
      const meta = { account: "max" };
      await gocardless(gcBody(gcEvent("EV50", 2, "mandates", "created", { mandate: "MDX" }, meta)));
      assert.equal((await account("max")).state, "pending_payment");
      // In one request, the confirmation (which links only its payment) comes first.
      const confirmed = gcEvent("EV52", 4, "payments", "confirmed", { payment: "PMX" });
      const created = gcEvent("EV51", 3, "payments", "created", { payment: "PMX", mandate: "MDX" });
      const r = await gocardless(gcBody(confirmed, created));
      assert.deepEqual(SUMMARY.parse(raw(r)), {
        received: 2,
        ingested: 2,
        duplicates: 0,
        unmapped: 0,
        tied: 1,
      });
      const a = await account("max");
      assert.equal(a.state, "active");
      assert.equal(a.history.find((h) => h.event === "gocardless:EV52")?.to, "active");
      // A redelivery of both changes nothing.
      const again = SUMMARY.parse(raw(await gocardless(gcBody(confirmed, created))));
      assert.deepEqual([again.duplicates, again.tied], [2, 0]);
    });

    test("a kept event is applied when a later request ties it, through a chain of links", async () => {
      await appEvents(signupEvent("mia"), confirmedEvent("mia"));
      // The payment's and the mandate's events come before anything names the account.
      const paid = gcEvent("EV61", 5, "payments", "confirmed", { payment: "PM6" });
      const created = gcEvent("EV62", 4, "payments", "created", { payment: "PM6", mandate: "MD6" });
      const r1 = SUMMARY.parse(raw(await gocardless(gcBody(paid))));
      const r2 = SUMMARY.parse(raw(await gocardless(gcBody(created))));
      assert.deepEqual([r1.unmapped, r1.tied, r2.unmapped, r2.tied], [1, 0, 1, 0]);
      assert.equal((await account("mia")).state, "email_verified");
      // The mandate's creation names the account: it ties the payment's creation (by the
      // mandate), and that ties the confirmation (by the payment).
      const mandate = gcEvent(
        "EV60",
        3,
        "mandates",
        "created",
        { mandate: "MD6" },
        { account: "mia" },
      );
      const r3 = SUMMARY.parse(raw(await gocardless(gcBody(mandate))));
      assert.deepEqual([r3.unmapped, r3.tied], [0, 2]);
      const a = await account("mia");
      assert.equal(a.state, "active");
      assert.deepEqual(
        a.history
          .filter((h) => h.event.startsWith("gocardless:"))
          .map((h) => h.event)
          .sort(),
        ["gocardless:EV60", "gocardless:EV61", "gocardless:EV62"],
      );
      // Applied once: nothing is kept any more.
      assert.deepEqual(
        await runtime.storage.pendingWebhookEvents("gocardless", "payment", "PM6"),
        [],
      );
    });

    test("an event tied to no account is taken and counted as unmapped", async () => {
      const r = await gocardless(gcBody(gcEvent("EV40", 1, "payouts", "paid", { payout: "PO1" })));
      assert.deepEqual(SUMMARY.parse(raw(r)), {
        received: 1,
        ingested: 1,
        duplicates: 0,
        unmapped: 1,
        tied: 0,
      });
      const bad = await gocardless('{"events": [{"id": "EV41"}]}');
      assertError(bad, 400, "INPUT_INVALID", /events\[0\]/);
    });

    test("the generic webhook takes signed application events, within its time tolerance", async () => {
      const now = Math.floor(runtime.clock.now() / 1000);
      const body = JSON.stringify({ events: [signupEvent("pia")] });
      const signed = (stamp: number, text = body) => ({
        "x-shop-time": String(stamp),
        "x-shop-signature": hexMac(SHOP_SECRET, `${stamp}.`, text),
      });
      const r = await post(api, "/v1/webhooks/hmac/shop", body, signed(now));
      assert.equal(r.status, 200, String(r.body));
      assert.equal((await account("pia")).state, "pending_email");
      const again = await post(api, "/v1/webhooks/hmac/shop", body, signed(now));
      assert.equal(SUMMARY.parse(raw(again)).duplicates, 1);

      assertError(
        await post(api, "/v1/webhooks/hmac/shop", body, signed(now - 301)),
        401,
        "WEBHOOK_SIGNATURE_INVALID",
        /more than 5m away/,
      );
      const replayed = { ...signed(now - 10), "x-shop-time": String(now) };
      assertError(
        await post(api, "/v1/webhooks/hmac/shop", body, replayed),
        401,
        "WEBHOOK_SIGNATURE_INVALID",
      );
      assertError(
        await post(api, "/v1/webhooks/hmac/shop", body, { "x-shop-signature": "00" }),
        401,
        "WEBHOOK_SIGNATURE_INVALID",
        /the X-Shop-Time header is missing/,
      );
      assertError(
        await post(api, "/v1/webhooks/hmac/shop", body, { ...signed(now), "x-shop-time": "soon" }),
        401,
        "WEBHOOK_SIGNATURE_INVALID",
        /the X-Shop-Time header must be a time in seconds/,
      );
      const notArray = JSON.stringify({ events: "x" });
      assertError(
        await post(api, "/v1/webhooks/hmac/shop", notArray, signed(now, notArray)),
        400,
        "INPUT_INVALID",
        /body\.events: must be an array of events/,
      );

      const one = JSON.stringify(confirmedEvent("pia"));
      const b64 = createHmac("sha256", SHOP_SECRET).update(one).digest("base64");
      const legacy = await post(api, "/v1/webhooks/hmac/legacy", one, {
        "x-signature": `sha256=${b64}`,
      });
      assert.equal(legacy.status, 200, String(legacy.body));
      assert.equal((await account("pia")).state, "email_verified");
      assertError(
        await post(api, "/v1/webhooks/hmac/legacy", one, { "x-signature": b64 }),
        401,
        "WEBHOOK_SIGNATURE_INVALID",
        /sha256=/,
      );

      const broken = JSON.stringify([{ id: "x", type: "signup" }]);
      const signedBroken = `sha256=${createHmac("sha256", SHOP_SECRET).update(broken).digest("base64")}`;
      assertError(
        await post(api, "/v1/webhooks/hmac/legacy", broken, { "x-signature": signedBroken }),
        400,
        "INPUT_INVALID",
        /body\[0\]: time/,
      );
      assertError(await post(api, "/v1/webhooks/hmac/nope", body, signed(now)), 404, "NOT_FOUND");

      // As many events as POST /v1/events takes, and no more.
      const many = JSON.stringify(
        Array.from({ length: 1001 }, (_, i) => ({ ...signupEvent(`m${i}`), id: `many-${i}` })),
      );
      const signedMany = `sha256=${createHmac("sha256", SHOP_SECRET).update(many).digest("base64")}`;
      assertError(
        await post(api, "/v1/webhooks/hmac/legacy", many, { "x-signature": signedMany }),
        400,
        "INPUT_INVALID",
        /at most 1000 events per request/,
      );
    });

    test("operators review, restore and ban accounts; what has no rule is 409 and recorded", async () => {
      await appEvents(signupEvent("quin"), confirmedEvent("quin"));
      const act = (action: string, key = admin, reason = "checked the payer") =>
        post(api, "/v1/accounts/quin/actions", JSON.stringify({ action, reason }), {
          authorization: `Bearer ${key}`,
        });
      assertError(await act("ban", sensor), 403, "FORBIDDEN");
      const reviewed = await act("review");
      assert.equal(reviewed.status, 200, String(reviewed.body));
      assert.equal(AccountView.parse(raw(reviewed)).state, "under_review");
      const restored = AccountView.parse(raw(await act("restore")));
      assert.equal(restored.state, "email_verified");
      assert.deepEqual(
        [restored.history[0]?.by, restored.history[0]?.cause],
        ["ops", "operator.restore"],
      );
      assertError(
        await act("restore"),
        409,
        "ACCOUNT_TRANSITION_REFUSED",
        /no transition from email_verified/,
      );
      const h = (await account("quin", admin)).history[0];
      assert.deepEqual([h?.outcome, h?.cause], ["ignored", "operator.restore"]);
      assert.equal(AccountView.parse(raw(await act("ban"))).state, "banned");
      assertError(await act("promote"), 400, "INPUT_INVALID");
    });

    test("an action on an account never heard of is 404 and leaves nothing, but a ban names it", async () => {
      const act = (id: string, action: string) =>
        post(api, `/v1/accounts/${id}/actions`, JSON.stringify({ action, reason: "typo?" }), {
          authorization: `Bearer ${admin}`,
        });
      for (const action of ["review", "restore", "close"])
        assertError(await act("bobb", action), 404, "NOT_FOUND", /bobb/);
      const read = await api.handle({
        method: "GET",
        path: "/v1/accounts/bobb",
        headers: { authorization: `Bearer ${sensor}` },
      });
      assertError(read, 404, "NOT_FOUND");
      const banned = AccountView.parse(raw(await act("spammer", "ban")));
      assert.equal(banned.state, "banned");
      assert.notEqual(banned.since, null);
    });

    test("an account heard of only through a payment is unknown, since no time", async () => {
      const payment = {
        id: "pay-ivy",
        type: "payment.confirmed",
        time: new Date(TEST_START).toISOString(),
        actor: { account: "ivy" },
      };
      assert.equal((await appEvents(payment)).status, 202);
      const a = await account("ivy");
      assert.deepEqual([a.state, a.since], ["unknown", null]);
      const long = { ...payment, id: "pay-long", actor: { account: "x".repeat(257) } };
      assertError(await appEvents(long), 400, "INPUT_INVALID", /actor\.account.*256/);
    });

    test("reading accounts needs a sensor or admin key, and a known account", async () => {
      const r = await api.handle({
        method: "GET",
        path: "/v1/accounts/ghost",
        headers: { authorization: `Bearer ${sensor}` },
      });
      assertError(r, 404, "NOT_FOUND", /ghost/);
      const forbidden = await api.handle({
        method: "GET",
        path: "/v1/accounts/ghost",
        headers: { authorization: `Bearer ${bouncer}` },
      });
      assertError(forbidden, 403, "FORBIDDEN");
      await appEvents(signupEvent("rita"));
      const a = await account("rita");
      assert.equal(
        a.expires,
        new Date(TEST_START + 7 * 86_400_000).toISOString().replace(".000Z", "+00:00"),
      );
      runtime.clock.advance(TEST_START + 8 * 86_400_000);
      const expired = await account("rita");
      assert.equal(expired.state, "expired");
      assert.equal(expired.history[0]?.cause, "time.expired");
    });
  });

describe("webhooks not configured", () => {
  test("answer 404 rather than taking unsigned events", async () => {
    const runtime = await createTestRuntime();
    try {
      const api = createApi(runtime);
      const r = await post(api, "/v1/webhooks/gocardless", gcBody(), { "webhook-signature": "00" });
      assertError(r, 404, "NOT_FOUND", /guard\.webhooks/);
    } finally {
      await runtime.close();
    }
  });
});
