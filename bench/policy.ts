/**
 * The Postfix policy service under load: the same request stream, sent the way smtpd sends it
 * (20 connections, each waiting for its answer before the next request), to Rempart (detection
 * on: every authenticated message feeds the built-in scenarios), postfwd and policyd-rate-limit
 * (Debian packages, each configured with a per-SASL-user rate limit, their nearest equivalent).
 * Servers are pinned to CPU 0, this client to CPU 1.
 *
 *   node bench/policy.ts [--seconds 10] [--connections 20] [--rate 20000]
 *                        [--only rempart,postfwd,policyd] [--node-flags="--max-semi-space-size=8"]
 *
 * `--node-flags` are the flags Rempart's node runs with (default: bin/rempart.js's own), e.g.
 * `--trace-gc` to see its collections.
 *
 * Each server is measured twice: at full speed (closed loop: each connection sends its next
 * request when the answer comes, as smtpd does; the rate is the server's capacity, and p99 there
 * is mostly queueing), then open loop at `--rate` requests/s (0: skip) spread over the same
 * connections, latency counted from each request's scheduled time, so a stall counts against
 * every request that waited behind it.
 *
 * Target (Mail issue): at least 20,000 requests/s over 20 connections, p99 at most 2 ms.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { prng } from "../test/support/mail-log.ts";
import { daemonFlags } from "./daemon-flags.ts";
import { openLoop, summary, type LoadRun } from "./open-loop.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "20" },
    rate: { type: "string", default: "20000" },
    only: { type: "string", default: "rempart,postfwd,policyd" },
    "node-flags": { type: "string", default: daemonFlags([]).join(" ") },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const RATE = Number(values.rate);
const ROOT = new URL("../", import.meta.url).pathname;

spawnSync("taskset", ["-cp", "1", String(process.pid)]);

/** A day of a small host's policy requests: RCPT per recipient, then END-OF-MESSAGE. */
function* requestStream(count: number): Generator<string> {
  const rnd = prng(20);
  let n = 0;
  let instance = 0;
  while (n < count) {
    const auth = rnd() < 0.7;
    const user = `member${Math.floor(rnd() * 200)}@example.org`;
    const ip = auth
      ? `203.0.113.${Math.floor(rnd() * 250)}`
      : `198.51.100.${Math.floor(rnd() * 250)}`;
    const rcpts = 1 + Math.floor(rnd() * 3);
    const id = `${(++instance).toString(16)}.abc.1`;
    const base =
      `request=smtpd_access_policy\nprotocol_name=ESMTP\nhelo_name=client.example\nqueue_id=Q${instance.toString(16).toUpperCase()}\n` +
      `sender=${auth ? user : "someone@example.net"}\nclient_address=${ip}\nclient_name=unknown\ninstance=${id}\n` +
      `sasl_method=${auth ? "PLAIN" : ""}\nsasl_username=${auth ? user : ""}\n`;
    for (let r = 0; r < rcpts; r++) {
      n++;
      yield `${base}protocol_state=RCPT\nrecipient=dest${r}@example.com\nrecipient_count=0\n\n`;
    }
    n++;
    yield `${base}protocol_state=END-OF-MESSAGE\nrecipient=\nrecipient_count=${rcpts}\nsize=${2000 + rcpts * 100}\n\n`;
  }
}

/**
 * The request stream packed in one buffer, written as it is generated: 200,000 requests kept as
 * strings are ~90 MB of heap that the client's collector marks, or must reclaim, in the middle
 * of a measurement, pausing the client (and so its latencies) for tens of milliseconds.
 */
class Packed {
  #bytes = Buffer.allocUnsafe(1 << 20);
  readonly #offsets: number[] = [0];
  constructor(requests: Iterable<string>) {
    let end = 0;
    for (const r of requests) {
      const size = Buffer.byteLength(r);
      if (end + size > this.#bytes.length) {
        const bigger = Buffer.allocUnsafe(2 * (end + size));
        this.#bytes.copy(bigger, 0, 0, end);
        this.#bytes = bigger;
      }
      end += this.#bytes.write(r, end);
      this.#offsets.push(end);
    }
  }
  get length(): number {
    return this.#offsets.length - 1;
  }
  /** The i-th request (the stream repeats). */
  at(i: number): Buffer {
    const k = i % this.length;
    return this.#bytes.subarray(this.#offsets[k], this.#offsets[k + 1]);
  }
}

/** One request's action, read from an answer (`action=DUNNO\n\n`). */
const actionOf = (answer: string): string => answer.slice(7).split(" ")[0]!.toUpperCase();

/** Closed loop: each connection sends its next request when the answer to the last came. */
async function load(port: number, stream: Packed, limit = Infinity): Promise<LoadRun> {
  const latencies: number[] = [];
  const answers: Record<string, number> = {};
  let next = 0;
  const end = performance.now() + SECONDS * 1000;
  const one = async (): Promise<void> => {
    const socket: Socket = connect({ host: "127.0.0.1", port, noDelay: true });
    await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    let buffer = "";
    let wake: (() => void) | undefined;
    socket.on("data", (b: Buffer) => {
      buffer += b.toString();
      if (buffer.includes("\n\n")) wake?.();
    });
    while (performance.now() < end) {
      if (next >= limit) break;
      const req = stream.at(next++);
      const t0 = performance.now();
      const answered = new Promise<void>((resolve) => (wake = resolve));
      socket.write(req);
      await answered;
      latencies.push(performance.now() - t0);
      const cut = buffer.indexOf("\n\n");
      const action = actionOf(buffer.slice(0, cut));
      answers[action] = (answers[action] ?? 0) + 1;
      buffer = buffer.slice(cut + 2);
    }
    socket.destroy();
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, one));
  return summary(latencies, (performance.now() - started) / 1000, answers);
}

/** Open loop at `rate` requests/s (bench/open-loop.ts). */
function loadAt(port: number, stream: Packed, rate: number): Promise<LoadRun> {
  return openLoop({
    port,
    connections: CONNECTIONS,
    rate,
    seconds: SECONDS,
    request: (seq) => stream.at(seq),
    frame: (socket, onAnswer) => {
      let buffer = "";
      socket.on("data", (b: Buffer) => {
        buffer += b.toString();
        for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
          onAnswer(actionOf(buffer.slice(0, cut)));
          buffer = buffer.slice(cut + 2);
        }
      });
    },
  });
}

async function waitPort(
  port: number,
  child: ChildProcess | undefined,
  log: () => string,
): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: "127.0.0.1", port }, () => {
        s.destroy();
        resolve(true);
      }).once("error", () => resolve(false));
    });
    if (ok) return;
    if (child?.exitCode !== null && child?.exitCode !== undefined)
      throw new Error(`exited early: ${log()}`);
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port}: ${log()}`);
}

const stream = new Packed(requestStream(200_000));
const dir = await mkdtemp(join(tmpdir(), "rempart-policy-bench-"));
const rows: string[] = [];
const only = new Set(values.only.split(","));

async function measure(
  name: string,
  port: number,
  start: () => Promise<() => Promise<void>>,
): Promise<void> {
  if (!only.has(name)) return;
  const stop = await start();
  try {
    await load(port, stream, 2000); // warm-up
    const row = (how: string, r: LoadRun): void => {
      const rate = Math.round(r.requests / r.seconds);
      rows.push(
        `| ${name} | ${how} | ${r.requests} | ${rate} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(1)} | ${r.clientStallMs === undefined ? "—" : r.clientStallMs.toFixed(1)} | ${JSON.stringify(r.answers)} |`,
      );
      process.stderr.write(`${rows.at(-1)!}\n`);
    };
    row("full speed", await load(port, stream));
    if (RATE > 0) row(`${RATE}/s offered`, await loadAt(port, stream, RATE));
  } finally {
    await stop();
  }
}

await measure("rempart", 10041, async () => {
  const config = join(dir, "rempart.yaml");
  await writeFile(
    config,
    `data_dir: ${join(dir, "data")}\nhttp:\n  listen: "127.0.0.1:0"\nsources: []\nenforcers:\n  postfix_policy:\n    listen: 127.0.0.1:10041\n`,
  );
  spawnSync("npm", ["run", "--silent", "build"], { cwd: ROOT });
  let err = "";
  const flags = values["node-flags"].split(" ").filter((f) => f !== "");
  const child = spawn(
    "taskset",
    [
      "-c",
      "0",
      process.execPath,
      ...flags,
      join(ROOT, "bin/rempart.js"),
      "start",
      "--config",
      config,
    ],
    { stdio: ["ignore", 2, "pipe"] }, // its stdout (--trace-gc) to our stderr
  );
  child.stderr?.on("data", (b: Buffer) => (err += b.toString()));
  await waitPort(10041, child, () => err);
  return async () => {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  };
});

await measure("postfwd", 10042, async () => {
  const rules = join(dir, "postfwd.cf");
  await writeFile(
    rules,
    "id=RATE01; sasl_username=!!(^$); action=rate(sasl_username/150/86400/DEFER_IF_PERMIT rate limit reached)\nid=DEFAULT; action=DUNNO\n",
  );
  const pid = join(dir, "postfwd.pid");
  const r = spawnSync(
    "taskset",
    [
      "-c",
      "0",
      "postfwd",
      "--file",
      rules,
      "--interface",
      "127.0.0.1",
      "--port",
      "10042",
      "--nodns",
      "--user",
      "nobody",
      "--group",
      "nogroup",
      "--pidfile",
      pid,
      "--noidlestats",
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`postfwd did not start: ${r.stderr}`);
  await waitPort(10042, undefined, () => r.stderr);
  return async () => {
    spawnSync("postfwd", ["--kill", "--pidfile", pid]);
    await sleep(300);
  };
});

await measure("policyd", 10043, async () => {
  const config = join(dir, "policyd.yaml");
  await writeFile(
    config,
    [
      "debug: False",
      'user: "root"',
      'group: "root"',
      `pidfile: "${join(dir, "policyd.pid")}"`,
      `sqlite_config: { database: "${join(dir, "policyd.sqlite3")}" }`,
      "backend: 0",
      'SOCKET: ["127.0.0.1", 10043]',
      "limits: [[10, 60], [150, 86400]]",
      "limits_by_id: {}",
      "limit_by_sasl: True",
      "limit_by_sender: False",
      "limit_by_ip: False",
      "limited_networks: []",
      'success_action: "dunno"',
      'fail_action: "defer_if_permit Rate limit reach, retry later"',
      'db_error_action: "dunno"',
      "report: False",
      "",
    ].join("\n"),
  );
  let err = "";
  const child = spawn("taskset", ["-c", "0", "policyd-rate-limit", "--file", config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr.on("data", (b: Buffer) => (err += b.toString()));
  await waitPort(10043, child, () => err);
  return async () => {
    child.kill("SIGTERM");
    spawnSync("pkill", ["-f", `policyd-rate-limit --file ${config}`]);
    await sleep(300);
  };
});

process.stdout.write(
  `${CONNECTIONS} connections, ${SECONDS} s each, the same stream of ${stream.length} requests (RCPT per recipient + END-OF-MESSAGE; 70% authenticated, 200 accounts)\n\n` +
    "| server | load | requests | requests/s | p50 ms | p99 ms | max ms | client stall ms | answers |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n" +
    `${rows.join("\n")}\n`,
);
