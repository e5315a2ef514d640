// Deterministic generator of a realistic mixed Postfix + Dovecot mail.log for
// the ingestion benchmark (bench/ingest.sh).
//
//   node bench/gen-postfix-log.ts --lines 500000 --out bench/out/postfix.log --seed 1
//   node bench/gen-postfix-log.ts --lines 1000 --format rfc3339 --out -
//
// It models a small mail host (mx1.example.org) over about one day of 2024:
//   - incoming mail from outside: postscreen CONNECT/PASS, smtpd connect, TLS,
//     QUEUEID: client=, cleanup message-id=, qmgr from=/size=/nrcpt=, lmtp
//     (Dovecot) or local delivery to=... status=sent, removed, disconnect;
//   - authenticated submissions by ~160 local accounts through
//     postfix/submission/smtpd (sasl_method=PLAIN, sasl_username=...), relayed by
//     postfix/smtp with status=sent|deferred|bounced;
//   - SASL authentication failures from attacker addresses: fast bursts from
//     some, low-and-slow (one every 5-10 minutes all day) from others, both with
//     and without the ", sasl_username=" suffix Postfix >= 3.x appends;
//   - NOQUEUE rejects (relay denied, unknown user, no reverse DNS, DNSBL);
//   - postscreen PREGREET and DNSBL rank lines;
//   - Dovecot imap-login Login / auth failed lines and auth passwd-file lines.
//
// Addresses come from the documentation ranges (192.0.2.0/24, 198.51.100.0/24,
// 203.0.113.0/24, 2001:db8::/32) and from the benchmarking and shared-address
// ranges (198.18.0.0/15, 100.64.0.0/10); they are only strings in a file.
// The same --seed and --lines always give the same bytes.

import { createWriteStream } from "node:fs";
import type { WriteStream } from "node:fs";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";

// ---------------------------------------------------------------------------
// Options

interface Options {
  readonly lines: number;
  readonly out: string;
  readonly seed: number;
  readonly format: "bsd" | "rfc3339";
  readonly start: number; // epoch ms, UTC
}

function usage(msg: string): never {
  process.stderr.write(
    `${msg}\nusage: node bench/gen-postfix-log.ts --lines N --out FILE|- [--seed N] [--format bsd|rfc3339] [--start 2024-03-14T00:00:00Z]\n`,
  );
  process.exit(2);
}

function readOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      lines: { type: "string", default: "500000" },
      out: { type: "string", default: "-" },
      seed: { type: "string", default: "1" },
      format: { type: "string", default: "bsd" },
      start: { type: "string", default: "2024-03-14T00:00:00Z" },
    },
    strict: true,
    allowPositionals: false,
  });
  const lines = Number(values.lines);
  if (!Number.isInteger(lines) || lines < 1)
    usage(`--lines: not a positive integer: ${values.lines}`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) usage(`--seed: not an integer: ${values.seed}`);
  const format = values.format;
  if (format !== "bsd" && format !== "rfc3339") usage(`--format: bsd or rfc3339, not ${format}`);
  const start = Date.parse(values.start);
  if (Number.isNaN(start)) usage(`--start: not a date: ${values.start}`);
  return { lines, out: values.out, seed, format, start };
}

// ---------------------------------------------------------------------------
// Seeded PRNG (sfc32 seeded through splitmix32): deterministic, fast.

class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 16; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.float() * items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }

  /** Exponential with the given mean. */
  exp(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }

  hex(n: number, upper: boolean): string {
    const digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    let s = "";
    for (let i = 0; i < n; i++) s += digits.charAt(this.u32() & 15);
    return s;
  }

  b64(n: number): string {
    const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let s = "";
    for (let i = 0; i < n; i++) s += digits.charAt(this.u32() & 63);
    return s;
  }
}

// ---------------------------------------------------------------------------
// Timestamps

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

function bsdStamp(ms: number): string {
  const d = new Date(ms);
  const day = d.getUTCDate();
  return `${MONTHS[d.getUTCMonth()]} ${day < 10 ? ` ${day}` : String(day)} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

function rfc3339Stamp(ms: number): string {
  const d = new Date(ms);
  const micros = String(d.getUTCMilliseconds() * 1000 + (Math.floor(ms * 1000) % 1000)).padStart(
    6,
    "0",
  );
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${micros}+00:00`;
}

// ---------------------------------------------------------------------------
// The world: host, accounts, peers, attackers

const HOST = "mx1";
const DOMAIN = "example.org";
const SERVER_IP = "192.0.2.10";
const DAY_MS = 86_400_000;

const FIRST_NAMES = [
  "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
  "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yvonne",
  "anna", "marc", "julie", "paul", "claire", "louis", "emma", "hugo", "lea", "jules",
  "nora", "theo", "ines", "remi", "zoe", "adam", "lina", "sacha", "maya", "noe",
]; // prettier-ignore
const SUFFIXES = ["", ".martin", ".bernard", ".dubois"];
const ROLE_ACCOUNTS = ["contact", "info", "admin", "billing", "support", "noreply", "postmaster"];

const ATTACK_USERS = [
  "admin", "info", "test", "contact", "sales", "office", "user", "support", "webmaster",
  "postmaster", "marketing", "hr", "root", "mail", "backup", "scanner", "alice", "bob",
]; // prettier-ignore

const EXTERNAL_DOMAINS = [
  "example.com", "example.net", "mail.example.com", "lists.example.net", "shop.example.com",
  "news.example.net", "bank.example.com", "school.example.net", "city.example.com",
]; // prettier-ignore

const TLS_SUITES = [
  "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
  "TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
  "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
]; // prettier-ignore

const SASL_FAIL_REASONS = ["UGFzc3dvcmQ6", "authentication failure", "generic failure"];

interface Peer {
  readonly name: string; // reverse DNS name or "unknown"
  readonly ip: string;
}

interface Account {
  readonly user: string; // full address
  readonly homeIp: string; // where the account usually submits from
  readonly mobileIp: string;
}

interface World {
  readonly accounts: readonly Account[];
  readonly senders: readonly Peer[]; // outside MTAs sending us mail
  readonly remoteMx: readonly Peer[]; // where submissions are relayed to
  readonly spammers: readonly Peer[];
}

function docIp(rng: Rng): string {
  const net = rng.pick(["192.0.2", "198.51.100", "203.0.113"]);
  return `${net}.${rng.int(1, 254)}`;
}

function benchIp(rng: Rng): string {
  return `198.${rng.int(18, 19)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

function cgnatIp(rng: Rng): string {
  return `100.${rng.int(64, 127)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

function v6Ip(rng: Rng): string {
  return `2001:db8:${rng.hex(4, false).replace(/^0+(?=.)/, "")}::${rng.hex(3, false).replace(/^0+(?=.)/, "")}`;
}

function makeWorld(rng: Rng): World {
  const accounts: Account[] = [];
  const seen = new Set<string>();
  for (const role of ROLE_ACCOUNTS) seen.add(role);
  for (const role of ROLE_ACCOUNTS) {
    accounts.push({ user: `${role}@${DOMAIN}`, homeIp: benchIp(rng), mobileIp: cgnatIp(rng) });
  }
  while (accounts.length < 160) {
    const local = rng.pick(FIRST_NAMES) + rng.pick(SUFFIXES);
    if (seen.has(local)) continue;
    seen.add(local);
    accounts.push({
      user: `${local}@${DOMAIN}`,
      homeIp: rng.chance(0.1) ? v6Ip(rng) : benchIp(rng),
      mobileIp: cgnatIp(rng),
    });
  }

  const senders: Peer[] = [];
  for (let i = 0; i < 220; i++) {
    const dom = rng.pick(EXTERNAL_DOMAINS);
    const ip = rng.chance(0.08) ? v6Ip(rng) : rng.chance(0.6) ? docIp(rng) : benchIp(rng);
    senders.push({
      name: `${rng.pick(["mail", "smtp", "mx", "out", "mta"])}${rng.int(1, 40)}.${dom}`,
      ip,
    });
  }
  const remoteMx: Peer[] = EXTERNAL_DOMAINS.map((dom, i) => ({
    name: `mx${(i % 3) + 1}.${dom}`,
    ip: i % 4 === 3 ? v6Ip(rng) : docIp(rng),
  }));
  const spammers: Peer[] = [];
  for (let i = 0; i < 400; i++) {
    spammers.push({
      name: rng.chance(0.7) ? "unknown" : `${rng.int(1, 254)}-${rng.int(1, 254)}.dyn.example.net`,
      ip: rng.chance(0.5) ? docIp(rng) : benchIp(rng),
    });
  }
  return { accounts, senders, remoteMx, spammers };
}

// ---------------------------------------------------------------------------
// Emission

interface Line {
  readonly t: number; // epoch ms (fractional allowed)
  readonly seq: number; // tie-breaker: emission order
  readonly program: string; // "postfix/smtpd[123]" or "dovecot"
  readonly msg: string;
}

class Sink {
  readonly lines: Line[] = [];
  private seq = 0;
  private readonly usedIds = new Set<string>();
  private readonly rng: Rng;

  constructor(rng: Rng) {
    this.rng = rng;
  }

  emit(t: number, program: string, msg: string): void {
    this.lines.push({ t, seq: this.seq++, program, msg });
  }

  /** A Postfix short queue id: 10 or 11 upper-case hex digits, unique. */
  queueId(): string {
    for (;;) {
      const id = this.rng.hex(this.rng.chance(0.8) ? 10 : 11, true);
      if (!this.usedIds.has(id)) {
        this.usedIds.add(id);
        return id;
      }
    }
  }
}

/** Process ids: each daemon has a pool of live pids that turns over during the day. */
class Pids {
  private readonly pools = new Map<string, number[]>();
  private next = 1200;
  private readonly rng: Rng;

  constructor(rng: Rng) {
    this.rng = rng;
  }

  get(daemon: string, t: number, poolSize: number): number {
    const epoch = Math.floor(t / 1_800_000); // processes recycle every ~30 minutes
    const key = `${daemon}@${epoch}`;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = [];
      for (let i = 0; i < poolSize; i++) {
        this.next += this.rng.int(1, 40);
        if (this.next > 4_000_000) this.next = 1200;
        pool.push(this.next);
      }
      this.pools.set(key, pool);
    }
    return this.rng.pick(pool);
  }
}

interface Ctx {
  readonly rng: Rng;
  readonly world: World;
  readonly sink: Sink;
  readonly pids: Pids;
  readonly qmgrPid: number;
  readonly postscreenPid: number;
}

const tag = (daemon: string, pid: number): string => `postfix/${daemon}[${pid}]`;
const hostOf = (p: Peer): string => `${p.name}[${p.ip}]`;

function messageId(ctx: Ctx, t: number, dom: string): string {
  return `<${Math.floor(t / 1000)}.${ctx.rng.hex(8, false)}@${dom}>`;
}

function delays(rng: Rng): { delay: string; delays: string; total: number } {
  const a = rng.exp(0.2);
  const b = rng.exp(0.01);
  const c = rng.exp(0.08);
  const d = rng.exp(0.3);
  const f = (x: number): string => (x < 0.01 ? "0" : x.toFixed(2).replace(/0$/, ""));
  return {
    delay: (a + b + c + d).toFixed(2),
    delays: `${f(a)}/${f(b)}/${f(c)}/${f(d)}`,
    total: (a + b + c + d) * 1000,
  };
}

/** Dovecot LMTP delivery of one message to one local mailbox, as Postfix and Dovecot log it. */
function deliverLocal(ctx: Ctx, t: number, qid: string, rcpt: string, msgid: string): number {
  const { rng, sink } = ctx;
  const d = delays(rng);
  const lmtpPid = ctx.pids.get("lmtp", t, 3);
  const dovePid = ctx.pids.get("dovecot-lmtp", t, 2);
  const sess = rng.b64(22);
  sink.emit(t + 40, "dovecot", `lmtp(${dovePid}): Connect from local`);
  sink.emit(
    t + d.total - 20,
    "dovecot",
    `lmtp(${rcpt})<${dovePid}><${sess}>: msgid=${msgid}: saved mail to INBOX`,
  );
  sink.emit(
    t + d.total,
    tag("lmtp", lmtpPid),
    `${qid}: to=<${rcpt}>, relay=${HOST}.${DOMAIN}[private/dovecot-lmtp], delay=${d.delay}, delays=${d.delays}, dsn=2.0.0, status=sent (250 2.0.0 <${rcpt}> ${sess} Saved)`,
  );
  sink.emit(
    t + d.total + 5,
    "dovecot",
    `lmtp(${dovePid}): Disconnect from local: Logged out (state=READY)`,
  );
  return t + d.total;
}

/** Mail from an outside MTA, through postscreen and smtpd, delivered to local mailboxes. */
function incomingMail(ctx: Ctx, t0: number): void {
  const { rng, world, sink } = ctx;
  const peer = rng.pick(world.senders);
  const port = rng.int(32768, 60999);
  const smtpd = tag("smtpd", ctx.pids.get("smtpd", t0, 12));
  let t = t0;
  const psIp = peer.ip.includes(":") ? `[${peer.ip}]` : `[${peer.ip}]`;
  sink.emit(
    t,
    tag("postscreen", ctx.postscreenPid),
    `CONNECT from ${psIp}:${port} to [${SERVER_IP}]:25`,
  );
  t += rng.int(5, 60);
  sink.emit(
    t,
    tag("postscreen", ctx.postscreenPid),
    `PASS ${rng.chance(0.9) ? "OLD" : "NEW"} ${psIp}:${port}`,
  );
  t += rng.int(1, 20);
  sink.emit(t, smtpd, `connect from ${hostOf(peer)}`);
  t += rng.int(40, 300);
  const tls = rng.chance(0.85);
  if (tls)
    sink.emit(
      t,
      smtpd,
      `Anonymous TLS connection established from ${hostOf(peer)}: ${rng.pick(TLS_SUITES)}`,
    );
  t += rng.int(50, 400);
  const qid = sink.queueId();
  sink.emit(t, smtpd, `${qid}: client=${hostOf(peer)}`);
  const dom = peer.name.split(".").slice(-2).join(".");
  const msgid = messageId(ctx, t, dom);
  t += rng.int(20, 200);
  sink.emit(t, tag("cleanup", ctx.pids.get("cleanup", t, 4)), `${qid}: message-id=${msgid}`);
  const nrcpt = rng.chance(0.85) ? 1 : rng.int(2, 4);
  const size = Math.floor(rng.exp(40_000)) + 1500;
  const from = `${rng.pick(["news", "noreply", "info", "john", "mary", "billing", "alerts", "team"])}@${dom}`;
  t += rng.int(5, 60);
  sink.emit(
    t,
    tag("qmgr", ctx.qmgrPid),
    `${qid}: from=<${from}>, size=${size}, nrcpt=${nrcpt} (queue active)`,
  );
  sink.emit(
    t + rng.int(10, 120),
    smtpd,
    `disconnect from ${hostOf(peer)} ehlo=${tls ? 2 : 1}${tls ? " starttls=1" : ""} mail=1 rcpt=${nrcpt} data=1 quit=1 commands=${(tls ? 6 : 4) + nrcpt}`,
  );
  let end = t;
  for (let i = 0; i < nrcpt; i++) {
    const rcpt = rng.pick(world.accounts).user;
    if (rng.chance(0.03)) {
      // An alias that expands to the local mailbox of a system user.
      const d = delays(rng);
      sink.emit(
        t + d.total,
        tag("local", ctx.pids.get("local", t, 2)),
        `${qid}: to=<root@${HOST}.${DOMAIN}>, orig_to=<${rcpt}>, relay=local, delay=${d.delay}, delays=${d.delays}, dsn=2.0.0, status=sent (delivered to mailbox)`,
      );
      end = Math.max(end, t + d.total);
    } else {
      end = Math.max(end, deliverLocal(ctx, t + rng.int(5, 50), qid, rcpt, msgid));
    }
  }
  sink.emit(end + rng.int(1, 10), tag("qmgr", ctx.qmgrPid), `${qid}: removed`);
}

/** A local cron mail: pickup, cleanup, qmgr, local delivery. */
function localCronMail(ctx: Ctx, t0: number): void {
  const { rng, sink } = ctx;
  const qid = sink.queueId();
  let t = t0;
  sink.emit(t, tag("pickup", ctx.pids.get("pickup", t, 1)), `${qid}: uid=0 from=<root>`);
  t += rng.int(5, 40);
  sink.emit(
    t,
    tag("cleanup", ctx.pids.get("cleanup", t, 4)),
    `${qid}: message-id=${messageId(ctx, t, `${HOST}.${DOMAIN}`)}`,
  );
  t += rng.int(5, 40);
  sink.emit(
    t,
    tag("qmgr", ctx.qmgrPid),
    `${qid}: from=<root@${HOST}.${DOMAIN}>, size=${rng.int(600, 4000)}, nrcpt=1 (queue active)`,
  );
  const d = delays(rng);
  sink.emit(
    t + d.total,
    tag("local", ctx.pids.get("local", t, 2)),
    `${qid}: to=<root@${HOST}.${DOMAIN}>, orig_to=<root>, relay=local, delay=${d.delay}, delays=${d.delays}, dsn=2.0.0, status=sent (delivered to mailbox)`,
  );
  sink.emit(t + d.total + rng.int(1, 5), tag("qmgr", ctx.qmgrPid), `${qid}: removed`);
}

/** An authenticated submission by a local account, relayed to outside MXs. */
function submission(ctx: Ctx, t0: number): void {
  const { rng, world, sink } = ctx;
  const acct = rng.pick(world.accounts);
  const client: Peer = { name: "unknown", ip: rng.chance(0.7) ? acct.homeIp : acct.mobileIp };
  const smtpd = tag("submission/smtpd", ctx.pids.get("submission/smtpd", t0, 6));
  let t = t0;
  sink.emit(t, smtpd, `connect from ${hostOf(client)}`);
  t += rng.int(40, 300);
  sink.emit(
    t,
    smtpd,
    `Anonymous TLS connection established from ${hostOf(client)}: ${rng.pick(TLS_SUITES)}`,
  );
  t += rng.int(50, 500);
  const qid = sink.queueId();
  sink.emit(
    t,
    smtpd,
    `${qid}: client=${hostOf(client)}, sasl_method=${rng.chance(0.9) ? "PLAIN" : "LOGIN"}, sasl_username=${acct.user}`,
  );
  t += rng.int(20, 300);
  const msgid = messageId(ctx, t, DOMAIN);
  sink.emit(t, tag("cleanup", ctx.pids.get("cleanup", t, 4)), `${qid}: message-id=${msgid}`);
  const nrcpt = rng.chance(0.75) ? 1 : rng.int(2, 5);
  t += rng.int(5, 60);
  sink.emit(
    t,
    tag("qmgr", ctx.qmgrPid),
    `${qid}: from=<${acct.user}>, size=${Math.floor(rng.exp(60_000)) + 800}, nrcpt=${nrcpt} (queue active)`,
  );
  sink.emit(
    t + rng.int(10, 120),
    smtpd,
    `disconnect from ${hostOf(client)} ehlo=2 starttls=1 auth=1 mail=1 rcpt=${nrcpt} data=1 quit=1 commands=${7 + nrcpt}`,
  );
  let end = t;
  let deferred = false;
  for (let i = 0; i < nrcpt; i++) {
    if (rng.chance(0.12)) {
      end = Math.max(
        end,
        deliverLocal(ctx, t + rng.int(5, 50), qid, rng.pick(world.accounts).user, msgid),
      );
      continue;
    }
    const mx = rng.pick(world.remoteMx);
    const rdom = mx.name.split(".").slice(1).join(".");
    const rcpt = `${rng.pick(["john", "mary", "contact", "sales", "dupont", "lee", "kim", "ana"])}${rng.int(1, 99)}@${rdom}`;
    const d = delays(rng);
    const smtp = tag("smtp", ctx.pids.get("smtp", t, 5));
    const at = t + d.total + rng.int(100, 900);
    const roll = rng.float();
    const relay = `${mx.name}[${mx.ip}]:25`;
    if (roll < 0.93) {
      sink.emit(
        at,
        smtp,
        `${qid}: to=<${rcpt}>, relay=${relay}, delay=${d.delay}, delays=${d.delays}, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as ${rng.hex(10, true)})`,
      );
    } else if (roll < 0.97) {
      deferred = true;
      sink.emit(
        at,
        smtp,
        `${qid}: to=<${rcpt}>, relay=none, delay=${(d.total / 1000 + 30).toFixed(0)}, delays=${d.delays}, dsn=4.4.1, status=deferred (connect to ${mx.name}[${mx.ip}]:25: Connection timed out)`,
      );
    } else {
      sink.emit(
        at,
        smtp,
        `${qid}: to=<${rcpt}>, relay=${relay}, delay=${d.delay}, delays=${d.delays}, dsn=5.1.1, status=bounced (host ${mx.name}[${mx.ip}] said: 550 5.1.1 <${rcpt}>: Recipient address rejected: User unknown (in reply to RCPT TO command))`,
      );
      const bqid = sink.queueId();
      sink.emit(
        at + 30,
        tag("bounce", ctx.pids.get("bounce", at, 2)),
        `${qid}: sender non-delivery notification: ${bqid}`,
      );
      sink.emit(
        at + 35,
        tag("cleanup", ctx.pids.get("cleanup", at, 4)),
        `${bqid}: message-id=<${Math.floor(at / 1000)}.${rng.hex(8, false)}@${HOST}.${DOMAIN}>`,
      );
      sink.emit(
        at + 40,
        tag("qmgr", ctx.qmgrPid),
        `${bqid}: from=<>, size=${rng.int(2500, 9000)}, nrcpt=1 (queue active)`,
      );
      const bend = deliverLocal(
        ctx,
        at + 45,
        bqid,
        acct.user,
        `<${rng.hex(8, false)}@${HOST}.${DOMAIN}>`,
      );
      sink.emit(bend + 3, tag("qmgr", ctx.qmgrPid), `${bqid}: removed`);
    }
    end = Math.max(end, at);
  }
  if (!deferred) sink.emit(end + rng.int(1, 10), tag("qmgr", ctx.qmgrPid), `${qid}: removed`);
}

/** A mail user's IMAP session: login, later logout. */
function imapSession(ctx: Ctx, t0: number): void {
  const { rng, world, sink } = ctx;
  const acct = rng.pick(world.accounts);
  const ip = rng.chance(0.6) ? acct.homeIp : acct.mobileIp;
  const pid = ctx.pids.get("imap", t0, 30);
  const sess = rng.b64(16);
  sink.emit(
    t0,
    "dovecot",
    `imap-login: Login: user=<${acct.user}>, method=PLAIN, rip=${ip}, lip=${SERVER_IP}, mpid=${pid}, TLS, session=<${sess}>`,
  );
  sink.emit(
    t0 + rng.exp(600_000),
    "dovecot",
    `imap(${acct.user})<${pid}><${sess}>: Logged out in=${rng.int(50, 5000)} out=${rng.int(500, 900_000)} deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0`,
  );
}

/** One SASL authentication attempt that fails, on submission (587) or smtpd (25). */
function saslFailure(ctx: Ctx, t: number, peer: Peer, daemon: string, user: string): void {
  const { rng, sink } = ctx;
  const smtpd = tag(daemon, ctx.pids.get(daemon, t, 8));
  const mech = rng.chance(0.6) ? "LOGIN" : "PLAIN";
  sink.emit(t, smtpd, `connect from ${hostOf(peer)}`);
  let at = t + rng.int(100, 900);
  if (daemon === "submission/smtpd" && rng.chance(0.5)) {
    sink.emit(
      at,
      smtpd,
      `Anonymous TLS connection established from ${hostOf(peer)}: ${rng.pick(TLS_SUITES)}`,
    );
    at += rng.int(50, 300);
  }
  at += rng.int(200, 2500);
  const reason = rng.pick(SASL_FAIL_REASONS);
  const suffix = rng.chance(0.45) ? `, sasl_username=${user}` : "";
  sink.emit(
    at,
    smtpd,
    `warning: ${hostOf(peer)}: SASL ${mech} authentication failed: ${reason}${suffix}`,
  );
  at += rng.int(5, 300);
  if (rng.chance(0.7)) {
    sink.emit(at, smtpd, `lost connection after AUTH from ${hostOf(peer)}`);
    sink.emit(at + 1, smtpd, `disconnect from ${hostOf(peer)} ehlo=1 auth=0/1 commands=1/2`);
  } else {
    sink.emit(at, smtpd, `disconnect from ${hostOf(peer)} ehlo=1 auth=0/1 quit=1 commands=2/3`);
  }
}

function attackUser(rng: Rng, world: World): string {
  if (rng.chance(0.3)) return rng.pick(world.accounts).user;
  const u = rng.pick(ATTACK_USERS);
  return rng.chance(0.7) ? `${u}@${DOMAIN}` : u;
}

/** A fast burst: one address hammering AUTH, several attempts a second at peak. */
function saslBurst(ctx: Ctx, t0: number): void {
  const { rng, world } = ctx;
  const peer = rng.pick(world.spammers);
  const daemon = rng.chance(0.7) ? "submission/smtpd" : "smtpd";
  const attempts = rng.int(15, 220);
  let t = t0;
  for (let i = 0; i < attempts; i++) {
    saslFailure(ctx, t, peer, daemon, attackUser(rng, world));
    t += rng.exp(2500);
  }
}

/** Low and slow: one attempt every 5 to 10 minutes, all day long, from one address. */
function saslLowAndSlow(ctx: Ctx, start: number, end: number): void {
  const { rng, world } = ctx;
  const peer: Peer = { name: "unknown", ip: rng.chance(0.5) ? docIp(rng) : benchIp(rng) };
  for (let t = start + rng.int(0, 600_000); t < end; t += rng.int(300_000, 600_000)) {
    saslFailure(ctx, t, peer, "submission/smtpd", attackUser(rng, world));
  }
}

/** Dovecot IMAP password guessing. */
function imapFailures(ctx: Ctx, t0: number): void {
  const { rng, world, sink } = ctx;
  const peer = rng.pick(world.spammers);
  const n = rng.int(1, 30);
  let t = t0;
  for (let i = 0; i < n; i++) {
    const user = attackUser(rng, world);
    if (rng.chance(0.5)) {
      sink.emit(
        t,
        "dovecot",
        `auth: passwd-file(${user},${peer.ip}): ${user.includes("@") && rng.chance(0.5) ? "Password mismatch" : "unknown user"}`,
      );
    }
    sink.emit(
      t + rng.int(1500, 4000),
      "dovecot",
      `imap-login: Disconnected (auth failed, 1 attempts in ${rng.int(2, 6)} secs): user=<${user}>, method=PLAIN, rip=${peer.ip}, lip=${SERVER_IP}, TLS, session=<${rng.b64(16)}>`,
    );
    t += rng.exp(4000);
  }
}

/** A spammer or misconfigured client rejected at RCPT time. */
function noqueueReject(ctx: Ctx, t0: number): void {
  const { rng, world, sink } = ctx;
  const peer = rng.pick(world.spammers);
  const smtpd = tag("smtpd", ctx.pids.get("smtpd", t0, 12));
  const helo = rng.pick([
    "WIN-3KD9F2",
    "localhost",
    "User",
    peer.name === "unknown" ? "[" + peer.ip + "]" : peer.name,
  ]);
  const from = `${rng.pick(["spam", "offer", "promo", "x"])}${rng.int(1, 999)}@${rng.pick(EXTERNAL_DOMAINS)}`;
  sink.emit(t0, smtpd, `connect from ${hostOf(peer)}`);
  const n = rng.int(1, 3);
  let t = t0 + rng.int(200, 1500);
  for (let i = 0; i < n; i++) {
    const roll = rng.float();
    let rcpt: string;
    let reply: string;
    if (roll < 0.4) {
      rcpt = `${rng.pick(["user", "a", "test"])}${rng.int(1, 99)}@${rng.pick(EXTERNAL_DOMAINS)}`;
      reply = `554 5.7.1 <${rcpt}>: Relay access denied`;
    } else if (roll < 0.75) {
      rcpt = `${rng.pick(ATTACK_USERS)}${rng.int(1, 9)}@${DOMAIN}`;
      reply = `550 5.1.1 <${rcpt}>: Recipient address rejected: User unknown in virtual mailbox table`;
    } else {
      rcpt = rng.pick(world.accounts).user;
      reply = `450 4.7.1 Client host rejected: cannot find your reverse hostname, [${peer.ip}]`;
    }
    sink.emit(
      t,
      smtpd,
      `NOQUEUE: reject: RCPT from ${hostOf(peer)}: ${reply}; from=<${from}> to=<${rcpt}> proto=ESMTP helo=<${helo}>`,
    );
    t += rng.int(50, 800);
  }
  sink.emit(
    t,
    smtpd,
    `disconnect from ${hostOf(peer)} ehlo=1 mail=1 rcpt=0/${n} quit=1 commands=3/${3 + n}`,
  );
}

/** A bot that talks before its turn, or is listed, caught by postscreen. */
function postscreenBot(ctx: Ctx, t0: number): void {
  const { rng, world, sink } = ctx;
  const peer = rng.pick(world.spammers);
  const ps = tag("postscreen", ctx.postscreenPid);
  const port = rng.int(32768, 60999);
  const addr = `[${peer.ip}]:${port}`;
  sink.emit(t0, ps, `CONNECT from ${addr} to [${SERVER_IP}]:25`);
  const listed = rng.chance(0.5);
  if (listed) sink.emit(t0 + rng.int(100, 900), ps, `DNSBL rank ${rng.int(2, 6)} for ${addr}`);
  if (!listed || rng.chance(0.5)) {
    sink.emit(
      t0 + rng.int(20, 400),
      ps,
      `PREGREET ${rng.int(11, 40)} after ${(rng.float() * 1.5).toFixed(2)} from ${addr}: ${rng.pick(["EHLO User\\r\\n", "HELO localhost\\r\\n", "EHLO ylmf-pc\\r\\n", "\\r\\n"])}`,
    );
  }
  const t = t0 + rng.int(1000, 6500);
  if (listed && rng.chance(0.6)) {
    const rcpt = rng.pick(world.accounts).user;
    sink.emit(
      t,
      ps,
      `NOQUEUE: reject: RCPT from ${addr}: 550 5.7.1 Service unavailable; client [${peer.ip}] blocked using zen.dnsbl.example; from=<x@${rng.pick(EXTERNAL_DOMAINS)}>, to=<${rcpt}>, proto=ESMTP, helo=<${rng.pick(["User", "localhost", "ylmf-pc"])}>`,
    );
  }
  sink.emit(t + rng.int(10, 300), ps, `DISCONNECT ${addr}`);
}

/** A scanner that connects and drops: common noise on any MX. */
function scanner(ctx: Ctx, t0: number): void {
  const { rng, world, sink } = ctx;
  const peer = rng.pick(world.spammers);
  const smtpd = tag("smtpd", ctx.pids.get("smtpd", t0, 12));
  sink.emit(t0, smtpd, `connect from ${hostOf(peer)}`);
  const cmd = rng.pick(["CONNECT", "EHLO", "STARTTLS", "UNKNOWN"]);
  sink.emit(t0 + rng.int(100, 5000), smtpd, `lost connection after ${cmd} from ${hostOf(peer)}`);
  sink.emit(
    t0 + rng.int(5001, 5200),
    smtpd,
    `disconnect from ${hostOf(peer)}${cmd === "CONNECT" ? " commands=0/0" : " ehlo=1 commands=1"}`,
  );
}

// ---------------------------------------------------------------------------
// The day

/** Activity of people over the day (UTC+1-ish office hours), 0.15..1. */
function diurnal(hourOfDay: number): number {
  const x = Math.cos(((hourOfDay - 14) / 24) * 2 * Math.PI);
  return 0.15 + 0.85 * Math.max(0, (x + 0.3) / 1.3);
}

/** A start time in [start, start + DAY_MS), weighted by diurnal() if human. */
function when(rng: Rng, start: number, human: boolean): number {
  for (;;) {
    const off = rng.float() * DAY_MS;
    if (!human || rng.float() < diurnal(off / 3_600_000)) return start + off;
  }
}

type SessionKind = (ctx: Ctx, t: number) => void;

// Relative weights of session kinds; roughly a third of the lines end up
// being attack traffic, as on any small exposed MX.
const KINDS: readonly (readonly [SessionKind, number, boolean])[] = [
  [incomingMail, 40, true],
  [submission, 18, true],
  [imapSession, 50, true],
  [localCronMail, 1.5, false],
  [saslBurst, 0.35, false],
  [imapFailures, 2.4, false],
  [noqueueReject, 8, false],
  [postscreenBot, 7, false],
  [scanner, 9, false],
];

function generate(opts: Options): Line[] {
  const rng = new Rng(opts.seed);
  const world = makeWorld(rng);
  const sink = new Sink(rng);
  const ctx: Ctx = {
    rng,
    world,
    sink,
    pids: new Pids(rng),
    qmgrPid: rng.int(700, 1100),
    postscreenPid: rng.int(1100, 1199),
  };

  // Low-and-slow attackers run all day; their number scales with the file.
  const slow = Math.max(2, Math.round((opts.lines / 500_000) * 14));
  for (let i = 0; i < slow; i++) saslLowAndSlow(ctx, opts.start, opts.start + DAY_MS);

  const total = KINDS.reduce((s, k) => s + k[1], 0);
  while (sink.lines.length < opts.lines) {
    let r = rng.float() * total;
    let kind = KINDS[0]!;
    for (const k of KINDS) {
      r -= k[1];
      if (r < 0) {
        kind = k;
        break;
      }
    }
    kind[0](ctx, when(rng, opts.start, kind[2]));
  }
  // The last session may overshoot: drop its tail (emitted last).
  sink.lines.length = opts.lines;
  sink.lines.sort((a, b) => a.t - b.t || a.seq - b.seq);
  return sink.lines;
}

async function write(lines: readonly Line[], opts: Options): Promise<void> {
  let out: WriteStream | NodeJS.WriteStream;
  if (opts.out === "-") {
    out = process.stdout;
  } else {
    mkdirSync(dirname(opts.out), { recursive: true });
    out = createWriteStream(opts.out);
  }
  const stamp = opts.format === "bsd" ? bsdStamp : rfc3339Stamp;
  const host = opts.format === "bsd" ? HOST : `${HOST}.${DOMAIN}`;
  const CHUNK = 4096;
  for (let i = 0; i < lines.length; i += CHUNK) {
    let buf = "";
    const end = Math.min(lines.length, i + CHUNK);
    for (let j = i; j < end; j++) {
      const l = lines[j]!;
      buf += `${stamp(l.t)} ${host} ${l.program}: ${l.msg}\n`;
    }
    if (!out.write(buf)) {
      await new Promise<void>((resolve) =>
        out.once("drain", () => {
          resolve();
        }),
      );
    }
  }
  if (out !== process.stdout) {
    await new Promise<void>((resolve, reject) => {
      out.once("error", reject);
      out.end(() => {
        resolve();
      });
    });
  }
}

const opts = readOptions(process.argv.slice(2));
const lines = generate(opts);
await write(lines, opts);
if (opts.out !== "-") {
  process.stderr.write(
    `gen-postfix-log: wrote ${lines.length} lines (${opts.format}) to ${opts.out}\n`,
  );
}
