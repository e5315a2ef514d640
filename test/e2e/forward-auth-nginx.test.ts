/**
 * Real nginx (Debian package nginx) in front of a static site, asking Rempart with
 * `auth_request` before each request: no decision passes, a ban gets 403, a challenge is sent to
 * the challenge page through `error_page 401 = @challenge`. All on loopback. Rempart never bans
 * 127.0.0.0/8, so the "clients" are documentation addresses carried in X-Forwarded-For from a
 * trusted first hop (nginx's realip module believes the test client on 127.0.0.5), and nginx
 * passes the address it settled on to Rempart, which trusts nginx (127.0.0.1) alone.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createApi, startHttpServer } from "../../src/http/index.ts";
import { createTestRuntime } from "../../src/http/test-runtime.ts";
import { nginxMissing, startNginx, type RunningNginx } from "../support/nginx.ts";

interface Answer {
  readonly status: number;
  readonly location: string | undefined;
  readonly body: string;
}

/** A GET from 127.0.0.5 (a loopback address of its own), claiming to forward `client`. */
function get(port: number, path: string, client: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        localAddress: "127.0.0.5",
        headers: { "x-forwarded-for": client },
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, body });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

test(
  "nginx auth_request: allow, ban 403, challenge to the challenge page",
  { skip: nginxMissing, timeout: 60_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-nginx-"));
    const runtime = await createTestRuntime();
    const api = createApi(runtime, {
      trustedProxies: ["127.0.0.1/32"],
      challengeUrl: "/challenge/",
      logError: () => undefined,
    });
    const rempart = await startHttpServer(api, { host: "127.0.0.1", port: 0 });
    let nginx: RunningNginx | undefined;
    try {
      for (const [action, value] of [
        ["ban", "192.0.2.66"],
        ["challenge", "192.0.2.77"],
      ] as const) {
        const r = await runtime.addDecision({
          action,
          scope: "ip",
          value,
          durationMs: 3_600_000,
          reason: "e2e",
          author: "test",
        });
        assert.equal(r.kind, "created");
      }

      await mkdir(join(dir, "www", "challenge"), { recursive: true });
      await writeFile(join(dir, "www", "index.html"), "welcome\n");
      await writeFile(join(dir, "www", "challenge", "index.html"), "prove you are human\n");
      nginx = await startNginx(
        dir,
        () => `
    root ${dir}/www;
    location / {
      auth_request /_rempart;
      auth_request_set $rempart_challenge $upstream_http_location;
      error_page 401 = @challenge;
    }
    location /challenge/ { }
    location = /_rempart {
      internal;
      proxy_pass ${rempart.url}/v1/forward-auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-For $remote_addr;
    }
    location @challenge { return 302 $rempart_challenge; }`,
        {
          // The hop in front of nginx (the test client) is trusted to say who the client is.
          http: "  set_real_ip_from 127.0.0.0/8;\n  real_ip_header X-Forwarded-For;",
          probe: "/challenge/",
        },
      );
      const { port } = nginx;
      const errors = () => nginx!.errors();

      const allowed = await get(port, "/", "192.0.2.1");
      assert.equal(allowed.status, 200, await errors());
      assert.equal(allowed.body, "welcome\n");

      const banned = await get(port, "/", "192.0.2.66");
      assert.equal(banned.status, 403);
      assert.notEqual(banned.body, "welcome\n");

      const challenged = await get(port, "/", "192.0.2.77");
      assert.equal(challenged.status, 302);
      assert.equal(challenged.location, `http://127.0.0.1:${port}/challenge/`);
      assert.equal((await get(port, "/challenge/", "192.0.2.77")).body, "prove you are human\n");

      // Lifting the ban lets the client through at once: no cache in between.
      const ban = runtime.check({ ip: "192.0.2.66" })[0]!;
      assert.ok(await runtime.deleteDecision(ban.id));
      assert.equal((await get(port, "/", "192.0.2.66")).status, 200);
    } finally {
      await nginx?.stop();
      await rempart.close();
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
