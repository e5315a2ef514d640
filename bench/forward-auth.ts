// Not a test: the CPU of GET /v1/forward-auth in process (the API's handler, no socket), for an
// address with no decision, one under a challenge, and one under a challenge with a valid pass
// cookie (the challenge page's), on a daemon holding the same challenge decision. Prints
// microseconds per answer, the median of 5 runs of 200,000.
//   node bench/forward-auth.ts
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigSchema, type Config } from "../src/daemon/config.ts";
import { Daemon } from "../src/daemon/daemon.ts";
import type { PowChallenge } from "../src/guard/index.ts";
import { solveAltcha } from "../src/guard/pow/index.ts";
import { createApi } from "../src/http/index.ts";
import type { ApiRequest } from "../src/http/requests.ts";

const N = 200_000;
const dir = await mkdtemp(join(tmpdir(), "rempart-bench-fa-"));
const parsed = ConfigSchema.parse({
  data_dir: dir,
  http: { trusted_proxies: ["127.0.0.1/32"], challenge_url: "/.rempart/" },
  guard: { email: { mx: { enabled: false } }, pow: { cost: 1, counter: 2 } },
});
const config: Config = { ...parsed, sources: [], origin: "bench", autodetected: false };
const daemon = await Daemon.open(config, { hostAddresses: [], log: () => undefined });
await daemon.start();
const api = createApi(daemon, { trustedProxies: ["127.0.0.1/32"], challengeUrl: "/.rempart/" });
await daemon.addDecision({
  action: "challenge",
  scope: "range",
  value: "198.51.100.0/24",
  durationMs: 3_600_000,
  reason: "bench",
  author: "bench",
});

const request = (ip: string, extra: Record<string, string> = {}): ApiRequest => ({
  method: "GET",
  path: "/v1/forward-auth",
  remoteAddress: "127.0.0.1",
  headers: {
    "x-forwarded-for": ip,
    "x-original-uri": "/articles/42?page=2",
    cookie: "_ga=GA1.2.3; theme=dark",
    ...extra,
  },
});
const pow = await api.handle({ ...request("198.51.100.7"), path: "/v1/challenge/pow" });
const solved = await solveAltcha(JSON.parse(String(pow.body)) as PowChallenge);
const pass = await api.handle({
  ...request("198.51.100.7", { "content-type": "application/json" }),
  method: "POST",
  path: "/v1/challenge/pass",
  body: Buffer.from(JSON.stringify({ altcha: solved!.payload })),
});
const cookie = `_ga=GA1.2.3; ${pass.headers["set-cookie"]!.split(";")[0]!}; theme=dark`;

const cases: [string, ApiRequest, number][] = [
  ["no decision", request("192.0.2.7"), 200],
  ["challenge, no pass", request("198.51.100.7"), 401],
  ["challenge, valid pass", request("198.51.100.7", { cookie }), 200],
];
for (const [name, req, status] of cases) {
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      const res = await api.handle(req);
      if (res.status !== status) throw new Error(`${name}: ${res.status}`);
    }
    const used = process.cpuUsage(start);
    runs.push(((used.user + used.system) / N) * 1);
  }
  runs.sort((a, b) => a - b);
  console.log(`${name.padEnd(24)} ${runs[2]!.toFixed(2)} µs of CPU per answer`);
}
await daemon.stop();
await rm(dir, { recursive: true, force: true });
