/**
 * The guard's assessment cost (issue #5: at most 100 µs of CPU in process; over HTTP at least
 * 10,000 assessments/s with p99 at most 5 ms).
 *
 *   node bench/guard-assess.ts [--n 100000] [--seconds 10] [--rate 10000[,20000…]] [--connections 32]
 *                              [--part process|api|http|floor] [--daemon-flags="--max-semi-space-size=8"]
 *                              [--threads 0|1|2…] [--daemon-cpus 0] [--client node|c] [--client-cpu 1]
 *                              [--heap-snapshot] [--reputation 100000]
 *
 * (BENCH_DEBUG=1 prints some warm-up verdicts and their reasons, to check the mix.)
 *
 * (a) In process: a real guard from `startGuard` (memory counters, the `@ip-location-db/asn`
 * data, a temporary data directory, no MX look-ups), CPU per `assess` from process.cpuUsage
 * over `--n` assessments after a warm-up, then a pass with a probe around each call for p50/p99.
 * (b) Over HTTP: the real daemon (`rempart start`, 127.0.0.1:0, data in a temporary directory,
 * MX off), a sensor key, and `POST /v1/guard/assess` from a separate Node process speaking raw
 * HTTP/1.1 over keep-alive sockets (bench/http-responses.ts) (one request in flight per connection, like wrk): at full
 * speed for `--seconds`, then open-loop at `--rate`/s (latency from each request's scheduled
 * time, so a stall counts against every request that waited behind it).
 * (c) The daemon's API in process (`--part api`): the real daemon and API handler called
 * directly with the requests (b) sends, no sockets: CPU per request and the collector's pauses
 * over `--n` requests; `--heap-snapshot` then writes the heap (bench/heap-summary.ts reads it).
 *
 * (d) The floor (`--part floor` only): the same load generator (at full speed, or at each
 * `--rate`) against a bare node:http server in its own process (pinned as the daemon is) that
 * parses each body as JSON and answers a constant verdict: what HTTP alone costs on this
 * machine, to hold the daemon's figures against.
 *
 * `--client c` sends the open-loop runs from bench/open-loop-http.c instead (built with cc,
 * pinned to `--client-cpu`; give the daemon the other core with `--daemon-cpus 0`), one run per
 * rate in `--rate 1000,2000`: a client whose own pauses do not read as the server's tail. Each
 * row then gives the client's longest pause and the time the hypervisor stole from the machine's
 * CPUs during the run (/proc/stat), which reach the tail of any server on a VM.
 *
 * The mix, each twenty submissions: 9 people with a valid form token and a solved proof of work
 * (each payload is accepted once: a pool is solved up front at cost 1, which verifying does not
 * depend on), 6 scripts without either, 5 "Jeff Bezos" with a token but no proof of work, from
 * many addresses. One address in four is IPv6.
 */
import { spawn, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { constants, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import { promisify } from "node:util";
import { DecisionBook } from "../src/decisions/index.ts";
import { GuardConfigSchema, GuardNetworks, startGuard } from "../src/guard/compose.ts";
import type { Submission } from "../src/guard/ports.ts";
import { FORM, mix, payloads, peopleIn } from "./guard-traffic.ts";
import { onHttpResponses } from "./http-responses.ts";
import { loadConfig } from "../src/daemon/config.ts";
import { Daemon } from "../src/daemon/daemon.ts";
import { ReputationBook } from "../src/reputation/index.ts";
import { createApi, type ApiRequest } from "../src/http/index.ts";
import { createApiKey } from "../src/http/api-keys.ts";
import { startDaemon } from "../test/support/daemon.ts";
import { daemonFlags } from "./daemon-flags.ts";
import { BIN } from "../test/support/replay.ts";

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const CLIENT = arg("client", "node");
if (CLIENT !== "node" && CLIENT !== "c") throw new Error(`--client node or c, not ${CLIENT}`);
/** `--rate 1000,2000`: one open-loop run at each rate. */
const RATES = arg("rate", "").split(",").filter(Boolean).map(Number);
/** Node's flags for the daemon in (b): those of `npm start`, unless `--daemon-flags` says. */
const DAEMON_FLAGS = daemonFlags();
const fmt = (x: number, d = 1): string =>
  x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const pct = (sorted: ArrayLike<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

// ── (b) The load generator, in its own process ─────────────────────────────────────────

interface LoadSpec {
  readonly url: string;
  readonly key: string;
  readonly secret: string;
  readonly connections: number;
  readonly seconds: number;
  /** 0: full speed (closed loop); else requests per second, open loop. */
  readonly rate: number;
  /** Requests prepared per second of the run at full speed (default 16,000). */
  readonly poolPerSecond?: number;
}

interface LoadReport {
  readonly rate: number;
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly verdicts: Record<string, number>;
  readonly loadCpuPct: number;
  /** Every answer, the warm-up's included: what the daemon's CPU time is divided by. */
  readonly answered: number;
  /** The daemon's CPU per answer, µs; filled in by the parent. */
  daemon?: DaemonCpu;
  /** The daemon thread's pauses over the run, from its /metrics; filled in by the parent. */
  pauses?: DaemonPauses;
  /** The C client only: its longest pause, and the time the hypervisor stole in the run. */
  client?: { readonly stallMs: number; readonly stealMs: number };
}

/** CPU time, µs: the whole process (user + system), and its main thread's user and system. */
interface DaemonCpu {
  readonly total: number;
  readonly mainUser: number;
  readonly mainSystem: number;
  /** The API threads' (`http.threads`) user + system time, summed. */
  readonly apiThreads: number;
}

/**
 * What the daemon's metrics say of its pauses: its thread's (prom-client's) and, with API
 * threads, theirs. A scrape gives the GC time since the start; a run's report, since its own.
 */
interface DaemonPauses {
  /** GC pause time, ms, by kind (minor, major, incremental, weakcb). */
  readonly gcMs: Record<string, number>;
  /** The longest event-loop delay seen in the run, ms (the histogram is reset at each scrape). */
  readonly loopMaxMs: number;
  readonly loopP99Ms: number;
  /** With API threads: their GC pause time in the run, ms, all threads summed, by kind. */
  readonly threadGcMs: Record<string, number>;
  /** With API threads: the longest event-loop delay of any of them in the run, ms. */
  readonly threadLoopMaxMs: number;
}

async function scrape(url: string): Promise<DaemonPauses> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const gc: Record<string, number> = {};
  for (const m of text.matchAll(
    /^rempart_nodejs_gc_duration_seconds_sum\{kind="(\w+)"\} ([\d.e+-]+)$/gm,
  ))
    gc[m[1]!] = Number(m[2]) * 1000;
  const threadGc: Record<string, number> = {};
  for (const m of text.matchAll(
    /^rempart_http_thread_gc_duration_seconds_total\{thread="\d+",kind="(\w+)"\} ([\d.e+-]+)$/gm,
  ))
    threadGc[m[1]!] = (threadGc[m[1]!] ?? 0) + Number(m[2]) * 1000;
  let threadMax = 0;
  for (const m of text.matchAll(
    /^rempart_http_thread_eventloop_delay_max_seconds\{thread="\d+"\} ([\d.e+-]+)$/gm,
  ))
    threadMax = Math.max(threadMax, Number(m[1]) * 1000);
  const value = (name: string): number =>
    Number(new RegExp(`^${name} ([\\d.e+-]+)$`, "m").exec(text)?.[1] ?? NaN) * 1000;
  return {
    gcMs: gc,
    loopMaxMs: value("rempart_nodejs_eventloop_lag_max_seconds"),
    loopP99Ms: value("rempart_nodejs_eventloop_lag_p99_seconds"),
    threadGcMs: threadGc,
    threadLoopMaxMs: threadMax,
  };
}

/** `--daemon-cpus 0`: the server pinned (taskset), as on a host with that many CPUs. */
function pinned(): string[] {
  const cpus = arg("daemon-cpus", "");
  return cpus === "" ? [] : ["taskset", "-c", cpus];
}

/** The CPU a server spent between two readings, per answer. */
function cpuPerAnswer(before: DaemonCpu, after: DaemonCpu, answered: number): DaemonCpu {
  const per = (k: keyof DaemonCpu): number => (after[k] - before[k]) / answered;
  return {
    total: per("total"),
    mainUser: per("mainUser"),
    mainSystem: per("mainSystem"),
    apiThreads: per("apiThreads"),
  };
}

/** A process's CPU time so far, from /proc (Linux): the main thread is the task with its pid. */
async function processCpuUs(pid: number): Promise<DaemonCpu> {
  const times = async (path: string): Promise<[number, number]> => {
    const stat = await readFile(path, "latin1");
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return [(Number(f[11]) * 1e6) / CLOCK_TICKS, (Number(f[12]) * 1e6) / CLOCK_TICKS];
  };
  const [user, system] = await times(`/proc/${pid}/stat`);
  const [mainUser, mainSystem] = await times(`/proc/${pid}/task/${pid}/stat`);
  // Node names a worker's thread "WorkerThread"; V8's helpers have names of their own.
  let apiThreads = 0;
  for (const task of await readdir(`/proc/${pid}/task`)) {
    const comm = await readFile(`/proc/${pid}/task/${task}/comm`, "latin1").catch(() => "");
    if (comm.trim() !== "WorkerThread") continue;
    const [u, s] = await times(`/proc/${pid}/task/${task}/stat`).catch(() => [0, 0]);
    apiThreads += u + s;
  }
  return { total: user + system, mainUser, mainSystem, apiThreads };
}
const CLOCK_TICKS = 100;

/**
 * `total` whole requests of the mix, each proof of work solved for its own request: the
 * daemon accepts a solution once, so a pool that ran round would change the verdicts.
 */
async function requestPool(spec: LoadSpec, total: number): Promise<Buffer[]> {
  const { hostname } = new URL(spec.url);
  const secret = Buffer.from(spec.secret, "hex");
  const m = mix(secret, await payloads(secret, peopleIn(total), Date.now()), Date.now());
  const requests: Buffer[] = [];
  for (let i = 0; i < total; i++) {
    const { userAgent, ...rest } = m.next(i);
    const body = JSON.stringify({ ...rest, user_agent: userAgent });
    requests.push(
      Buffer.from(
        `POST /v1/guard/assess HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${spec.key}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      ),
    );
  }
  return requests;
}

async function runLoad(spec: LoadSpec): Promise<LoadReport> {
  const { hostname, port } = new URL(spec.url);
  // Full speed on this machine stays well under 20,000/s; the warm-up second comes on top.
  const total = Math.ceil(
    (spec.rate > 0 ? spec.rate : (spec.poolPerSecond ?? 16_000)) * (spec.seconds + 1.5),
  );
  const requests = await requestPool(spec, total);
  const latencies: number[] = [];
  const verdicts: Record<string, number> = {};
  let errors = 0;
  let sent = 0;
  let answered = 0;
  const start = performance.now() + 1000; // the first second warms up
  const stopAt = start + spec.seconds * 1000;
  const cpu0 = process.cpuUsage();
  // Open loop: request j is due at start - 1 s + j / rate; free connections take the oldest due.
  const due: number[] = [];
  /** Connections waiting for a due request; `undefined` tells them to close. */
  const idle: ((at: number | undefined) => void)[] = [];
  let nextDue = start - 1000;
  const clock =
    spec.rate > 0
      ? setInterval(() => {
          const now = performance.now();
          if (now >= stopAt) {
            clearInterval(clock);
            for (const c of idle.splice(0)) c(undefined);
            return;
          }
          for (; nextDue <= now; nextDue += 1000 / spec.rate) {
            const c = idle.shift();
            if (c === undefined) due.push(nextDue);
            else c(nextDue);
          }
        }, 1)
      : undefined;
  await Promise.all(
    Array.from(
      { length: spec.connections },
      () =>
        new Promise<void>((resolve, reject) => {
          const socket = connect(Number(port), hostname);
          socket.setNoDelay(true);
          let sentAt = 0;
          const send = (at: number | undefined): void => {
            if (at === undefined) {
              socket.end();
              resolve();
              return;
            }
            if (sent >= requests.length) throw new Error("the request pool ran out");
            sentAt = at;
            socket.write(requests[sent++]!);
          };
          const next = (): void => {
            const now = performance.now();
            if (now >= stopAt) {
              socket.end();
              resolve();
            } else if (spec.rate === 0) send(now);
            else if (due.length > 0) send(due.shift());
            else idle.push(send);
          };
          socket.on("connect", next);
          socket.on("error", reject);
          onHttpResponses(socket, (head, raw) => {
            const now = performance.now();
            answered++;
            if (sentAt >= start && now < stopAt) {
              latencies.push((now - sentAt) * 1000);
              if (!head.startsWith("HTTP/1.1 200")) errors++;
              const body = raw.toString("utf8");
              const v = /"verdict":"(\w+)"/.exec(body)?.[1] ?? `HTTP ${head.slice(9, 12)}`;
              verdicts[v] = (verdicts[v] ?? 0) + 1;
            }
            next();
          });
        }),
    ),
  );
  if (clock !== undefined) clearInterval(clock);
  return report();

  function report(): LoadReport {
    const cpu = process.cpuUsage(cpu0);
    const sorted = Float64Array.from(latencies).sort();
    return {
      rate: spec.rate,
      requests: latencies.length,
      errors,
      seconds: spec.seconds,
      p50: pct(sorted, 50) / 1000,
      p99: pct(sorted, 99) / 1000,
      max: (sorted[sorted.length - 1] ?? NaN) / 1000,
      verdicts,
      loadCpuPct: ((cpu.user + cpu.system) / 1e6 / (spec.seconds + 1)) * 100,
      answered,
    };
  }
}

// ── (a) In process ─────────────────────────────────────────────────────────────────────

async function inProcess(n: number): Promise<{
  mean: number;
  wallMean: number;
  p50: number;
  p99: number;
  p999: number;
  verdicts: Record<string, number>;
}> {
  const dir = await mkdtemp(join(tmpdir(), "rempart-bench-assess-"));
  try {
    const secret = randomBytes(32);
    const config = GuardConfigSchema.parse({
      forms: { [FORM]: { min_fill: "3s", identities: [["name"], ["comment"]] } },
      pow: { secret: secret.toString("hex") },
      email: { mx: { enabled: false } },
    });
    const log = (line: string): void => console.error(line);
    const networks = new GuardNetworks(config.networks, dir, log);
    // `--reputation N`: N addresses scored, as the daemon's book holds them after reports
    // (docs/reputation.md); the guard reads each submission's address in it.
    const scored = Number(arg("reputation", "0"));
    const reputation = new ReputationBook({
      halfLifeMs: 7 * 86_400_000,
      maxEntries: 2 * scored + 2,
    });
    for (let i = 0; i < scored; i++)
      reputation.add({
        ip: `${11 + ((i >>> 16) % 200)}.${(i >>> 8) & 255}.${i & 255}.${1 + (i % 7)}`,
        time: Date.now() - (i % 30) * 86_400_000,
        weight: 1,
        reporter: "rempart",
        categories: [18],
      });
    const running = await startGuard(config, {
      dataDir: dir,
      networks,
      book: new DecisionBook(),
      ...(scored > 0
        ? { reputation: (ip: string, now: number) => reputation.confidence(ip, now) }
        : {}),
      live: true,
      log,
    });
    const warm = 20_000;
    const probed = 30_000;
    const total = warm + n + probed;
    const now = Date.now();
    const m = mix(secret, await payloads(secret, peopleIn(total), now), now);
    const subs: Submission[] = [];
    for (let i = 0; i < total; i++) subs.push({ ...m.next(i), time: now + i });
    const verdicts: Record<string, number> = {};
    const g = running.guard;
    for (let i = 0; i < warm; i++) {
      const a = await g.assess(subs[i]!);
      if (process.env["BENCH_DEBUG"] !== undefined && (i < 20 || i % 5000 === 0))
        console.error(i, subs[i]!.ip, a.verdict, a.score.toFixed(2), a.reasons.join(","));
    }
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = warm; i < warm + n; i++) {
      const a = await g.assess(subs[i]!);
      verdicts[a.verdict] = (verdicts[a.verdict] ?? 0) + 1;
    }
    const wallMean = ((performance.now() - t0) * 1000) / n;
    const cpu = process.cpuUsage(cpu0);
    const mean = (cpu.user + cpu.system) / n;
    // Per call: a CPU probe (getrusage, about a microsecond) on each side.
    const each = new Float64Array(probed);
    for (let i = 0; i < probed; i++) {
      const c0 = process.cpuUsage();
      await g.assess(subs[warm + n + i]!);
      const c = process.cpuUsage(c0);
      each[i] = c.user + c.system;
    }
    each.sort();
    await running.stop();
    return {
      mean,
      wallMean,
      p50: pct(each, 50),
      p99: pct(each, 99),
      p999: pct(each, 99.9),
      verdicts,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The daemon's configuration for (b) and (c): the form, the secret, MX look-ups off. */
function daemonConfig(dir: string, secret: string, threads = 0): string {
  return [
    `data_dir: ${join(dir, "data")}`,
    "http:",
    '  listen: "127.0.0.1:0"',
    `  threads: ${threads}`,
    "sources: []",
    "guard:",
    "  forms:",
    `    ${FORM}:`,
    "      min_fill: 3s",
    "      identities: [[name], [comment]]",
    "  pow:",
    `    secret: "${secret}"`,
    "  email:",
    "    mx: { enabled: false }",
    "",
  ].join("\n");
}

const GC_KINDS: Readonly<Record<number, string>> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};

// ── (c) The daemon's API in process, without sockets ──────────────────────────────────────

/**
 * The real daemon and API handler, called directly with the requests (b) sends: what a
 * request costs the daemon above the HTTP server and the socket.
 */
async function apiInProcess(n: number): Promise<{
  mean: number;
  verdicts: Record<string, number>;
  gc: Record<string, { ms: number; count: number }>;
}> {
  const dir = await mkdtemp(join(tmpdir(), "rempart-bench-assess-api-"));
  try {
    const secret = randomBytes(32);
    const file = join(dir, "rempart.yaml");
    await writeFile(file, daemonConfig(dir, secret.toString("hex")));
    const daemon = await Daemon.open(await loadConfig(file), { log: () => undefined });
    const api = createApi(daemon, { version: "bench" });
    await daemon.start();
    try {
      const key = await createApiKey(daemon.storage, "bench", "sensor", Date.now());
      const warm = 20_000;
      const total = warm + n;
      const m = mix(secret, await payloads(secret, peopleIn(total), Date.now()), Date.now());
      const connection = {};
      const requests: ApiRequest[] = [];
      for (let i = 0; i < total; i++) {
        const { userAgent, ...rest } = m.next(i);
        requests.push({
          method: "POST",
          path: "/v1/guard/assess",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: Buffer.from(JSON.stringify({ ...rest, user_agent: userAgent })),
          remoteAddress: "127.0.0.1",
          connection,
        });
      }
      for (let i = 0; i < warm; i++) await api.handle(requests[i]!);
      const verdicts: Record<string, number> = {};
      // The collector's pauses over the run: what the daemon's heap costs, less noisy on a
      // shared VM than the CPU time.
      const gc: Record<string, { ms: number; count: number }> = {};
      const observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          const kind =
            GC_KINDS[(e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0] ??
            "other";
          const k = (gc[kind] ??= { ms: 0, count: 0 });
          k.ms += e.duration;
          k.count++;
        }
      });
      observer.observe({ entryTypes: ["gc"] });
      const cpu0 = process.cpuUsage();
      for (let i = warm; i < total; i++) {
        const r = await api.handle(requests[i]!);
        const v = /"verdict":"(\w+)"/.exec(String(r.body))?.[1] ?? `HTTP ${r.status}`;
        verdicts[v] = (verdicts[v] ?? 0) + 1;
      }
      const cpu = process.cpuUsage(cpu0);
      // The observer hears of the last pauses a turn later.
      await new Promise((resolve) => setTimeout(resolve, 50));
      observer.disconnect();
      if (process.argv.includes("--heap-snapshot")) {
        // What the daemon holds after the requests (bench/heap-summary.ts reads it).
        const { writeHeapSnapshot } = await import("node:v8");
        console.error(
          `heap snapshot: ${writeHeapSnapshot(join(tmpdir(), "rempart-api.heapsnapshot"))}`,
        );
      }
      return { mean: (cpu.user + cpu.system) / n, verdicts, gc };
    } finally {
      await daemon.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ── (b) The daemon ─────────────────────────────────────────────────────────────────────

async function overHttp(
  seconds: number,
  rates: readonly number[],
  connections: number,
  threads: number,
): Promise<LoadReport[]> {
  const dir = await mkdtemp(join(tmpdir(), "rempart-bench-assess-http-"));
  try {
    const secret = randomBytes(32).toString("hex");
    const config = join(dir, "rempart.yaml");
    await writeFile(config, daemonConfig(dir, secret, threads));
    const { stdout } = await promisify(execFile)(process.execPath, [
      BIN,
      "keys",
      "create",
      "bench",
      "--role",
      "sensor",
      "--config",
      config,
    ]);
    const key = /rmp_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/.exec(stdout)?.[0];
    if (key === undefined) throw new Error(`no key in: ${stdout}`);
    const daemon = startDaemon(config, DAEMON_FLAGS, pinned());
    try {
      const url = await daemon.url();
      const reports: LoadReport[] = [];
      const pid = daemon.child.pid!;
      for (const rate of rates) {
        const spec: LoadSpec = { url, key, secret, connections, seconds, rate };
        const cpu0 = await processCpuUs(pid);
        const before = await scrape(url);
        const report = await load(spec);
        const after = await scrape(url);
        const cpu = await processCpuUs(pid);
        const since = (a: Record<string, number>, b: Record<string, number>) =>
          Object.fromEntries(Object.entries(a).map(([kind, ms]) => [kind, ms - (b[kind] ?? 0)]));
        report.pauses = {
          ...after,
          gcMs: since(after.gcMs, before.gcMs),
          // A thread started again in the run would count from zero: not expected here.
          threadGcMs: since(after.threadGcMs, before.threadGcMs),
        };
        report.daemon = cpuPerAnswer(cpu0, cpu, report.answered);
        reports.push(report);
      }
      return reports;
    } finally {
      daemon.child.kill("SIGTERM");
      await daemon.exited;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ── (b) The C client: open loop, on a core of its own ──────────────────────────────────

const C_CLIENT = join(import.meta.dirname, "out", "open-loop-http");

/**
 * `--client c`: the open-loop run by bench/open-loop-http.c (built here with cc), pinned to
 * `--client-cpu` (default 1). It spins on its own core and allocates nothing while it runs, so
 * that its own pauses do not read as the server's tail, as the Node client's collections do.
 * It counts statuses, not verdicts.
 */
async function cLoad(spec: LoadSpec): Promise<LoadReport> {
  const dir = await mkdtemp(join(tmpdir(), "rempart-bench-assess-c-"));
  try {
    await mkdir(dirname(C_CLIENT), { recursive: true });
    const source = join(import.meta.dirname, "open-loop-http.c");
    await promisify(execFile)("cc", ["-O2", "-Wall", "-o", C_CLIENT, source]).catch(
      (e: unknown) => {
        throw new Error(`--client c builds ${source} with cc (Debian package gcc): ${String(e)}`);
      },
    );
    // The warm-up second and the measured ones, with room to spare: no solution sent twice.
    const pool = await requestPool(spec, Math.ceil(spec.rate * (spec.seconds + 1) * 1.05) + 64);
    const file = join(dir, "requests");
    await writeFile(file, Buffer.concat(pool.flatMap((r) => [r, Buffer.of(0)])));
    const stolen = await stealMs();
    const { stdout } = await promisify(execFile)("taskset", [
      ...["-c", arg("client-cpu", "1"), C_CLIENT],
      ...["--port", new URL(spec.url).port, "--requests", file, "--label", "guard"],
      ...["--rate", String(spec.rate), "--seconds", String(spec.seconds)],
      ...["--connections", String(spec.connections)],
    ]);
    // label|answers/s|p50|p99|non-2xx|max|the client's longest pause; times as "1.23ms"
    const f = stdout.trim().split("|");
    const ms = (i: number): number => Number.parseFloat(f[i] ?? "NaN");
    const perSecond = Number(f[1]);
    return {
      rate: spec.rate,
      requests: perSecond * spec.seconds,
      errors: Number(f[4]),
      seconds: spec.seconds,
      p50: ms(2),
      p99: ms(3),
      max: ms(5),
      verdicts: {},
      loadCpuPct: NaN, // a whole core, by design
      answered: Math.round(perSecond * (spec.seconds + 1)),
      client: { stallMs: ms(6), stealMs: (await stealMs()) - stolen },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Time the hypervisor took from this machine's CPUs so far, ms (/proc/stat's steal column). */
async function stealMs(): Promise<number> {
  const cpu = (await readFile("/proc/stat", "latin1")).split("\n", 1)[0]!.trim().split(/\s+/);
  return (Number(cpu[8]) * 1000) / CLOCK_TICKS;
}

/** A run by the client `--client` names: node (the default), or c for open-loop runs. */
function load(spec: LoadSpec): Promise<LoadReport> {
  if (CLIENT === "node") return loadProcess(spec);
  if (spec.rate === 0) throw new Error("--client c runs open loop only: give --rate");
  return cLoad(spec);
}

function loadProcess(spec: LoadSpec): Promise<LoadReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [import.meta.filename, "--load", JSON.stringify(spec)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.on("exit", (code) =>
      code === 0
        ? resolve(JSON.parse(out) as LoadReport)
        : reject(new Error(`load generator exited ${code}`)),
    );
  });
}

const gcText = (gc: Record<string, number>): string =>
  Object.entries(gc)
    .filter(([, ms]) => ms > 0)
    .map(([kind, ms]) => `${kind} ${fmt(ms, 0)}`)
    .join(", ");

const pauses = (p: DaemonPauses | undefined): string =>
  p === undefined
    ? "?"
    : `${fmt(p.loopP99Ms)} / ${fmt(p.loopMaxMs)}; ${gcText(p.gcMs)}` +
      (Object.keys(p.threadGcMs).length === 0
        ? ""
        : ` (API threads: loop max ${fmt(p.threadLoopMaxMs)}; ${gcText(p.threadGcMs)})`);

const loadText = (r: LoadReport): string =>
  r.rate === 0 ? "full speed" : `${r.rate.toLocaleString("en-US")}/s offered`;

const clientText = (r: LoadReport): string =>
  r.client === undefined
    ? `${fmt(r.loadCpuPct, 0)} % CPU`
    : `C, own core; longest pause ${fmt(r.client.stallMs, 2)} ms; steal ${fmt(r.client.stealMs, 0)} ms`;

const daemonCpu = (c: DaemonCpu | undefined): string =>
  c === undefined
    ? "?"
    : `${fmt(c.total, 0)} µs (${fmt(c.mainUser, 0)} + ${fmt(c.mainSystem, 0)} µs` +
      (c.apiThreads > 0 ? `; API threads ${fmt(c.apiThreads, 0)} µs)` : ")");

// ── (d) The floor: HTTP alone ──────────────────────────────────────────────────────────

/** In its own process: a node:http server that parses each body and answers a constant. */
function bareServer(): void {
  const answer = '{"verdict":"allow","score":0.1,"reasons":["pow-solved"]}';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      JSON.parse(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(answer),
      });
      res.end(answer);
    });
  });
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
  });
}

async function floor(seconds: number, connections: number, rate: number): Promise<LoadReport> {
  // Pinned as the daemon is.
  const [command, ...args] = [...pinned(), process.execPath, import.meta.filename, "--bare-server"];
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once("data", (b: Buffer) => resolve(Number(b.toString().trim())));
      child.once("exit", (code) => reject(new Error(`the bare server exited ${code}`)));
    });
    const url = `http://127.0.0.1:${port}`;
    // It answers faster than the daemon: a larger pool of requests.
    const spec: LoadSpec = { url, key: "-", secret: "00", connections, seconds, rate };
    const cpu0 = await processCpuUs(child.pid!);
    const report = await load({ ...spec, poolPerSecond: 40_000 });
    const cpu = await processCpuUs(child.pid!);
    report.daemon = cpuPerAnswer(cpu0, cpu, report.answered);
    return report;
  } finally {
    child.kill();
  }
}

// ── Main ───────────────────────────────────────────────────────────────────────────────

if (process.argv.includes("--load")) {
  process.stdout.write(JSON.stringify(await runLoad(JSON.parse(arg("load", "{}")) as LoadSpec)));
} else if (process.argv.includes("--bare-server")) {
  bareServer();
} else if (arg("part", "all") === "floor") {
  const seconds = Number(arg("seconds", "10"));
  const connections = Number(arg("connections", "32"));
  console.log(
    `(d) the floor: a bare node:http server (parses the JSON body, answers a constant), ${connections} keep-alive connections, ${seconds} s each; client: ${CLIENT}`,
  );
  console.log(
    "| load | requests/s | p50 ms | p99 ms | max ms | server CPU per request (main thread: user + system) | load generator |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
  for (const rate of RATES.length > 0 ? RATES : [0]) {
    const r = await floor(seconds, connections, rate);
    console.log(
      `| ${loadText(r)} | ${fmt(r.requests / r.seconds, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.max, 1)} | ${daemonCpu(r.daemon)} | ${clientText(r)} |`,
    );
  }
} else {
  const n = Number(arg("n", "100000"));
  const seconds = Number(arg("seconds", "10"));
  const connections = Number(arg("connections", "32"));
  const part = arg("part", "all");
  const threads = Number(arg("threads", "0"));
  const a = part === "all" || part === "process" ? await inProcess(n) : undefined;
  if (a !== undefined) {
    console.log(`(a) in process, ${n.toLocaleString("en-US")} assessments after 20,000 of warm-up`);
    console.log("| figure | value |\n| --- | ---: |");
    console.log(`| CPU per assessment, mean | ${fmt(a.mean)} µs |`);
    console.log(`| wall per assessment, mean (sequential) | ${fmt(a.wallMean)} µs |`);
    console.log(
      `| CPU per assessment, p50 / p99 / p99.9 (30,000 probed) | ${fmt(a.p50, 0)} / ${fmt(a.p99, 0)} / ${fmt(a.p999, 0)} µs |`,
    );
    console.log(`| verdicts | ${JSON.stringify(a.verdicts)} |`);
  }
  if (part === "all" || part === "api") {
    const c = await apiInProcess(n);
    console.log(
      `\n(c) the daemon's API in process (no sockets), ${n.toLocaleString("en-US")} requests`,
    );
    console.log("| figure | value |\n| --- | ---: |");
    console.log(`| CPU per request, mean | ${fmt(c.mean)} µs |`);
    for (const [kind, g] of Object.entries(c.gc))
      console.log(`| GC pauses, ${kind}: time (count) | ${fmt(g.ms, 0)} ms (${g.count}) |`);
    console.log(`| verdicts | ${JSON.stringify(c.verdicts)} |`);
  }
  const reports =
    part === "all" || part === "http"
      ? await overHttp(
          seconds,
          // The Node client: full speed, then open loop; the C client: open loop only.
          CLIENT === "node" ? [0, ...(RATES.length > 0 ? RATES : [10_000])] : RATES,
          connections,
          threads,
        )
      : [];
  console.log(
    `\n(b) over HTTP, POST /v1/guard/assess, ${connections} keep-alive connections, ${seconds} s each; daemon: node ${DAEMON_FLAGS.join(" ") || "(no flags)"}, http.threads ${threads}${arg("daemon-cpus", "") === "" ? "" : `, CPUs ${arg("daemon-cpus", "")}`}`,
  );
  console.log(
    "| load | assessments/s | p50 ms | p99 ms | max ms | errors | daemon CPU per assessment (main thread: user + system; API threads) | load generator | daemon thread: loop delay p99 / max ms, GC ms (API threads: the longest loop delay, GC ms summed) | verdicts |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |");
  for (const r of reports)
    console.log(
      `| ${loadText(r)} | ${fmt(r.requests / r.seconds, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.max, 1)} | ${r.errors} | ${daemonCpu(r.daemon)} | ${clientText(r)} | ${pauses(r.pauses)} | ${CLIENT === "c" ? "(not counted)" : JSON.stringify(r.verdicts)} |`,
    );
}
