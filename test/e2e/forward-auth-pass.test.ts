/**
 * The challenge page end to end, as a visitor meets it behind real nginx (docs/forward-auth.md,
 * with exactly its configuration): Debian's Chromium asks for an article from a network under
 * a `challenge` decision (a /24, as a surge makes), is sent to Rempart's challenge page, whose
 * widget solves the proof of work and earns a pass; the browser comes back to the article, and
 * further pages pass at once. A script without the cookie is still sent to the page, and the
 * browser's cookie does nothing for another address.
 *
 * All on loopback. Rempart never acts on 127.0.0.0/8, so the browser's requests carry a
 * documentation address in X-Forwarded-For, which nginx's realip module believes from
 * loopback; nginx passes the address it settled on to Rempart, which trusts nginx alone.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { launchChromium } from "../support/chromium.ts";
import { apiCaller, createKey, startDaemon, writeDaemonConfig } from "../support/daemon.ts";
import { nginxMissing, startNginx } from "../support/nginx.ts";

const VISITOR = "198.51.100.7";

test(
  "a challenged visitor solves Rempart's challenge page in Chromium behind nginx and comes back with a pass",
  { skip: nginxMissing, timeout: 180_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-pass-e2e-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const config = await writeDaemonConfig(dir, [
      "  trusted_proxies: [127.0.0.1/32]",
      "  challenge_url: /.rempart/",
      "sources: []",
      "guard:",
      "  email: { mx: { enabled: false } }",
    ]);
    const adminKey = await createKey(config);
    const daemon = startDaemon(config);
    t.after(() => daemon.stop());
    const api = await daemon.url();
    assert.match(
      daemon.stderr(),
      /enforcing: forward-auth at http:\/\/127\.0\.0\.1:\d+\/v1\/forward-auth sends challenged visitors to \/\.rempart\//,
    );
    await apiCaller(api, adminKey)("POST", "/v1/decisions", {
      action: "challenge",
      scope: "range",
      value: "198.51.100.0/24",
      duration: "1h",
      reason: "e2e: a surge's network",
    });

    const www = join(dir, "www");
    await mkdir(join(www, "articles"), { recursive: true });
    await writeFile(join(www, "index.html"), "<!doctype html><title>home</title><p>welcome</p>\n");
    await writeFile(
      join(www, "articles", "42.html"),
      "<!doctype html><title>article 42</title><p>the article</p>\n",
    );
    // docs/forward-auth.md's configuration, with the test's addresses.
    const nginx = await startNginx(
      dir,
      () => `
    root ${www};
    location / {
      auth_request /_rempart;
      auth_request_set $rempart_challenge $upstream_http_location;
      error_page 401 = @challenge;
    }
    location = /_rempart {
      internal;
      proxy_pass ${api}/v1/forward-auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Original-URI $request_uri;
    }
    location @challenge { return 302 $rempart_challenge; }
    location /.rempart/ {
      auth_request off;
      proxy_pass ${api}/v1/challenge/;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
    }`,
      {
        // The hop in front of nginx (here the browser itself) says who the client is.
        http: "  set_real_ip_from 127.0.0.0/8;\n  real_ip_header X-Forwarded-For;",
        probe: "/.rempart/",
      },
    );
    t.after(() => nginx.stop());
    const site = `http://127.0.0.1:${nginx.port}`;
    const script = (path: string, ip: string, cookie?: string): Promise<Response> =>
      fetch(`${site}${path}`, {
        redirect: "manual",
        headers: { "x-forwarded-for": ip, ...(cookie === undefined ? {} : { cookie }) },
      });

    const before = await script("/articles/42.html?ref=feed", VISITOR);
    assert.equal(before.status, 302, await nginx.errors());
    assert.equal(
      before.headers.get("location"),
      `${site}/.rempart/?return=%2Farticles%2F42.html%3Fref%3Dfeed`,
    );

    const context = await launchChromium(join(dir, "chromium"), {
      headers: { "x-forwarded-for": VISITOR },
    });
    t.after(() => context.close());
    const page = await context.newPage();
    const started = Date.now();
    await page.goto(`${site}/articles/42.html?ref=feed`);
    await page.waitForURL(`${site}/articles/42.html?ref=feed`, { timeout: 90_000 });
    assert.equal(await page.locator("p").textContent(), "the article");
    t.diagnostic(`from the first request to the article: ${Date.now() - started} ms`);

    const cookie = (await context.cookies(site)).find((c) => c.name === "rempart_pass");
    assert.ok(cookie !== undefined, "the page left a pass");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Lax");
    assert.ok(cookie.expires * 1000 > Date.now() + 3_500_000, "for an hour");

    // Further pages pass at once: no detour through the challenge page.
    const home = await page.goto(`${site}/`);
    assert.equal(home?.status(), 200);
    assert.equal(home?.url(), `${site}/`);
    assert.equal(await page.locator("p").textContent(), "welcome");

    // A visitor whose browser prefers French gets the page, and the widget, in French.
    const french = await launchChromium(join(dir, "chromium-fr"), {
      locale: "fr-FR",
      headers: { "x-forwarded-for": "198.51.100.9" },
    });
    t.after(() => french.close());
    const fr = await french.newPage();

    await fr.goto(`${site}/articles/42.html`);
    assert.equal(await fr.locator("h1").textContent(), "Un instant…");
    await fr
      .getByText(/Je ne suis pas un robot|Vérification en cours|Vérifié/)
      .first()
      .waitFor({ timeout: 10_000 });
    await fr.waitForURL(`${site}/articles/42.html`, { timeout: 90_000 });
    assert.equal(await fr.locator("p").textContent(), "the article");

    // A script that did not solve is still sent to the page; the browser's cookie is worth
    // nothing from another address of the same network.
    assert.equal((await script("/", VISITOR)).status, 302);
    const pass = `rempart_pass=${cookie.value}`;
    assert.equal((await script("/", "198.51.100.8", pass)).status, 302);
    assert.equal((await script("/", VISITOR, pass)).status, 200);
  },
);
