import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { afterEach, beforeEach, test } from "node:test";
import { createApi, type Api, type ApiRequest } from "./api.ts";
import { createApiKey } from "./api-keys.ts";
import { startHttpServer, type HttpServer } from "./http-server.ts";
import { createTestRuntime, type TestRuntime } from "./test-runtime.ts";

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly reusedSocket: boolean;
}

interface Send {
  readonly method?: string;
  readonly headers?: Record<string, string | number>;
  /** Written in one piece, or chunk by chunk (without Content-Length). */
  readonly body?: string | readonly Buffer[];
  readonly agent?: Agent;
}

function send(url: string, s: Send = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: s.method ?? "GET", headers: s.headers, agent: s.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
            reusedSocket: req.reusedSocket,
          });
        });
        res.on("error", reject);
      },
    );
    // The server may close while a refused body is still being written, before its answer is
    // read: give the answer a moment to win.
    req.on("error", (e) => {
      setTimeout(() => {
        reject(e);
      }, 100);
    });
    if (typeof s.body === "string") req.end(s.body);
    else if (s.body !== undefined) {
      for (const chunk of s.body) req.write(chunk);
      req.end();
    } else req.end();
  });
}

let runtime: TestRuntime;
let api: Api;
let server: HttpServer | undefined;
let sensor: string;

beforeEach(async () => {
  runtime = await createTestRuntime();
  api = createApi(runtime);
  sensor = await createApiKey(runtime.storage, "webapp", "sensor", 0);
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await runtime.close();
});

const events = (n: number, pad = 0): string =>
  JSON.stringify(
    Array.from({ length: n }, (_, i) => ({
      id: `e${i}`,
      type: "signup",
      time: "2024-09-28T12:00:00Z",
      source: { ip: "198.51.100.7" },
      ...(pad > 0 && { note: "x".repeat(pad) }),
    })),
  );

test("serves the API on 127.0.0.1 with port 0, with keep-alive", async () => {
  server = await startHttpServer(api, { host: "127.0.0.1", port: 0 });
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const health = await send(`${server.url}/v1/health`, { agent });
    assert.equal(health.status, 200);
    assert.match(String(health.headers["content-type"]), /^application\/json/);
    assert.equal((JSON.parse(health.body) as { status: string }).status, "ok");

    const check = await send(`${server.url}/v1/check?ip=203.0.113.7`, {
      agent,
      headers: { authorization: `Bearer ${sensor}` },
    });
    assert.equal(check.status, 200);
    assert.equal(check.reusedSocket, true, "the connection was kept alive");
    assert.equal((JSON.parse(check.body) as { verdict: string }).verdict, "allow");

    const body = events(2);
    const posted = await send(`${server.url}/v1/events`, {
      agent,
      method: "POST",
      headers: { "x-api-key": sensor, "content-type": "application/json" },
      body,
    });
    assert.equal(posted.status, 202, posted.body);
    assert.deepEqual(JSON.parse(posted.body), { accepted: 2, duplicates: 0 });
    assert.equal(runtime.counters().events, 2);

    const gone = await send(`${server.url}/v1/decisions/nope`, {
      agent,
      method: "DELETE",
      headers: { "x-api-key": sensor },
    });
    assert.equal(gone.status, 403);
  } finally {
    agent.destroy();
  }
});

test("a body over the limit is 413, whether declared or streamed, and nothing is ingested", async () => {
  server = await startHttpServer(api, { host: "127.0.0.1", port: 0 });
  const big = events(900, 1200); // ~1.2 MB of valid events
  assert.ok(Buffer.byteLength(big) > 1024 * 1024);
  const declared = await send(`${server.url}/v1/events`, {
    method: "POST",
    headers: {
      "x-api-key": sensor,
      "content-type": "application/json",
      "content-length": Buffer.byteLength(big),
    },
    body: big,
  });
  assert.equal(declared.status, 413);
  assert.deepEqual(Object.keys(JSON.parse(declared.body) as object), ["code", "message"]);
  assert.match(declared.body, /"code":"INPUT_INVALID".*larger than the 1048576-byte limit/);

  const buf = Buffer.from(big);
  const chunks = Array.from({ length: 20 }, (_, i) =>
    buf.subarray((i * buf.length) / 20, ((i + 1) * buf.length) / 20),
  );
  const streamed = await send(`${server.url}/v1/events`, {
    method: "POST",
    headers: { "x-api-key": sensor, "content-type": "application/json" },
    body: chunks,
  });
  assert.equal(streamed.status, 413);
  assert.equal(runtime.counters().events, 0);

  // a body within a smaller configured limit still passes
  await server.close();
  server = await startHttpServer(api, { host: "127.0.0.1", port: 0, maxBodyBytes: 4096 });
  const small = await send(`${server.url}/v1/events`, {
    method: "POST",
    headers: { "x-api-key": sensor, "content-type": "application/json" },
    body: events(3),
  });
  assert.equal(small.status, 202);
});

test("close waits for requests in flight, and refuses new connections", async () => {
  let entered!: () => void;
  const inHandler = new Promise<void>((r) => (entered = r));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow: Pick<Api, "handle"> = {
    async handle(req: ApiRequest) {
      if (req.path === "/v1/health") {
        entered();
        await gate;
      }
      return api.handle(req);
    },
  };
  const s = await startHttpServer(slow, { host: "127.0.0.1", port: 0 });
  const pending = send(`${s.url}/v1/health`);
  await inHandler;
  let closed = false;
  const closing = s.close().then(() => (closed = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(closed, false, "close waits for the request in flight");
  await assert.rejects(send(`${s.url}/v1/health`), (e: NodeJS.ErrnoException) => {
    return e.code === "ECONNREFUSED";
  });
  release();
  const answer = await pending;
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.connection, "close");
  await closing;
  assert.equal(closed, true);
  assert.equal(s.close(), s.close(), "close is idempotent");
});

test("close cuts requests that outlive the grace time", async () => {
  const never: Pick<Api, "handle"> = { handle: () => new Promise(() => undefined) };
  const s = await startHttpServer(never, { host: "127.0.0.1", port: 0, closeGraceMs: 100 });
  const pending = send(`${s.url}/v1/health`).then(
    () => "answered",
    () => "cut",
  );
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  await s.close();
  assert.ok(Date.now() - started < 2000);
  assert.equal(await pending, "cut");
});
