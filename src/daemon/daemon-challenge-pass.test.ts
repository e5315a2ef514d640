/**
 * The challenge page's pass through the daemon's API (docs/forward-auth.md): forward-auth
 * sends a challenged visitor to the page with where it was going; the page's proof of work,
 * solved, earns a cookie; with it forward-auth lets that address through its challenge, and
 * nothing else: not another address, not a ban, not a reused or easier solution. The browser's
 * side is test/e2e/forward-auth-pass.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { PowChallenge } from "../guard/index.ts";
import { solveAltcha } from "../guard/pow/index.ts";
import { createApi, type Api } from "../http/index.ts";
import type { ApiResponse } from "../http/requests.ts";
import { ConfigSchema, type Config } from "./config.ts";
import { Daemon } from "./daemon.ts";

const CHALLENGED = "192.0.2.77";
const BANNED = "192.0.2.66";

async function openDaemon(dir: string): Promise<{ daemon: Daemon; api: Api }> {
  const parsed = ConfigSchema.parse({
    data_dir: dir,
    http: { trusted_proxies: ["127.0.0.1/32"], challenge_url: "/.rempart/" },
    // Little work per level: the test is about the pass, not the proof of work's cost.
    guard: { email: { mx: { enabled: false } }, pow: { cost: 1, counter: 2 } },
  });
  const config: Config = { ...parsed, sources: [], origin: "test", autodetected: false };
  const daemon = await Daemon.open(config, { hostAddresses: [], log: () => undefined });
  await daemon.start();
  const api = createApi(daemon, {
    trustedProxies: config.http.trusted_proxies,
    challengeUrl: config.http.challenge_url!,
  });
  return { daemon, api };
}

/** A request from the proxy on 127.0.0.1 on behalf of `client`. */
function ask(
  api: Api,
  method: string,
  path: string,
  client: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<ApiResponse> {
  const [p, query] = path.split("?");
  return api.handle({
    method,
    path: p!,
    ...(query === undefined ? {} : { query }),
    remoteAddress: "127.0.0.1",
    headers: {
      "x-forwarded-for": client,
      ...headers,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: Buffer.from(JSON.stringify(body)) }),
  });
}

const text = (r: ApiResponse): string => Buffer.from(r.body ?? "").toString("utf8");

async function solvedFor(api: Api, client: string): Promise<string> {
  const r = await ask(api, "GET", "/v1/challenge/pow", client);
  assert.equal(r.status, 200, text(r));
  const solved = await solveAltcha(JSON.parse(text(r)) as PowChallenge);
  assert.ok(solved !== undefined);
  return solved.payload;
}

/** The pass's cookie, as a browser sends it back. */
function cookieOf(r: ApiResponse): string {
  const set = r.headers["set-cookie"];
  assert.ok(set !== undefined, "a pass sets a cookie");
  return set.split(";")[0]!;
}

test("a solved challenge page earns a pass that forward-auth takes for its address's challenge alone", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-pass-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let { daemon, api } = await openDaemon(dir);
  t.after(() => daemon.stop());
  for (const [action, value] of [
    ["challenge", CHALLENGED],
    ["challenge", "192.0.2.78"],
    ["ban", BANNED],
  ] as const) {
    const r = await daemon.addDecision({
      action,
      scope: "ip",
      value,
      durationMs: 3_600_000,
      reason: "test",
      author: "test",
    });
    assert.equal(r.kind, "created");
  }
  const forward = (client: string, cookie?: string) =>
    ask(api, "GET", "/v1/forward-auth", client, {
      "x-original-uri": "/articles/42?page=2",
      ...(cookie === undefined ? {} : { cookie: `theme=dark; ${cookie}` }),
    });

  await t.test("forward-auth sends the visitor to the page with where it was going", async () => {
    const r = await forward(CHALLENGED);
    assert.equal(r.status, 401);
    assert.equal(r.headers.location, "/.rempart/?return=%2Farticles%2F42%3Fpage%3D2");
  });

  await t.test(
    "the page and its scripts are served, with a CSP that runs no inline script",
    async () => {
      const page = await ask(api, "GET", "/v1/challenge/", CHALLENGED);
      assert.equal(page.status, 200);
      assert.match(page.headers["content-type"]!, /^text\/html/);
      assert.match(page.headers["content-security-policy"]!, /script-src 'self';/);
      assert.match(text(page), /<altcha-widget\s+challenge="pow"/);
      for (const script of ["altcha.js", "challenge.js"]) {
        const r = await ask(api, "GET", `/v1/challenge/${script}`, CHALLENGED);
        assert.equal(r.status, 200, script);
        assert.match(r.headers["content-type"]!, /^text\/javascript/);
        assert.ok(text(r).length > 500, `${script} has content`);
      }
    },
  );

  let cookie = "";
  await t.test(
    "a solution earns a cookie; forward-auth then lets that address through",
    async () => {
      const payload = await solvedFor(api, CHALLENGED);
      const r = await ask(
        api,
        "POST",
        "/v1/challenge/pass",
        CHALLENGED,
        { "x-forwarded-proto": "https" },
        { altcha: payload, return: "/articles/42?page=2" },
      );
      assert.equal(r.status, 200, text(r));
      assert.match(
        r.headers["set-cookie"]!,
        /^rempart_pass=[A-Za-z0-9_-]+; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax; Secure$/,
      );
      const answer = JSON.parse(text(r)) as { until: string; return: string };
      assert.equal(answer.return, "/articles/42?page=2");
      assert.ok(Date.parse(answer.until) > Date.now() + 3_500_000);
      cookie = cookieOf(r);

      const passed = await forward(CHALLENGED, cookie);
      assert.equal(passed.status, 200);
      assert.equal(passed.headers["x-rempart-decision"], "pass");

      const reused = await ask(
        api,
        "POST",
        "/v1/challenge/pass",
        CHALLENGED,
        {},
        { altcha: payload },
      );
      assert.equal(reused.status, 403);
      assert.match(text(reused), /refused \(reused\)/);
    },
  );

  await t.test("the cookie is worth nothing from another address", async () => {
    const r = await forward("192.0.2.78", cookie);
    assert.equal(r.status, 401);
    assert.equal(r.headers["x-rempart-decision"], "challenge");
  });

  await t.test("a pass never lets a ban through", async () => {
    const payload = await solvedFor(api, BANNED);
    const r = await ask(api, "POST", "/v1/challenge/pass", BANNED, {}, { altcha: payload });
    assert.equal(r.status, 200, text(r));
    const refused = await forward(BANNED, cookieOf(r));
    assert.equal(refused.status, 403);
  });

  await t.test(
    "a form's easier challenge earns no pass; a return off the site is not kept",
    async () => {
      const form = await ask(api, "GET", "/v1/guard/challenge?form=petition", "192.0.2.9");
      const solved = await solveAltcha(JSON.parse(text(form)) as PowChallenge);
      const wrong = await ask(
        api,
        "POST",
        "/v1/challenge/pass",
        "192.0.2.9",
        {},
        {
          altcha: solved!.payload,
        },
      );
      assert.equal(wrong.status, 403);
      assert.match(text(wrong), /wrong-form/);

      for (const away of ["//evil.example/", "/\\evil.example", "https://evil.example/", "/a b"]) {
        const payload = await solvedFor(api, "192.0.2.9");
        const r = await ask(
          api,
          "POST",
          "/v1/challenge/pass",
          "192.0.2.9",
          {},
          {
            altcha: payload,
            return: away,
          },
        );
        assert.equal(r.status, 200, text(r));
        assert.equal((JSON.parse(text(r)) as { return: string }).return, "/", away);
        assert.doesNotMatch(r.headers["set-cookie"]!, /Secure/, "plain HTTP: no Secure");
      }
    },
  );

  await t.test(
    "a pass outlives a restart: it is signed with the guard's secret on disk",
    async () => {
      await daemon.stop();
      ({ daemon, api } = await openDaemon(dir));
      const r = await forward(CHALLENGED, cookie);
      assert.equal(r.status, 200);
      assert.equal(r.headers["x-rempart-decision"], "pass");
    },
  );
});
