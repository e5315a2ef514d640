/**
 * A petition site's nginx access log (combined format), deterministic for a seed: real visitors
 * over a day and a half from French residential ISPs (a few over VPNs), and on the second
 * morning a botnet hammering the heavy pages (search, listing), each address under a per-IP
 * limit. Addresses come from real prefixes of real ASes (node_modules/@ip-location-db/asn), so
 * AS look-ups work on them; they are only strings in a file, no traffic is sent anywhere.
 *
 * Also answers the truth: which addresses are bots, and each address's AS.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { prng } from "./mail-log.ts";

export interface BotnetLogOptions {
  readonly seed: number;
  /** Real visitors (distinct addresses). */
  readonly visitors: number;
  /** Hours of real traffic before the botnet starts (it starts at 09:00 on the last day). */
  readonly hoursBefore: number;
  /** Hours of real traffic after the botnet starts. */
  readonly hoursAfter: number;
  readonly bots: number;
  readonly botMinutes: number;
  /** Each bot's hits per minute (the per-IP limit it stays under). */
  readonly botPerMinute: number;
  /** Share of bots that now and then fetch an asset, to look like a browser. */
  readonly evasiveShare: number;
  /** Share of bots that join late (spread over the attack) instead of in its first 3 minutes. */
  readonly lateShare: number;
}

export const FULL: BotnetLogOptions = Object.freeze({
  seed: 4,
  visitors: 8000,
  hoursBefore: 33,
  hoursAfter: 5,
  bots: 4000,
  botMinutes: 120,
  botPerMinute: 6.25,
  evasiveShare: 0.05,
  lateShare: 0.1,
});

export const SMALL: BotnetLogOptions = Object.freeze({
  seed: 4,
  visitors: 800,
  hoursBefore: 10,
  hoursAfter: 1,
  bots: 400,
  botMinutes: 20,
  botPerMinute: 6,
  evasiveShare: 0.05,
  lateShare: 0.1,
});

export interface BotnetTruth {
  readonly bots: ReadonlySet<string>;
  readonly visitors: ReadonlySet<string>;
  readonly asOf: ReadonlyMap<string, number>;
  /** When the botnet's first hit is (ms). */
  readonly botStart: number;
  readonly botEnd: number;
  readonly lines: number;
  readonly botHits: number;
  readonly visitorHits: number;
}

interface AsPool {
  readonly asn: number;
  /** IPv4 ranges as [start, size]. */
  readonly ranges: readonly (readonly [number, number])[];
}

/** Where real visitors come from (weights), and where the botnet's addresses sit. */
const VISITOR_ASES: readonly (readonly [number, number])[] = [
  [3215, 0.4], // Orange
  [12322, 0.22], // Free
  [15557, 0.18], // SFR
  [5410, 0.17], // Bouygues Telecom
  [16276, 0.03], // OVH: people on VPNs
];
/** [asn, share of bots, addresses per /24 (0: spread at random)]. */
const BOT_ASES: readonly (readonly [number, number, number])[] = [
  [16276, 0.2, 80], // OVH: packed in ten /24s
  [24940, 0.15, 0], // Hetzner
  [14061, 0.12, 0], // DigitalOcean
  [3215, 0.15, 0], // Orange: the same ISPs as real visitors
  [15557, 0.1, 0], // SFR
  [45899, 0.14, 0], // VNPT
  [7552, 0.14, 0], // Viettel
];

function loadPools(asns: ReadonlySet<number>): Map<number, AsPool> {
  const req = createRequire(import.meta.url);
  const file = req.resolve("@ip-location-db/asn/asn-ipv4-num.csv");
  const ranges = new Map<number, [number, number][]>();
  for (const line of readFileSync(file, "latin1").split("\n")) {
    const c1 = line.indexOf(",");
    const c2 = line.indexOf(",", c1 + 1);
    const c3 = line.indexOf(",", c2 + 1);
    if (c3 < 0) continue;
    const asn = Number(line.slice(c2 + 1, c3));
    if (!asns.has(asn)) continue;
    const start = Number(line.slice(0, c1));
    const end = Number(line.slice(c1 + 1, c2));
    // Whole /24s only, so that a bot's /24 is its AS's.
    const s = Math.ceil(start / 256) * 256;
    const size = Math.floor((end + 1 - s) / 256) * 256;
    if (size <= 0) continue;
    const list = ranges.get(asn) ?? [];
    list.push([s, size]);
    ranges.set(asn, list);
  }
  return new Map([...ranges].map(([asn, r]) => [asn, { asn, ranges: r }]));
}

const ip4 = (n: number): string =>
  `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const TZ_MS = 2 * 3_600_000;
const pad = (n: number): string => String(n).padStart(2, "0");
function stamp(t: number): string {
  const d = new Date(t + TZ_MS);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]!}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0200`;
}

const BROWSERS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
  "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Mobile Safari/537.36",
];
const ASSETS = ["/static/app.css", "/static/app.js", "/img/logo.png", "/favicon.ico"];
const WORDS = ["climat", "eau", "ecole", "velo", "foret", "loyer", "hopital", "retraite", "bruit"];

function line(t: number, ip: string, path: string, status: number, bytes: number, ua: string) {
  return `${ip} - - [${stamp(t)}] "GET ${path} HTTP/1.1" ${status} ${bytes} "-" "${ua}"\n`;
}

/** Writes the log through `write` (in time order) and answers the truth. */
export function generateBotnetLog(
  o: BotnetLogOptions,
  write: (chunk: string) => void,
): BotnetTruth {
  const rnd = prng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const pools = loadPools(new Set([...VISITOR_ASES, ...BOT_ASES].map((x) => x[0])));
  const asOf = new Map<string, number>();
  const randomIn = (asn: number): string => {
    const pool = pools.get(asn)!;
    for (;;) {
      const [s, size] = pick(pool.ranges);
      const ip = ip4(s + Math.floor(rnd() * size));
      const last = ip.slice(ip.lastIndexOf(".") + 1);
      if (last !== "0" && last !== "255" && !asOf.has(ip)) {
        asOf.set(ip, asn);
        return ip;
      }
    }
  };

  // Day 0 starts at 00:00 (+02:00); the botnet starts at 09:00 on the last day.
  const dayStart = Date.parse("2024-10-01T00:00:00+02:00");
  const botStart = dayStart + Math.ceil((o.hoursBefore - 9) / 24) * 86_400_000 + 9 * 3_600_000;
  const from = botStart - o.hoursBefore * 3_600_000;
  const to = botStart + o.hoursAfter * 3_600_000;
  const botEnd = botStart + o.botMinutes * 60_000;

  // ── Real visitors: sessions at a diurnal rate, pre-generated and sorted (they are few).
  const visitorLines: { t: number; text: string }[] = [];
  const visitors = new Set<string>();
  const weights = VISITOR_ASES.map((x) => x[1]);
  const diurnal = (t: number): number => {
    const h = ((t + TZ_MS) % 86_400_000) / 3_600_000;
    return 0.55 + 0.45 * Math.cos(((h - 20) / 24) * 2 * Math.PI); // peak at 20:00, low at 08:00
  };
  const sessionStart = (): number => {
    for (;;) {
      const t = from + rnd() * (to - from);
      if (rnd() < diurnal(t)) return Math.floor(t);
    }
  };
  for (let v = 0; v < o.visitors; v++) {
    let r = rnd();
    let asn = VISITOR_ASES[0]![0];
    for (const [k, w] of weights.entries()) {
      if (r < w) {
        asn = VISITOR_ASES[k]![0];
        break;
      }
      r -= w;
    }
    const ip = randomIn(asn);
    visitors.add(ip);
    const ua = pick(BROWSERS);
    // 1 % are clients that never load assets (a text browser, a feed reader, a script).
    const bare = rnd() < 0.01;
    const sessions = 1 + Math.floor(rnd() * 3);
    let cached = false;
    for (let s = 0; s < sessions; s++) {
      let t = sessionStart();
      const pages = 2 + Math.floor(rnd() * 6);
      for (let p = 0; p < pages; p++) {
        const kind = rnd();
        const path =
          p === 0 && kind < 0.5
            ? "/"
            : kind < 0.55
              ? `/search?q=${pick(WORDS)}`
              : kind < 0.65
                ? `/petitions?page=${1 + Math.floor(rnd() * 20)}`
                : kind < 0.9
                  ? `/petition/${pick(WORDS)}-${1 + Math.floor(rnd() * 40)}`
                  : `/petition/${pick(WORDS)}-${1 + Math.floor(rnd() * 40)}/sign`;
        visitorLines.push({
          t,
          text: line(t, ip, path, 200, 8000 + Math.floor(rnd() * 30000), ua),
        });
        if (!bare && (!cached || rnd() < 0.3)) {
          for (const a of cached ? [pick(ASSETS)] : ASSETS) {
            t += 20 + Math.floor(rnd() * 200);
            visitorLines.push({ t, text: line(t, ip, a, cached ? 304 : 200, 1200, ua) });
          }
          cached = true;
        }
        t += 5_000 + Math.floor(rnd() * 60_000);
      }
      // Half the returning sessions come back with the assets still cached.
      cached = rnd() < 0.5;
    }
  }
  visitorLines.sort((a, b) => a.t - b.t);

  // ── The botnet: scheduled by second, so it never sits in memory as 3 million lines.
  const bots: string[] = [];
  const botSet = new Set<string>();
  for (const [asn, share, packed] of BOT_ASES) {
    const n = Math.round(share * o.bots);
    let base = "";
    for (let i = 0; i < n; i++) {
      let ip: string;
      if (packed > 0) {
        if (i % packed === 0) base = randomIn(asn).replace(/\.\d+$/, "");
        ip = `${base}.${1 + ((i * 3) % 250)}`;
        if (asOf.has(ip)) continue;
        asOf.set(ip, asn);
      } else ip = randomIn(asn);
      bots.push(ip);
      botSet.add(ip);
    }
  }
  const seconds = o.botMinutes * 60;
  const gap = 60 / o.botPerMinute;
  const queue: number[][] = Array.from({ length: seconds + 1 }, () => []);
  const next = new Float64Array(bots.length);
  const evasive = new Uint8Array(bots.length);
  const botUa = bots.map(() => pick(BROWSERS));
  for (let b = 0; b < bots.length; b++) {
    const late = rnd() < o.lateShare;
    next[b] = late ? rnd() * seconds : rnd() * 180;
    evasive[b] = rnd() < o.evasiveShare ? 1 : 0;
    queue[Math.floor(next[b]!)]!.push(b);
  }

  let lines = 0;
  let botHits = 0;
  let visitorHits = 0;
  let vi = 0;
  let buf = "";
  const emit = (text: string): void => {
    buf += text;
    lines++;
    if (buf.length > 1 << 20) {
      write(buf);
      buf = "";
    }
  };
  const flushVisitorsUntil = (t: number): void => {
    while (vi < visitorLines.length && visitorLines[vi]!.t <= t) {
      emit(visitorLines[vi++]!.text);
      visitorHits++;
    }
  };
  for (let s = 0; s <= seconds; s++) {
    const due = queue[s]!;
    due.sort((x, y) => next[x]! - next[y]!);
    for (const b of due) {
      const t = botStart + Math.floor(next[b]! * 1000);
      if (t >= botEnd) continue;
      flushVisitorsUntil(t);
      const ip = bots[b]!;
      const heavy =
        rnd() < 0.6
          ? `/search?q=${pick(WORDS)}+${Math.floor(rnd() * 1e6)}`
          : `/petitions?page=${1 + Math.floor(rnd() * 500)}&sort=recent`;
      emit(line(t, ip, heavy, 200, 40_000 + Math.floor(rnd() * 20_000), botUa[b]!));
      botHits++;
      if (evasive[b] === 1 && rnd() < 0.1) {
        emit(line(t + 50, ip, pick(ASSETS), 200, 1200, botUa[b]!));
        botHits++;
      }
      next[b] = next[b]! + gap * (0.8 + rnd() * 0.4);
      const slot = Math.floor(next[b]);
      if (slot <= seconds) queue[slot]!.push(b);
    }
    due.length = 0;
  }
  flushVisitorsUntil(Infinity);
  if (buf.length > 0) write(buf);
  return {
    bots: botSet,
    visitors,
    asOf,
    botStart,
    botEnd,
    lines,
    botHits,
    visitorHits,
  };
}

/** A decision line of `rempart replay`, as far as coverage needs it. */
export interface DecisionRecord {
  readonly kind: string;
  readonly at: string;
  readonly scope: string;
  readonly value: string;
  readonly duration_s?: number | null;
}

export interface Coverage {
  /** Botnet hits after its first `graceMinutes`, and how many fell under a decision. */
  readonly botHits: number;
  readonly botCovered: number;
  /** Real visitors' hits over the whole log, and during the attack. */
  readonly visitorHits: number;
  readonly visitorCovered: number;
  readonly visitorHitsDuring: number;
  readonly visitorCoveredDuring: number;
  /** Seconds from the botnet's first hit to the first decision (Infinity: none). */
  readonly firstDecisionS: number;
  readonly decisions: Readonly<Record<string, number>>;
}

const MONTH_OF: Readonly<Record<string, number>> = Object.fromEntries(MONTHS.map((m, i) => [m, i]));

/** `[01/Oct/2024:09:00:00 +0200]` → ms (this generator's lines only). */
function timeOf(text: string, open: number): number {
  const d = Number(text.slice(open + 1, open + 3));
  const mon = MONTH_OF[text.slice(open + 4, open + 7)]!;
  const y = Number(text.slice(open + 8, open + 12));
  const h = Number(text.slice(open + 13, open + 15));
  const mi = Number(text.slice(open + 16, open + 18));
  const s = Number(text.slice(open + 19, open + 21));
  return Date.UTC(y, mon, d, h, mi, s) - TZ_MS;
}

/**
 * Which hits fell under an active decision at their time: the address under an `ip` decision,
 * its /24 under a `range` one, its AS under an `as` one.
 */
export class CoverageCounter {
  readonly #truth: BotnetTruth;
  readonly #from: number;
  readonly #by = new Map<string, [number, number][]>();
  readonly #counts: Record<string, number> = {};
  #first = Infinity;
  botHits = 0;
  botCovered = 0;
  visitorHits = 0;
  visitorCovered = 0;
  visitorHitsDuring = 0;
  visitorCoveredDuring = 0;
  #rest = "";

  constructor(truth: BotnetTruth, decisions: readonly DecisionRecord[], graceMinutes = 5) {
    this.#truth = truth;
    this.#from = truth.botStart + graceMinutes * 60_000;
    for (const d of decisions) {
      if (d.kind !== "decision") continue;
      const at = Date.parse(d.at);
      const end =
        d.duration_s === null || d.duration_s === undefined ? Infinity : at + d.duration_s * 1000;
      const k = `${d.scope}:${d.value}`;
      const list = this.#by.get(k) ?? [];
      list.push([at, end]);
      this.#by.set(k, list);
      this.#counts[d.scope] = (this.#counts[d.scope] ?? 0) + 1;
      if (at >= truth.botStart && at < this.#first) this.#first = at;
    }
  }

  #covered(k: string, t: number): boolean {
    const list = this.#by.get(k);
    if (list === undefined) return false;
    for (const [a, b] of list) if (t >= a && t < b) return true;
    return false;
  }

  /** Feeds a piece of the log (any cut: a partial last line is kept for the next piece). */
  add(chunk: string): void {
    const text = this.#rest + chunk;
    let pos = 0;
    for (;;) {
      const nl = text.indexOf("\n", pos);
      if (nl < 0) break;
      this.#line(text, pos, nl);
      pos = nl + 1;
    }
    this.#rest = text.slice(pos);
  }

  #line(text: string, start: number, end: number): void {
    const sp = text.indexOf(" ", start);
    if (sp < 0 || sp > end) return;
    const ip = text.slice(start, sp);
    const t = timeOf(text, text.indexOf("[", sp));
    const bot = this.#truth.bots.has(ip);
    const asn = this.#truth.asOf.get(ip);
    const covered =
      this.#covered(`ip:${ip}`, t) ||
      this.#covered(`range:${ip.slice(0, ip.lastIndexOf("."))}.0/24`, t) ||
      (asn !== undefined && this.#covered(`as:${asn}`, t));
    if (bot) {
      if (t < this.#from) return;
      this.botHits++;
      if (covered) this.botCovered++;
      return;
    }
    this.visitorHits++;
    if (covered) this.visitorCovered++;
    if (t >= this.#truth.botStart && t < this.#truth.botEnd) {
      this.visitorHitsDuring++;
      if (covered) this.visitorCoveredDuring++;
    }
  }

  result(): Coverage {
    return {
      botHits: this.botHits,
      botCovered: this.botCovered,
      visitorHits: this.visitorHits,
      visitorCovered: this.visitorCovered,
      visitorHitsDuring: this.visitorHitsDuring,
      visitorCoveredDuring: this.visitorCoveredDuring,
      firstDecisionS: (this.#first - this.#truth.botStart) / 1000,
      decisions: { ...this.#counts },
    };
  }
}
