import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createApi, type Api } from "./api.ts";
import { TrustedProxies } from "./forward-auth.ts";
import { createTestRuntime, type TestRuntime } from "./test-runtime.ts";

describe("TrustedProxies.clientAddress", () => {
  const proxies = new TrustedProxies(["127.0.0.0/8", "10.0.0.0/8", "2001:db8:ffff::/48"]);

  test("an untrusted peer is the client, whatever its headers say", () => {
    assert.equal(
      proxies.clientAddress("203.0.113.9", { "x-forwarded-for": "192.0.2.1" }),
      "203.0.113.9",
    );
    assert.equal(proxies.clientAddress("::ffff:203.0.113.9", {}), "203.0.113.9");
    assert.equal(
      new TrustedProxies([]).clientAddress("127.0.0.1", { "x-real-ip": "192.0.2.1" }),
      "127.0.0.1",
    );
  });

  test("behind trusted proxies: the rightmost untrusted X-Forwarded-For hop", () => {
    assert.equal(
      proxies.clientAddress("127.0.0.1", {
        "x-forwarded-for": "198.51.100.66, 192.0.2.1, 10.1.2.3",
      }),
      "192.0.2.1",
    );
    assert.equal(
      proxies.clientAddress("127.0.0.1", { "x-forwarded-for": ["192.0.2.1", "10.1.2.3:8080"] }),
      "192.0.2.1",
    );
    assert.equal(
      proxies.clientAddress("127.0.0.1", { "x-forwarded-for": "[2001:db8::5]:443" }),
      "2001:db8::5",
    );
    // all hops trusted: the leftmost
    assert.equal(
      proxies.clientAddress("127.0.0.1", { "x-forwarded-for": "10.0.0.5, 10.0.0.6" }),
      "10.0.0.5",
    );
    // all hops trusted and an X-Real-IP: the proxy's word for the client
    assert.equal(
      proxies.clientAddress("127.0.0.1", {
        "x-forwarded-for": "127.0.0.1",
        "x-real-ip": "198.18.5.7",
      }),
      "198.18.5.7",
    );
    assert.equal(proxies.clientAddress("127.0.0.1", { "x-real-ip": "192.0.2.8" }), "192.0.2.8");
    assert.equal(proxies.clientAddress("127.0.0.1", {}), "127.0.0.1");
    assert.equal(proxies.clientAddress("127.0.0.1", { "x-forwarded-for": "junk" }), undefined);
  });
});

describe("GET /v1/forward-auth", () => {
  let runtime: TestRuntime;
  let api: Api;

  beforeEach(async () => {
    runtime = await createTestRuntime();
    api = createApi(runtime, {
      trustedProxies: ["127.0.0.1/32"],
      challengeUrl: "https://example.org/challenge",
    });
    for (const [action, value] of [
      ["ban", "192.0.2.66"],
      ["challenge", "192.0.2.77"],
      ["throttle", "192.0.2.88"],
    ] as const) {
      const r = await runtime.addDecision({
        action,
        scope: "ip",
        value,
        durationMs: 3_600_000,
        reason: "test",
        author: "test",
      });
      assert.equal(r.kind, "created");
    }
  });
  afterEach(async () => {
    await runtime.close();
  });

  const ask = (client: string, query?: string, peer = "127.0.0.1") =>
    api.handle({
      method: "GET",
      path: "/v1/forward-auth",
      ...(query !== undefined && { query }),
      headers: { "x-forwarded-for": client },
      remoteAddress: peer,
    });

  test("allow 200, ban 403, challenge 401 with the challenge page", async () => {
    const ok = await ask("192.0.2.1");
    assert.equal(ok.status, 200);
    assert.equal(ok.headers["x-rempart-decision"], "allow");
    assert.equal((await ask("192.0.2.66")).status, 403);
    const ch = await ask("192.0.2.77");
    assert.equal(ch.status, 401);
    assert.equal(ch.headers.location, "https://example.org/challenge");
    assert.equal(ch.headers["x-rempart-decision"], "challenge");
    const redirect = await ask("192.0.2.77", "redirect=true");
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.location, "https://example.org/challenge");
    // throttle is not the proxy's business
    assert.equal((await ask("192.0.2.88")).status, 200);
  });

  test("headers from an untrusted peer are ignored", async () => {
    assert.equal((await ask("192.0.2.66", undefined, "203.0.113.1")).status, 200);
    assert.equal((await ask("192.0.2.1", undefined, "192.0.2.66")).status, 403);
  });

  test("needs no key", async () => {
    const r = await api.handle({
      method: "GET",
      path: "/v1/forward-auth",
      remoteAddress: "192.0.2.66",
    });
    assert.equal(r.status, 403);
  });
});
