/**
 * `rempart start` with `http.threads: 2`, as an operator runs it: the API threads read the
 * requests and check the guard's stateless signals, the daemon's thread keeps the state. Over
 * real connections: keys are still checked first, refused bodies get the API's usual errors, a
 * solved proof of work is accepted once however many connections (and so threads) carry it,
 * look-ups and the other routes answer, and SIGTERM stops it cleanly.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { NODE_FLAGS } from "../../bin/entry.js";
import { solveAltcha } from "../../src/guard/pow/index.ts";
import { startDaemon, writeDaemonConfig } from "../support/daemon.ts";
import { BIN } from "../support/replay.ts";

const run = promisify(execFile);

interface Answer {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

/** One request on its own connection (agent false), so that requests spread over the threads. */
function post(url: string, key: string | undefined, body: unknown, agent?: Agent): Promise<Answer> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent: agent ?? false,
        headers: {
          "content-type": "application/json",
          ...(key !== undefined && { authorization: `Bearer ${key}` }),
        },
      },
      (res) => {
        let data = "";
        res.on("data", (c: Buffer) => (data += c.toString()));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(data) as Record<string, unknown>,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(text);
  });
}

test("the API threads answer as the daemon's thread does, and the state stays one", async () => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-api-threads-"));
  const secret = randomBytes(32).toString("hex");
  const config = await writeDaemonConfig(dir, [
    "  threads: 2",
    "sources: []",
    "guard:",
    "  forms:",
    "    petition:",
    "      identities: [[name]]",
    "  pow:",
    `    secret: "${secret}"`,
    "  email:",
    "    mx: { enabled: false }",
  ]);
  const { stdout } = await run(process.execPath, [
    BIN,
    ...["keys", "create", "app", "--role", "sensor", "--config", config],
  ]);
  const key = /rmp_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/.exec(stdout)?.[0];
  assert.ok(key !== undefined, stdout);
  const daemon = startDaemon(config, NODE_FLAGS);
  try {
    const url = await daemon.url(60_000);
    assert.match(daemon.stderr(), /http: 2 API threads read requests and write answers/);
    const assess = `${url}/v1/guard/assess`;
    const person = { form: "petition", ip: "192.0.2.44", fields: { name: "Ann Smith" } };

    // The key first, as without threads; then the body's problems, said the same way.
    const noKey = await post(assess, undefined, person);
    assert.equal(noKey.status, 401);
    assert.equal(noKey.json.code, "UNAUTHORIZED");
    const noKeyBadBody = await post(assess, undefined, "{");
    assert.equal(noKeyBadBody.status, 401);
    const bad = await post(assess, key, { form: "petition", ip: "not an address" });
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.message), /^body\.ip: /);
    const notJson = await post(assess, key, "{");
    assert.equal(notJson.status, 400);
    assert.equal(notJson.json.message, "body: is not valid JSON");

    // A solved challenge from the daemon itself: accepted once, on whichever thread.
    const challenge = (await (
      await fetch(`${url}/v1/guard/challenge?form=petition`, {
        headers: { "x-forwarded-for": "192.0.2.44" },
      })
    ).json()) as Record<string, unknown>;
    const solved = await solveAltcha(challenge);
    assert.ok(solved !== undefined);
    const answers = [];
    for (let i = 0; i < 6; i++)
      answers.push(await post(assess, key, { ...person, altcha: solved.payload }));
    for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.json));
    const reasons = answers.map((a) => a.json.reasons as string[]);
    assert.ok(reasons[0]!.includes("pow-solved"), reasons[0]!.join());
    for (const r of reasons.slice(1)) assert.ok(r.includes("pow-reused"), r.join());

    // The counters are the daemon's: one identity seen from every thread adds up.
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    try {
      const flood = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          post(assess, key, { ...person, ip: `198.51.100.${i + 1}` }, agent),
        ),
      );
      assert.ok(flood.every((a) => a.status === 200));
      const last = flood.map((a) => a.json.reasons as string[]);
      assert.ok(
        last.some((r) => r.includes("identity-velocity")),
        "40 of one name count as one identity",
      );
    } finally {
      agent.destroy();
    }

    // The other routes go through the threads too.
    const health = await fetch(`${url}/v1/health`);
    assert.equal(health.status, 200);
    const check = await fetch(`${url}/v1/check?ip=192.0.2.1`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(check.status, 200);

    // /metrics asks the threads how they do: every request above went through one of them.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const value = (line: string): number => {
      const m = new RegExp(`^${line.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m").exec(metrics);
      assert.ok(m !== null, `no ${line} in /metrics`);
      return Number(m[1]);
    };
    assert.equal(value("rempart_http_threads"), 2);
    assert.equal(value("rempart_http_thread_restarts_total"), 0);
    const perThread = (name: string): number[] =>
      ["1", "2"].map((t) => value(`${name}{thread="${t}"}`));
    // 4 refused, the challenge, 6 + 40 assessments, health, check, and this scrape.
    const forwarded = perThread("rempart_http_thread_requests_total");
    assert.equal(forwarded[0]! + forwarded[1]!, 54, forwarded.join(" + "));
    for (const heap of perThread("rempart_http_thread_heap_used_bytes")) assert.ok(heap > 1e6);
    for (const d of perThread("rempart_http_thread_eventloop_delay_max_seconds"))
      assert.ok(d >= 0 && d < 5, String(d));
  } finally {
    daemon.child.kill("SIGTERM");
    const code = await daemon.exited;
    await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, daemon.stderr());
    assert.match(daemon.stderr(), /rempart: stopped/);
  }
});
