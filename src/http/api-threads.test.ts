/**
 * The API threads: real worker threads listening with SO_REUSEPORT, real HTTP from node:http
 * clients, and an API in this thread that records what reaches it.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { GuardConfigSchema, type GuardConfig } from "../guard/index.ts";
import { deriveGuardKeys } from "../guard/pow/index.ts";
import { FormTokens } from "../guard/token/index.ts";
import { startApiThreads, type ApiThreads } from "./api-threads.ts";
import type { ApiRequest, ApiResponse } from "./requests.ts";

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function send(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    agent?: Agent;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? "GET",
        headers: options.headers,
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** An API that records each request and answers with what it saw. */
function recordingApi(delayMs = 0) {
  const seen: ApiRequest[] = [];
  const ids = new WeakMap<object, number>();
  let next = 0;
  const connectionId = (c: object | undefined): number => {
    if (c === undefined) return -1;
    let n = ids.get(c);
    if (n === undefined) ids.set(c, (n = ++next));
    return n;
  };
  return {
    seen,
    connectionId,
    async handle(r: ApiRequest): Promise<ApiResponse> {
      seen.push(r);
      if (delayMs > 0) await sleep(delayMs);
      return {
        status: 201,
        headers: { "content-type": "application/json", "x-seen": "yes" },
        body: JSON.stringify({
          method: r.method,
          path: r.path,
          query: r.query ?? null,
          body: r.body === undefined ? null : Buffer.from(r.body).toString("utf8"),
          remote: r.remoteAddress ?? null,
          test: r.headers?.["x-test"] ?? null,
          connection: connectionId(r.connection),
        }),
      };
    },
  };
}

let threads: ApiThreads | undefined;
afterEach(async () => {
  await threads?.close();
  threads = undefined;
});

const start = (api: ReturnType<typeof recordingApi>, count = 2) =>
  startApiThreads(api, { host: "127.0.0.1", port: 0, threads: count, log: () => undefined });

test("a request crosses to the daemon's thread whole, and its answer comes back", async () => {
  const api = recordingApi();
  threads = await start(api);
  const r = await send(`${threads.url}/v1/things?a=1&b=%20`, {
    method: "POST",
    headers: { "content-type": "text/plain", "x-test": "hello" },
    body: "the body, é",
  });
  assert.equal(r.status, 201);
  assert.equal(r.headers["x-seen"], "yes");
  const echoed = JSON.parse(r.body) as Record<string, unknown>;
  assert.deepEqual(
    { ...echoed, connection: typeof echoed.connection },
    {
      method: "POST",
      path: "/v1/things",
      query: "a=1&b=%20",
      body: "the body, é",
      remote: "127.0.0.1",
      test: "hello",
      connection: "number",
    },
  );
  assert.equal(api.seen[0]!.prepared, undefined);
});

test("one connection keeps one stand-in object; another connection has its own", async () => {
  const api = recordingApi();
  threads = await start(api);
  const one = new Agent({ keepAlive: true, maxSockets: 1 });
  const other = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const connectionOf = async (agent: Agent): Promise<number> =>
      (JSON.parse((await send(threads!.url, { agent })).body) as { connection: number }).connection;
    const a: number[] = [];
    for (let i = 0; i < 3; i++) a.push(await connectionOf(one));
    const b = await connectionOf(other);
    assert.equal(new Set(a).size, 1);
    assert.notEqual(b, a[0]);
  } finally {
    one.destroy();
    other.destroy();
  }
});

test("many connections at once are all answered, over every thread", async () => {
  const api = recordingApi(5);
  threads = await start(api, 3);
  const answers = await Promise.all(
    Array.from({ length: 200 }, (_, i) => send(`${threads!.url}/n?i=${i}`)),
  );
  assert.ok(answers.every((r) => r.status === 201));
  const queries = answers.map((r) => (JSON.parse(r.body) as { query: string }).query).sort();
  assert.deepEqual(queries, Array.from({ length: 200 }, (_, i) => `i=${i}`).sort());
});

test("each thread reports its requests, its event loop, its collector and its heap", async () => {
  const api = recordingApi();
  threads = await start(api);
  const agent = new Agent({ keepAlive: false });
  try {
    await Promise.all(Array.from({ length: 30 }, () => send(threads!.url, { agent })));
  } finally {
    agent.destroy();
  }
  const report = await threads.report();
  assert.equal(report.listening, 2);
  assert.equal(report.restarts, 0);
  assert.deepEqual(report.threads.map((t) => t.thread).sort(), [1, 2]);
  assert.equal(
    report.threads.reduce((n, t) => n + t.requests, 0),
    30,
  );
  for (const t of report.threads) {
    assert.ok(t.heapUsedBytes > 1e6, `heap ${t.heapUsedBytes}`);
    assert.ok(t.loopDelayMaxS >= t.loopDelayP99S && t.loopDelayP99S >= 0);
    for (const seconds of Object.values(t.gcSeconds)) assert.ok(seconds >= 0);
  }
});

test("close lets a request in flight finish, then the port is free", async () => {
  const api = recordingApi(300);
  threads = await start(api);
  const url = threads.url;
  const inFlight = send(url);
  await sleep(100);
  const closing = threads.close();
  threads = undefined;
  assert.equal((await inFlight).status, 201);
  await closing;
  await assert.rejects(send(url));
  // Nothing holds the port any more: a plain listener takes it.
  const port = Number(new URL(url).port);
  const plain = createServer();
  await new Promise<void>((resolve, reject) => {
    plain.once("error", reject).listen(port, "127.0.0.1", resolve);
  });
  plain.close();
});

/** One thread that crashes 100 ms after it listens (the first time only); resolves once it has. */
async function crashingThread(t: { after: (fn: () => unknown) => void }, api = recordingApi()) {
  const dir = await mkdtemp(join(tmpdir(), "rempart-threads-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  process.env["REMPART_TEST_CRASH_MARK"] = join(dir, "crashed");
  t.after(() => delete process.env["REMPART_TEST_CRASH_MARK"]);
  const lines: string[] = [];
  let exitedAt = 0;
  threads = await startApiThreads(api, {
    host: "127.0.0.1",
    port: 0,
    threads: 1,
    workerUrl: new URL("../../test/support/crashing-api-worker.ts", import.meta.url),
    log: (line) => {
      lines.push(line);
      if (line.includes("exited")) exitedAt = performance.now();
    },
  });
  for (let i = 0; i < 100 && exitedAt === 0; i++) await sleep(20);
  assert.ok(exitedAt > 0, `the thread exited: ${lines.join(" | ")}`);
  return { url: threads.url, lines, exitedAt };
}

test("a thread that crashes is started again on the same port, a second later", async (t) => {
  const api = recordingApi();
  // The only thread crashes: the port is closed until its replacement listens.
  const { url, lines, exitedAt } = await crashingThread(t, api);
  assert.match(lines.join("\n"), /an API thread exited \(code 1\); starting another/);
  await assert.rejects(send(url), /ECONNREFUSED/, "no thread listens meanwhile");
  let answer: Answer | undefined;
  for (let i = 0; i < 100 && answer === undefined; i++) {
    answer = await send(url).catch(() => undefined);
    if (answer === undefined) await sleep(50);
  }
  assert.equal(answer?.status, 201, "the replacement answers on the same port");
  assert.ok(performance.now() - exitedAt >= 900, "after the restart delay, not at once");
  assert.ok(api.seen.length >= 1);
  // The replacement takes the number of the thread it replaces, and counts from zero.
  const report = await threads!.report();
  assert.equal(report.listening, 1);
  assert.equal(report.restarts, 1);
  assert.deepEqual(
    report.threads.map((r) => [r.thread, r.requests]),
    [[1, 1]],
  );
  // Closing stops the replacement, and nothing starts again.
  await threads!.close();
  threads = undefined;
  await sleep(1200);
  await assert.rejects(send(url), /ECONNREFUSED/);
  assert.equal(lines.filter((l) => l.includes("exited")).length, 1, lines.join(" | "));
});

test("closing while a crashed thread waits to restart: none starts again", async (t) => {
  const { url } = await crashingThread(t);
  await threads!.close();
  threads = undefined;
  await sleep(1500);
  await assert.rejects(send(url), /ECONNREFUSED/, "no replacement after close");
});

test("a port held without SO_REUSEPORT: the threads say so and do not start", async () => {
  const plain = createServer();
  await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
  const { port } = plain.address() as { port: number };
  try {
    await assert.rejects(
      startApiThreads(recordingApi(), { host: "127.0.0.1", port, threads: 2, log: () => {} }),
      /EADDRINUSE/,
    );
  } finally {
    plain.close();
  }
});

test("an assessment's body is read, and its stateless signals checked, in the thread", async () => {
  const api = recordingApi();
  threads = await start(api);
  const secret = randomBytes(32);
  const config = GuardConfigSchema.parse({
    forms: { petition: { identities: [["name"]] } },
    pow: { secret: secret.toString("hex") },
  });
  threads.prepareGuard({ config, secret });
  await sleep(50); // the message reaches the threads
  const token = new FormTokens({ key: deriveGuardKeys(secret).formToken }).issue(
    "petition",
    Date.now() - 60_000,
  ).token;
  const valid = JSON.stringify({
    form: "petition",
    ip: "2001:DB8::1",
    email: "Jean.Dupont@Example.org",
    fields: { name: "Jean Dupont" },
    token,
  });
  const headers = { "content-type": "application/json" };
  // Each thread gets the guard: send on enough connections to reach both.
  for (let i = 0; i < 8; i++)
    await send(`${threads.url}/v1/guard/assess`, { method: "POST", headers, body: valid });
  for (const r of api.seen) {
    const p = r.prepared;
    assert.ok(p !== undefined, "prepared in the thread");
    assert.equal(p.route, "guardAssess");
    assert.equal(r.body, undefined, "the body does not cross again");
    assert.deepEqual(p.body, {
      kind: "form.submit",
      form: "petition",
      ip: "2001:DB8::1",
      email: "Jean.Dupont@Example.org",
      fields: { name: "Jean Dupont" },
      token,
    });
    assert.ok(Math.abs(p.guard!.time - Date.now()) < 5_000);
    const s = p.guard!.signals;
    assert.equal(s.token.ok, true);
    assert.deepEqual(s.pow, { ok: false, reason: "missing" });
    assert.equal(s.email?.canonical, "jean.dupont@example.org");
    assert.equal(s.identities.length, 1);
    assert.match(s.identities[0]!, /^fp:petition:/);
  }
  // A body the API refuses crosses as it came: the daemon's thread gives its usual error.
  api.seen.length = 0;
  for (const body of ["{", JSON.stringify({ form: "petition" }), valid]) {
    const h = body === valid ? { "content-type": "text/plain" } : headers;
    await send(`${threads.url}/v1/guard/assess`, { method: "POST", headers: h, body });
  }
  assert.equal(api.seen.length, 3);
  for (const r of api.seen) {
    assert.equal(r.prepared, undefined);
    assert.ok(r.body !== undefined && r.body.length > 0);
  }
});

test("a guard the threads cannot prepare: they say so, and forward assessments whole", async () => {
  const api = recordingApi();
  const lines: string[] = [];
  threads = await startApiThreads(api, {
    host: "127.0.0.1",
    port: 0,
    threads: 2,
    log: (line) => lines.push(line),
  });
  // Not a configuration the guard was made with: making its preparer throws in each thread.
  threads.prepareGuard({ config: {} as GuardConfig, secret: randomBytes(32) });
  for (let i = 0; i < 50 && lines.length < 2; i++) await sleep(20);
  assert.equal(lines.length, 2, lines.join("\n"));
  for (const line of lines)
    assert.match(line, /^rempart: http: an API thread cannot check the guard's signals \(/);
  const body = JSON.stringify({ form: "petition", ip: "192.0.2.1" });
  const r = await send(`${threads.url}/v1/guard/assess`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  assert.equal(r.status, 201);
  assert.equal(api.seen.length, 1);
  assert.equal(api.seen[0]!.prepared, undefined);
  assert.equal(Buffer.from(api.seen[0]!.body!).toString("utf8"), body);
});
