// Against a fake of the guard's HTTP contract on 127.0.0.1 (test/support/fake-guard-api.ts),
// not the real daemon: test/e2e/guard-chromium.test.ts runs the client against that.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import {
  FAKE_CHALLENGE,
  FAKE_KEY,
  startFakeGuardApi,
  type FakeGuardApi,
} from "../../../test/support/fake-guard-api.ts";
import { RempartGuard, RempartGuardError, UNAVAILABLE_REASON } from "./index.ts";

/** A port on loopback where nothing listens. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A client whose fetch answers `answer` to every request, and the URLs it was asked. */
function answering(url: string, answer: unknown): { guard: RempartGuard; seen: string[] } {
  const seen: string[] = [];
  const guard = new RempartGuard({
    url,
    key: "k",
    fetch: (input) => {
      seen.push(input instanceof Request ? input.url : input.toString());
      return Promise.resolve(new Response(JSON.stringify(answer)));
    },
  });
  return { guard, seen };
}

describe("RempartGuard against a fake of the contract", () => {
  let api: FakeGuardApi;
  before(async () => (api = await startFakeGuardApi()));
  after(() => api.close());
  beforeEach(() => {
    api.requests.length = 0;
    api.delayMs = 0;
    api.failWith = undefined;
  });

  it("assess sends the contract's body with the key, and returns the verdict", async () => {
    const guard = new RempartGuard({ url: api.url, key: FAKE_KEY });
    const a = await guard.assess({
      id: "sig-1",
      form: "petition",
      ip: "203.0.113.7",
      email: "a@example.org",
      userAgent: "UA",
      fields: { name: "Ada", hp_website: "" },
      token: "tok.petition",
      altcha: "cGF5bG9hZA==",
    });
    assert.deepEqual(a, { id: "sig-1", verdict: "allow", score: 0.1, reasons: [] });
    assert.equal(api.requests.length, 1);
    const r = api.requests[0]!;
    assert.equal(r.method, "POST");
    assert.equal(r.path, "/v1/guard/assess");
    assert.equal(r.headers.authorization, `Bearer ${FAKE_KEY}`);
    assert.deepEqual(r.body, {
      id: "sig-1",
      kind: "form.submit",
      form: "petition",
      ip: "203.0.113.7",
      email: "a@example.org",
      user_agent: "UA",
      fields: { name: "Ada", hp_website: "" },
      token: "tok.petition",
      altcha: "cGF5bG9hZA==",
    });
  });

  it("assess leaves out an empty token and payload, and passes a challenge through", async () => {
    const guard = new RempartGuard({ url: api.url, key: FAKE_KEY });
    const a = await guard.assess({ kind: "signup", form: "signup", ip: "192.0.2.1", token: "" });
    assert.equal(a.verdict, "challenge");
    assert.deepEqual(a.challenge, FAKE_CHALLENGE);
    const body = api.requests[0]!.body as Record<string, unknown>;
    assert.equal(body.kind, "signup");
    assert.equal("token" in body, false);
    assert.equal("altcha" in body, false);
    assert.equal(typeof body.id, "string");
  });

  it("token maps the answer to camelCase", async () => {
    const guard = new RempartGuard({ url: api.url, key: FAKE_KEY });
    assert.deepEqual(await guard.token("pétition 1"), {
      token: "tok.pétition 1",
      honeypot: "hp_website",
      minFillMs: 1500,
    });
  });

  it("event posts one event in the JSON events shape, with an id and a time", async () => {
    const guard = new RempartGuard({ url: api.url, key: FAKE_KEY });
    const ok = await guard.event({
      type: "email.confirmed",
      time: new Date(Date.UTC(2020, 10, 18, 15, 5)),
      actor: { account: "u1", email: "a@example.org" },
      source: { ip: "192.0.2.1" },
    });
    assert.equal(ok, true);
    const r = api.requests[0]!;
    assert.equal(r.path, "/v1/events");
    const [ev] = r.body as Record<string, unknown>[];
    assert.equal(ev?.type, "email.confirmed");
    assert.equal(ev?.time, "2020-11-18T15:05:00.000Z");
    assert.deepEqual(ev?.actor, { account: "u1", email: "a@example.org" });
    assert.equal(typeof ev?.id, "string");
  });

  it("account answers the state, or undefined for an unknown account", async () => {
    const guard = new RempartGuard({ url: api.url, key: FAKE_KEY });
    assert.equal((await guard.account("u/1"))?.id, "u/1");
    assert.equal(api.requests[0]!.path, "/v1/accounts/u%2F1");
    assert.equal(await guard.account("unknown"), undefined);
  });

  it("challenge relays the browser's address in X-Forwarded-For", async () => {
    const guard = new RempartGuard({ url: api.url, key: FAKE_KEY });
    const c = await guard.challenge("petition", "198.51.100.4");
    assert.equal(c.form, "petition");
    assert.equal(api.requests[0]!.headers["x-forwarded-for"], "198.51.100.4");
  });

  it("fails open on a timeout, then throws when failOpen is false", async () => {
    api.delayMs = 300;
    const open = new RempartGuard({ url: api.url, key: FAKE_KEY, timeoutMs: 50 });
    const started = performance.now();
    const a = await open.assess({ id: "x", form: "petition", ip: "192.0.2.1" });
    assert.ok(performance.now() - started < 250, "waited past the timeout");
    assert.deepEqual(a, { id: "x", verdict: "allow", score: 0, reasons: [UNAVAILABLE_REASON] });
    assert.deepEqual(await open.token("petition"), { token: "", honeypot: "", minFillMs: 0 });
    assert.equal(await open.event({ type: "payment.failed" }), false);

    const closed = new RempartGuard({
      url: api.url,
      key: FAKE_KEY,
      timeoutMs: 50,
      failOpen: false,
    });
    await assert.rejects(closed.assess({ form: "petition", ip: "192.0.2.1" }), (e: unknown) => {
      assert.ok(e instanceof RempartGuardError);
      assert.equal(e.kind, "unavailable");
      assert.match(e.message, /no answer within 50 ms/);
      return true;
    });
  });

  it("fails open on a 5xx and on a refused connection", async () => {
    api.failWith = 503;
    const guard = new RempartGuard({ url: api.url, key: FAKE_KEY });
    assert.equal((await guard.assess({ form: "f", ip: "192.0.2.1" })).verdict, "allow");
    const nowhere = new RempartGuard({ url: `http://127.0.0.1:${await closedPort()}`, key: "k" });
    assert.deepEqual((await nowhere.assess({ form: "f", ip: "192.0.2.1" })).reasons, [
      UNAVAILABLE_REASON,
    ]);
    const strict = new RempartGuard({ url: api.url, key: FAKE_KEY, failOpen: false });
    await assert.rejects(strict.assess({ form: "f", ip: "192.0.2.1" }), {
      kind: "unavailable",
      status: 503,
      code: "INTERNAL",
    });
  });

  it("never fails open on the caller's own mistakes: a bad key, an invalid body", async () => {
    const badKey = new RempartGuard({ url: api.url, key: "rmp_wrong" });
    await assert.rejects(badKey.assess({ form: "f", ip: "192.0.2.1" }), {
      kind: "refused",
      status: 401,
      code: "UNAUTHORIZED",
    });
    const guard = new RempartGuard({ url: api.url, key: FAKE_KEY });
    await assert.rejects(guard.assess({ form: "f", ip: undefined as unknown as string }), {
      kind: "refused",
      status: 400,
    });
  });

  it("rejects an answer that is not the contract's", async () => {
    const rules = api.verdictFor;
    api.verdictFor = () => "maybe";
    try {
      const guard = new RempartGuard({ url: api.url, key: FAKE_KEY });
      await assert.rejects(guard.assess({ form: "f", ip: "192.0.2.1", token: "t" }), {
        kind: "invalid-answer",
      });
    } finally {
      api.verdictFor = rules;
    }
  });

  it("throws on a success that is not JSON (a wrong URL), whatever failOpen says", async () => {
    const html = () => Promise.resolve(new Response("<html>proxy</html>", { status: 200 }));
    const guard = new RempartGuard({ url: "http://127.0.0.1:9/", key: "k", fetch: html });
    await assert.rejects(guard.assess({ form: "f", ip: "192.0.2.1" }), {
      kind: "invalid-answer",
      status: 200,
    });
    await assert.rejects(guard.event({ type: "signup", account: "a" }), { kind: "invalid-answer" });
    await assert.rejects(guard.token("f"), { kind: "invalid-answer" });
  });

  it("token names the form's fields for the honeypot to avoid", async () => {
    const { guard, seen } = answering("http://127.0.0.1:9/", {
      token: "t",
      honeypot: "fax",
      min_fill_ms: 0,
    });
    await guard.token("petition", { fields: ["name", "e mail"] });
    await guard.token("petition");
    assert.deepEqual(seen, [
      "http://127.0.0.1:9/v1/guard/token?form=petition&fields=name%2Ce%20mail",
      "http://127.0.0.1:9/v1/guard/token?form=petition",
    ]);
  });

  it("makes ids without the global crypto, as on Node 18", async () => {
    const kept = Object.getOwnPropertyDescriptor(globalThis, "crypto")!;
    Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true });
    try {
      const guard = new RempartGuard({ url: api.url, key: FAKE_KEY });
      await guard.assess({ form: "petition", ip: "192.0.2.1", token: "tok.petition" });
      await guard.event({ type: "signup", actor: { account: "a" } });
    } finally {
      Object.defineProperty(globalThis, "crypto", kept);
    }
    const ids = api.requests.map((r) => {
      const body = r.body as { id?: string } | { id?: string }[];
      return Array.isArray(body) ? body[0]?.id : body.id;
    });
    assert.equal(ids.length, 2);
    for (const id of ids) assert.match(id ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/);
  });

  it("keeps a base path of the URL", async () => {
    const { guard, seen } = answering("http://127.0.0.1:9/rempart", {
      id: "i",
      verdict: "deny",
      score: 1,
      reasons: ["tor"],
    });
    assert.equal((await guard.assess({ form: "f", ip: "192.0.2.1" })).verdict, "deny");
    assert.deepEqual(seen, ["http://127.0.0.1:9/rempart/v1/guard/assess"]);
  });
});
