// Not a test: measures GET /v1/check through the real server on 127.0.0.1. Run with
//   node bench/check-speed.ts [connections=16] [seconds=10] [--bare]
// `--bare` answers a constant body through the same adapter, skipping the API: the ceiling of this
// machine, to compare with (the API should come close to it).
// The load comes from a worker thread speaking raw HTTP/1.1 over keep-alive sockets (one
// request in flight per connection, like wrk), so the client costs little and the server has
// a core of its own on a 2-core machine.
import { connect } from "node:net";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { onHttpResponses } from "./http-responses.ts";

interface Load {
  readonly url: string;
  readonly key: string;
  readonly connections: number;
  readonly seconds: number;
  readonly ips: readonly string[];
}

interface Report {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  /** Latencies in µs, sorted. */
  readonly latencies: Float64Array;
}

async function runLoad(load: Load): Promise<Report> {
  const { hostname, port } = new URL(load.url);
  const requests = load.ips.map((ip) =>
    Buffer.from(
      `GET /v1/check?ip=${ip} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${load.key}\r\n\r\n`,
    ),
  );
  const latencies: number[] = [];
  let errors = 0;
  let done = 0;
  const warmUpUntil = performance.now() + 1000;
  const start = warmUpUntil;
  const stopAt = start + load.seconds * 1000;
  await Promise.all(
    Array.from(
      { length: load.connections },
      (_, c) =>
        new Promise<void>((resolve, reject) => {
          const socket = connect(Number(port), hostname);
          socket.setNoDelay(true);
          let n = c;
          let sentAt = 0;
          const next = (): void => {
            if (performance.now() >= stopAt) {
              socket.end();
              resolve();
              return;
            }
            sentAt = performance.now();
            socket.write(requests[n++ % requests.length]!);
          };
          socket.on("connect", next);
          socket.on("error", reject);
          onHttpResponses(socket, (head) => {
            if (!head.startsWith("HTTP/1.1 200")) errors++;
            const now = performance.now();
            if (sentAt >= start) {
              latencies.push((now - sentAt) * 1000);
              done++;
            }
            next();
          });
        }),
    ),
  );
  const sorted = Float64Array.from(latencies).sort();
  return { requests: done, errors, seconds: load.seconds, latencies: sorted };
}

if (!isMainThread) {
  parentPort!.postMessage(await runLoad(workerData as Load));
} else {
  const { createApi } = await import("../src/http/api.ts");
  const { createApiKey } = await import("../src/http/api-keys.ts");
  const { startHttpServer } = await import("../src/http/http-server.ts");
  const { createTestRuntime } = await import("../src/http/test-runtime.ts");

  const connections = Number(process.argv[2] ?? 16);
  const seconds = Number(process.argv[3] ?? 10);
  const runtime = await createTestRuntime();
  // Some active decisions: 2,000 addresses and 50 ranges, so look-ups do real work.
  const ips: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const ip = `203.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`;
    await runtime.addDecision({
      action: "ban",
      scope: "ip",
      value: ip,
      durationMs: 3_600_000,
      reason: "speed",
      author: "speed",
    });
    ips.push(ip, `198.18.${(i >> 8) & 255}.${i & 255}`);
  }
  for (let i = 0; i < 50; i++)
    await runtime.addDecision({
      action: "challenge",
      scope: "range",
      value: `198.18.${i}.0/24`,
      durationMs: 3_600_000,
      reason: "speed",
      author: "speed",
    });
  const key = await createApiKey(runtime.storage, "speed", "bouncer", 0);
  const api = createApi(runtime);
  const bare = process.argv.includes("--bare");
  const constant = JSON.stringify({
    subject: { ip: "203.0.0.0" },
    decisions: [],
    verdict: "allow",
  });
  const server = await startHttpServer(
    bare
      ? {
          handle: () =>
            Promise.resolve({
              status: 200,
              headers: { "content-type": "application/json" },
              body: constant,
            }),
        }
      : api,
    { host: "127.0.0.1", port: 0 },
  );

  const worker = new Worker(new URL(import.meta.url), {
    workerData: { url: server.url, key, connections, seconds, ips } satisfies Load,
  });
  const report = await new Promise<Report>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  await worker.terminate();
  await server.close();
  await runtime.close();

  const at = (q: number): string =>
    (
      report.latencies[
        Math.min(report.latencies.length - 1, Math.floor(q * report.latencies.length))
      ]! / 1000
    ).toFixed(2);
  console.log(
    `${bare ? "bare node:http" : "GET /v1/check"}, ${connections} connections, ${seconds} s: ${Math.round(report.requests / report.seconds)} req/s, ` +
      `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, p99.9 ${at(0.999)} ms, max ${at(1)} ms, ${report.errors} non-200`,
  );
}
