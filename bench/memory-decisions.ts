/**
 * Memory of 1M active decisions in the daemon as an operator runs it: `rempart start` (the
 * flags of `npm start` and bin/rempart.js, the build that command runs) over a real SQLite
 * database holding them, with `enforcers.nftables` configured, whose command is a stand-in
 * that reads and discards the script (nft's memory is the kernel's and nft's, not Rempart's).
 * The figure is the process's resident memory (/proc/PID/status VmRSS) once it is serving,
 * and again after it has sat quiet: nothing forces a collection, so what a collection would
 * free and V8 keeps counts, as it does for the operator.
 *
 *   node bench/memory-decisions.ts [--decisions 1000000] [--db FILE] [--keep] [--quiet-seconds 20]
 *                                  [--daemon-flags="--max-semi-space-size=8"]
 *   node bench/memory-decisions.ts --in-process [--db FILE] [--sources]
 *   node bench/memory-decisions.ts --synthetic
 *
 * `--in-process` breaks the same load down by step in a child process (the daemon's flags, or
 * `--daemon-flags`, plus `--expose-gc`): `Daemon.open` (book + escalation memory), then `start()` (+ the enforcer's
 * state), with RSS and heap after three full collections at each step. Those collections free
 * what the operator's daemon may keep, so its RSS reads lower than the daemon's. It loads the
 * modules as the command does (bin/entry.js), or the TypeScript sources with `--sources`.
 * `--synthetic` measures what bench/nftables.ts measured (its figures in RESULTS.md): 1M
 * decisions made in process (short ids, 90 % IPv4, 10 % IPv6 addresses, no escalation memory)
 * into a DecisionBook, then an NftablesEnforcer resync, same flags.
 *
 * The parent makes the database once (or reuses --db; its decisions expire 3–4 h after it was
 * made). Target (issue #3): 1M active decisions in at most 300 MB of Rempart's memory.
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Action, Origin, Scope } from "../src/core/index.ts";
import { makeDecisionDatabase, writeDaemonConfig } from "./decision-db.ts";
import { buildIsFresh, entry } from "../bin/entry.js";
import { startDaemon } from "../test/support/daemon.ts";
import { daemonFlags } from "./daemon-flags.ts";

const { values } = parseArgs({
  options: {
    decisions: { type: "string", default: "1000000" },
    db: { type: "string" },
    keep: { type: "boolean", default: false },
    child: { type: "boolean", default: false },
    synthetic: { type: "boolean", default: false },
    sources: { type: "boolean", default: false },
    "in-process": { type: "boolean", default: false },
    "quiet-seconds": { type: "string", default: "20" },
    "daemon-flags": { type: "string" },
  },
});

const mb = (n: number): string => (n / 1048576).toFixed(0);

/** The daemon's flags: those of `npm start`, unless `--daemon-flags` says. */
const DAEMON_FLAGS = daemonFlags();

const statusKb = (pid: number, field: string): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(
    readFileSync(`/proc/${pid}/status`, "utf8"),
  );
  if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
};

interface Sample {
  readonly step: string;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
}

if (values.child && values.synthetic) await measureSynthetic();
else if (values.child) await measure(values.db!);
else await main();

async function main(): Promise<void> {
  const n = Number(values.decisions);
  const dir = values.db === undefined ? mkdtempSync(join(tmpdir(), "rempart-memdec-")) : "";
  const db = values.db ?? join(dir, "rempart.db");
  try {
    if (!values.synthetic && !existsSync(db)) {
      const t = performance.now();
      await makeDatabase(db, n);
      console.log(`made ${db}: ${n} decisions in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    if (!values.synthetic && !values["in-process"]) {
      await measureDaemon(db);
      return;
    }
    const child = spawnSync(
      process.execPath,
      [
        ...DAEMON_FLAGS,
        "--expose-gc",
        new URL(import.meta.url).pathname,
        "--child",
        ...(values["in-process"] ? ["--in-process"] : []),
        ...(values.synthetic ? ["--synthetic"] : ["--db", db]),
        ...(values.sources ? ["--sources"] : []),
      ],
      { stdio: ["ignore", "inherit", "inherit"] },
    );
    if (child.status !== 0) process.exitCode = 1;
  } finally {
    if (dir !== "" && !values.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * 1M decisions shaped like a busy host's: 90 % IPv4 addresses, 9 % IPv6 addresses, 1 % ranges;
 * random UUID ids (as the daemon makes them); a dozen scenarios, their reasons (a few carrying an
 * escalation step), expiries spread over the next 4 hours.
 */
async function makeDatabase(path: string, n: number): Promise<void> {
  const scenarios = [
    "ssh-bruteforce",
    "smtp-auth-bruteforce",
    "imap-auth-bruteforce",
    "http-scan",
    "http-login-flood",
    "mail-spam-burst",
    "rbl-import",
    "crowdsec-community",
    "manual",
    "dnsbl-hit",
    "form-flood",
    "signup-burst",
  ];
  await makeDecisionDatabase(path, n, (i, now) => {
    const r = i % 100;
    const scope: Scope = r === 0 ? "range" : "ip";
    const value =
      r === 0
        ? i % 200 === 0
          ? `${20 + ((i >>> 16) & 63)}.${(i >>> 8) & 255}.${i & 255}.0/24`
          : `2001:db8:${(i >>> 16).toString(16)}:${(i & 65535).toString(16)}::/64`
        : r < 10
          ? `2001:db8:${(i >>> 16).toString(16)}:${(i & 65535).toString(16)}::${r}`
          : `${11 + (i >>> 24)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
    const scenario = scenarios[i % scenarios.length]!;
    const offence = i % 7 === 0 ? 1 : 0;
    const origin: Origin = scenario === "manual" ? "manual" : i % 3 === 0 ? "import" : "scenario";
    const action: Action = "ban";
    const createdAt = now - (i % 3600) * 1000;
    return {
      id: randomUUID(),
      action,
      scope,
      value,
      createdAt,
      expiresAt: createdAt + 4 * 3_600_000,
      origin,
      scenario,
      reason:
        offence > 0
          ? `${scenario}: threshold reached (offence 2: 8h)`
          : `${scenario}: threshold reached`,
      offence,
      tzOffset: 0,
    };
  });
}

function sampler(): { samples: Sample[]; sample: (step: string) => void } {
  const gc = (globalThis as { gc?: () => void }).gc!;
  const samples: Sample[] = [];
  const sample = (step: string): void => {
    for (let k = 0; k < 3; k++) gc();
    const m = process.memoryUsage();
    samples.push({
      step,
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
    });
  };
  return { samples, sample };
}

function print(samples: readonly Sample[]): void {
  console.log("| step | RSS MB | heap used MB | heap total MB | external MB |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const s of samples)
    console.log(
      `| ${s.step} | ${mb(s.rss)} | ${mb(s.heapUsed)} | ${mb(s.heapTotal)} | ${mb(s.external)} |`,
    );
}

/** bench/nftables.ts's memory part, without nft: the same decisions, book, then resync. */
async function measureSynthetic(): Promise<void> {
  const { DecisionBook } = await import("../src/decisions/index.ts");
  const { NftablesConfigSchema, NftablesEnforcer } =
    await import("../src/enforcers/nftables/index.ts");
  const { systemClock } = await import("../src/core/index.ts");
  const { samples, sample } = sampler();
  const until = Date.now() + 3 * 3_600_000;
  const v4 = (i: number): string =>
    `${11 + (i >>> 24)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
  const v6 = (i: number): string =>
    `2001:db8:${(i >>> 16).toString(16)}:${(i & 65535).toString(16)}::1`;
  sample("before the book (modules loaded)");
  const book = new DecisionBook();
  for (let i = 0; i < 1_000_000; i++) {
    const value = i % 10 === 0 ? v6(i) : v4(i * 3 + 1);
    book.add({
      id: `d${i + 1}`,
      action: "ban",
      scope: "ip",
      value,
      createdAt: 0,
      expiresAt: until + (i % 3600) * 1000,
      origin: "import",
      scenario: "bench",
      reason: "bench",
      offence: 0,
      tzOffset: 0,
    });
  }
  sample("after the book");
  const enforcer = new NftablesEnforcer(
    NftablesConfigSchema.parse({}),
    { run: () => Promise.resolve() },
    systemClock,
  );
  await enforcer.resync(book.all()); // read as it comes, as the daemon does
  sample("after resync: + nftables enforcer state");
  console.log(
    `node ${process.version}, flags ${process.execArgv.join(" ")}; ${book.size} decisions, ${enforcer.size.addresses} addresses in the enforcer (synthetic, as bench/nftables.ts)`,
  );
  print(samples);
}

async function measure(db: string): Promise<void> {
  const fresh = !values.sources && buildIsFresh();
  const { ConfigSchema } = (await import(
    entry("daemon/config", fresh)
  )) as typeof import("../src/daemon/config.ts");
  const { Daemon } = (await import(
    entry("daemon/daemon", fresh)
  )) as typeof import("../src/daemon/daemon.ts");
  const { samples, sample } = sampler();
  const parsed = ConfigSchema.parse({
    data_dir: join(db, ".."),
    storage: { sqlite_file: db },
    // nft's part is not Rempart's memory: a stand-in reads the script and discards it.
    enforcers: { nftables: { command: ["sh", "-c", "cat >/dev/null"] } },
  });
  const config = { ...parsed, sources: [], origin: "bench", autodetected: false };
  sample("before open (modules loaded)");
  const t0 = performance.now();
  const daemon = await Daemon.open(config, { hostAddresses: [], log: () => undefined });
  const openS = (performance.now() - t0) / 1000;
  sample("after open: book + escalation memory");
  const t1 = performance.now();
  await daemon.start();
  // The push enforcer resyncs on a timer: wait until the whole set was handed over.
  const size = daemon.counters().activeDecisions;
  await new Promise((r) => setTimeout(r, 1000));
  const startS = (performance.now() - t1) / 1000;
  sample("after start: + nftables enforcer state");
  await daemon.stop();
  console.log(
    `node ${process.version}, flags ${process.execArgv.join(" ")}, ${fresh ? "compiled build (dist/)" : "TypeScript sources"}; ${size} active decisions; open ${openS.toFixed(1)} s, start ${startS.toFixed(1)} s`,
  );
  print(samples);
}

/** `rempart start` on the database: RSS once it serves, then after it sat quiet. */
async function measureDaemon(db: string): Promise<void> {
  const config = join(db, "..", "memory-decisions.yaml");
  writeDaemonConfig(config, db, [
    "enforcers:",
    "  nftables:",
    '    command: ["sh", "-c", "cat >/dev/null"]',
  ]);
  const quiet = Number(values["quiet-seconds"]);
  const t0 = performance.now();
  const daemon = startDaemon(config, DAEMON_FLAGS);
  try {
    const url = await daemon.url(300_000);
    const readyS = (performance.now() - t0) / 1000;
    const pid = daemon.child.pid!;
    const rows: string[] = [];
    const row = (when: string): void => {
      rows.push(
        `| ${when} | ${(statusKb(pid, "VmRSS") / 1024).toFixed(0)} | ${(statusKb(pid, "VmHWM") / 1024).toFixed(0)} |`,
      );
    };
    row("serving");
    await new Promise((r) => setTimeout(r, 5000));
    row("5 s later");
    await new Promise((r) => setTimeout(r, Math.max(0, quiet - 5) * 1000));
    row(`${quiet} s later`);
    const check = await fetch(`${url}/metrics`);
    const active = /^rempart_active_decisions(?:\{[^}]*\})? (\d+)/m.exec(await check.text())?.[1];
    console.log(
      `rempart start (${DAEMON_FLAGS.join(" ")}, ${buildIsFresh() ? "compiled build" : "TypeScript sources"}), node ${process.version}; ${active ?? "?"} active decisions; serving after ${readyS.toFixed(1)} s`,
    );
    console.log("| when | RSS MB | peak RSS MB |");
    console.log("| --- | ---: | ---: |");
    for (const r of rows) console.log(r);
  } finally {
    daemon.child.kill("SIGTERM");
    await daemon.exited;
  }
}
