// `rempart demo` against a fake of the guard's HTTP contract on 127.0.0.1
// (test/support/fake-guard-api.ts): the pages, the outcomes, the relay and the escaping. The
// real daemon and a real browser are in test/e2e/guard-chromium.test.ts.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { RempartGuard } from "../../clients/js/src/index.ts";
import {
  FAKE_KEY,
  startFakeGuardApi,
  type FakeGuardApi,
} from "../../test/support/fake-guard-api.ts";
import { startDemo, type RunningDemo } from "./demo.ts";

const XSS = `<script>alert(1)</script><img src=x onerror="alert(2)">"'`;

describe("rempart demo (against a fake of the guard API)", () => {
  let api: FakeGuardApi;
  let demo: RunningDemo;
  before(async () => {
    api = await startFakeGuardApi();
    demo = await startDemo({
      guard: new RempartGuard({ url: api.url, key: FAKE_KEY }),
      host: "127.0.0.1",
      port: 0,
      trustForwardedFor: true,
    });
  });
  after(async () => {
    await demo.close();
    await api.close();
  });
  beforeEach(() => (api.requests.length = 0));

  const post = (path: string, form: Record<string, string>, headers = {}): Promise<Response> =>
    fetch(`${demo.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(form).toString(),
    });

  const assessed = (): Record<string, unknown> => {
    const r = api.requests.find((q) => q.path === "/v1/guard/assess");
    assert.ok(r, "no assessment was asked");
    return r.body as Record<string, unknown>;
  };

  it("renders the petition with a fresh token, the honeypot and the invisible widget", async () => {
    const res = await fetch(`${demo.url}/petition`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    const page = await res.text();
    assert.match(page, /name="rempart_token" value="tok\.petition"/);
    assert.match(page, /name="hp_website" value="" autocomplete="off" tabindex="-1"/);
    assert.match(
      page,
      /<altcha-widget challenge="\/altcha\/challenge\?form=petition" auto="onload" display="invisible"/,
    );
    assert.match(page, /<script type="module" src="\/altcha.js"><\/script>/);
    assert.deepEqual(
      api.requests.map((r) => r.path),
      ["/v1/guard/token"],
    );
  });

  it("serves the widget's script", async () => {
    const res = await fetch(`${demo.url}/altcha.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /javascript/);
    assert.match(await res.text(), /altcha-widget/);
  });

  it("relays the widget's challenge with the client's address", async () => {
    const res = await fetch(`${demo.url}/altcha/challenge?form=petition`, {
      headers: { "x-forwarded-for": "198.51.100.9, 203.0.113.5" },
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { form: string }).form, "petition");
    assert.equal(api.requests[0]?.headers["x-forwarded-for"], "203.0.113.5");
  });

  it("passes Rempart's refusal of a challenge through, and says when it cannot answer", async () => {
    const ask = () => fetch(`${demo.url}/altcha/challenge?form=petition`);
    try {
      api.failWith = 429;
      const limited = await ask();
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get("retry-after"), "30");
      assert.equal(((await limited.json()) as { code: string }).code, "INTERNAL");
      api.failWith = 400;
      assert.equal((await ask()).status, 400);
      api.failWith = 500;
      const down = await ask();
      assert.equal(down.status, 503);
      assert.match(((await down.json()) as { message: string }).message, /HTTP 500/);
    } finally {
      api.failWith = undefined;
    }
  });

  it("allow: signed, one assessment with the fields and without the password or e-mail in them", async () => {
    const res = await post(
      "/petition",
      {
        name: "Ada Lovelace",
        email: "ada@example.org",
        comment: "yes",
        hp_website: "",
        rempart_token: "tok.petition",
        altcha: "cGF5",
      },
      { "x-forwarded-for": "203.0.113.7", "user-agent": "UA/1" },
    );
    assert.equal(res.status, 200);
    assert.match(
      await res.text(),
      /data-outcome="signed"[\s\S]*Signed\. Thank you, Ada Lovelace\./,
    );
    assert.equal(api.requests.filter((r) => r.path === "/v1/guard/assess").length, 1);
    const { id, ...body } = assessed();
    assert.equal(typeof id, "string");
    assert.deepEqual(body, {
      kind: "form.submit",
      form: "petition",
      ip: "203.0.113.7",
      email: "ada@example.org",
      user_agent: "UA/1",
      fields: { name: "Ada Lovelace", comment: "yes", hp_website: "" },
      token: "tok.petition",
      altcha: "cGF5",
    });
  });

  it("escapes what a signer wrote, on the answer and on the page others see", async () => {
    const res = await post("/petition", {
      name: XSS,
      email: "x@example.org",
      comment: XSS,
      rempart_token: "tok.petition",
    });
    const answer = await res.text();
    const later = await (await fetch(`${demo.url}/petition`)).text();
    for (const page of [answer, later]) {
      assert.doesNotMatch(page, /<script>alert|<img src=x/);
      assert.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt;&lt;img src=x onerror=&quot;/);
    }
  });

  it("escapes the values it puts back in a challenged form", async () => {
    const res = await post("/petition", { name: XSS, email: `a"@x`, comment: `</textarea>${XSS}` });
    const page = await res.text();
    assert.match(page, /data-outcome="challenge"/);
    assert.doesNotMatch(page, /<script>alert|<\/textarea><script|value="a"@x"/);
    assert.match(page, /value="a&quot;@x"/);
  });

  it("challenge: the form again, a fresh token, the harder challenge inline and shown", async () => {
    const res = await post("/petition", { name: "Bot", email: "b@example.org", comment: "" });
    assert.equal(res.status, 200);
    const page = await res.text();
    assert.match(page, /data-outcome="challenge"/);
    assert.match(page, /value="Bot"/);
    assert.match(page, /name="rempart_token" value="tok\.petition"/);
    assert.match(page, /<altcha-widget challenge="\{&quot;parameters&quot;:/);
    assert.match(page, /display="standard"/);
  });

  it("deny: 403, nothing signed", async () => {
    const res = await post("/petition", {
      name: "Jeff Bezos",
      email: "j@example.org",
      comment: "déso pas déso",
      rempart_token: "tok.petition",
    });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /data-outcome="refused"/);
    const later = await (await fetch(`${demo.url}/petition`)).text();
    assert.doesNotMatch(later, /Bezos/);
  });

  it("sign-up verify: check your e-mail; the link reports email.confirmed with the account", async () => {
    const res = await post(
      "/signup",
      { email: "new@verify.test", password: "correct horse", rempart_token: "tok.signup" },
      { "x-forwarded-for": "2001:db8::7" },
    );
    assert.equal(res.status, 202);
    const page = await res.text();
    assert.match(page, /data-outcome="verify"[\s\S]*Check your e-mail/);
    const body = assessed();
    assert.equal(body.kind, "signup");
    assert.equal(body.ip, "2001:db8::7");
    assert.match(String(body.account), /^demo-[0-9a-f]{12}$/);
    assert.doesNotMatch(JSON.stringify(body), /correct horse/);

    const link = /href="(\/confirm\?code=[0-9a-f]+)"/.exec(page)?.[1];
    assert.ok(link !== undefined);
    api.requests.length = 0;
    const confirmed = await fetch(`${demo.url}${link}`);
    assert.equal(confirmed.status, 200);
    assert.match(await confirmed.text(), /Confirmed\.[\s\S]*pending-email/);
    const [ev] = api.requests.find((r) => r.path === "/v1/events")?.body as Record<
      string,
      unknown
    >[];
    assert.equal(ev?.type, "email.confirmed");
    assert.deepEqual(ev?.actor, { email: "new@verify.test", account: body.account });
    assert.equal((await fetch(`${demo.url}${link}`)).status, 404, "a link works once");
  });

  it("sign-up allow: the account is created", async () => {
    const res = await post("/signup", {
      email: "a@example.org",
      password: "correct horse",
      rempart_token: "tok.signup",
    });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /data-outcome="created"/);
  });

  it("refuses what is not a form post, and unknown pages", async () => {
    const json = await fetch(`${demo.url}/petition`, { method: "POST", body: "{}" });
    assert.equal(json.status, 400);
    const big = await post("/petition", { name: "x".repeat(70_000) });
    assert.equal(big.status, 400);
    assert.equal((await fetch(`${demo.url}/nope`)).status, 404);
    assert.equal(
      api.requests.filter((r) => r.path === "/v1/guard/assess").length,
      0,
      "assessed a request that was not a submission",
    );
  });
});
