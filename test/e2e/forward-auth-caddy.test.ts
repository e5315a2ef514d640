/**
 * Real Caddy (Debian package caddy) with docs/forward-auth.md's configuration: `forward_auth`
 * before the site, Rempart's challenge page under /.rempart/ outside it. A challenged client is
 * sent to the page with where it was going (Caddy's X-Forwarded-Uri), earns a pass there with
 * a solved proof of work, and passes with it; the cookie does nothing for another address.
 *
 * All on loopback. Rempart never acts on 127.0.0.0/8: the client's address is a documentation
 * address in X-Forwarded-For, which Caddy keeps from loopback (`trusted_proxies`, the one line
 * the test adds to the doc's configuration) and extends with its own hop; Rempart trusts
 * 127.0.0.1 alone, so it takes the client's.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { PowChallenge } from "../../src/guard/index.ts";
import { solveAltcha } from "../../src/guard/pow/index.ts";
import { startDaemon, writeDaemonConfig } from "../support/daemon.ts";
import { freePort } from "../support/free-port.ts";

const CADDY = "/usr/bin/caddy";
const missing =
  spawnSync(CADDY, ["version"]).status !== 0 ? "needs Caddy (Debian package caddy)" : false;
const CLIENT = "198.51.100.7";

test(
  "Caddy forward_auth: a challenged client earns a pass on Rempart's page and passes with it",
  { skip: missing, timeout: 120_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-caddy-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const config = await writeDaemonConfig(dir, [
      "  trusted_proxies: [127.0.0.1/32]",
      "  challenge_url: /.rempart/",
      "sources: []",
      "lists:",
      "  - name: e2e",
      `    file: ${join(dir, "list.txt")}`,
      "    format: cidr",
      "    action: challenge",
      "guard:",
      "  email: { mx: { enabled: false } }",
      // The client here is a script solving in one thread: less work per level than a browser's.
      "  pow: { counter: 50 }",
    ]);
    // A challenged network, as a surge's range decision would make it.
    await writeFile(join(dir, "list.txt"), "198.51.100.0/24\n");
    const daemon = startDaemon(config);
    t.after(async () => {
      daemon.child.kill("SIGTERM");
      await daemon.exited;
    });
    const api = new URL(await daemon.url());

    const www = join(dir, "www");
    await mkdir(join(www, "articles"), { recursive: true });
    await writeFile(join(www, "articles", "42.html"), "the article\n");
    const port = await freePort();
    const caddyfile = join(dir, "Caddyfile");
    await writeFile(
      caddyfile,
      `{
  admin off
  auto_https off
  storage file_system ${join(dir, "caddy")}
}
http://127.0.0.1:${port} {
  # Rempart's challenge page, outside forward_auth.
  handle_path /.rempart/* {
    rewrite * /v1/challenge{path}
    reverse_proxy ${api.host} {
      trusted_proxies 127.0.0.0/8
    }
  }
  handle {
    forward_auth ${api.host} {
      uri /v1/forward-auth?redirect=true
      trusted_proxies 127.0.0.0/8
    }
    root * ${www}
    file_server
  }
}
`,
    );
    const caddy = spawn(CADDY, ["run", "--config", caddyfile, "--adapter", "caddyfile"], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    });
    let stderr = "";
    caddy.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    t.after(async () => {
      if (caddy.exitCode !== null) return;
      const exited = new Promise((resolve) => caddy.once("exit", resolve));
      caddy.kill("SIGTERM");
      await exited;
    });
    const site = `http://127.0.0.1:${port}`;
    const get = (path: string, ip: string, headers: Record<string, string> = {}) =>
      fetch(`${site}${path}`, {
        redirect: "manual",
        headers: { "x-forwarded-for": ip, ...headers },
      });
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = await get("/.rempart/", "192.0.2.1").then(
        (r) => r.status === 200,
        () => false,
      );
      if (!up) await sleep(100);
    }
    assert.ok(up, `Caddy did not serve the page:\n${stderr}`);
    // The list is read at start; wait until forward-auth sees it.
    for (let i = 0; i < 100; i++) {
      if ((await get("/articles/42.html", CLIENT)).status === 302) break;
      await sleep(100);
    }

    const sent = await get("/articles/42.html?ref=feed", CLIENT);
    assert.equal(sent.status, 302, stderr);
    assert.equal(
      sent.headers.get("location"),
      "/.rempart/?return=%2Farticles%2F42.html%3Fref%3Dfeed",
    );
    assert.equal((await get("/articles/42.html", "192.0.2.1")).status, 200, "others pass");

    const pow = await get("/.rempart/pow", CLIENT);
    assert.equal(pow.status, 200, await pow.clone().text());
    const solved = await solveAltcha((await pow.json()) as PowChallenge);
    assert.ok(solved !== undefined);
    const pass = await fetch(`${site}/.rempart/pass`, {
      method: "POST",
      headers: { "x-forwarded-for": CLIENT, "content-type": "application/json" },
      body: JSON.stringify({ altcha: solved.payload, return: "/articles/42.html?ref=feed" }),
    });
    assert.equal(pass.status, 200, await pass.clone().text());
    assert.deepEqual(
      ((await pass.json()) as { return: string }).return,
      "/articles/42.html?ref=feed",
    );
    const cookie = pass.headers.get("set-cookie")?.split(";")[0];
    assert.match(cookie ?? "", /^rempart_pass=/);

    const back = await get("/articles/42.html?ref=feed", CLIENT, { cookie: cookie! });
    assert.equal(back.status, 200);
    assert.equal(await back.text(), "the article\n");
    assert.equal((await get("/articles/42.html", "198.51.100.8", { cookie: cookie! })).status, 302);
  },
);
