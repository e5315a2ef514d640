/**
 * The nftables enforcer: keeps Rempart's own table in step with the active decisions.
 *
 * - Single addresses (scope `ip`, and `range` decisions of one address) go into hash sets with
 *   a timeout per element, the decision's remaining time, so the kernel lifts a ban on time
 *   even when Rempart is down. Several decisions on one address give the latest expiry.
 * - Ranges go into interval sets, aggregated first: nft refuses overlapping intervals, so only
 *   the ranges no other active range covers are installed. An address inside a banned range
 *   stays in the hash set (the two never conflict).
 * - Every resync and every batch of changes is one `nft -f -` transaction. A resync rebuilds
 *   the whole table in that transaction; a batch adds and deletes elements; a large change to
 *   an interval set builds a new set and points the rules at it in the same transaction.
 */
import { spawn } from "node:child_process";
import type { Writable } from "node:stream";
import {
  RempartError,
  type Clock,
  type Decision,
  type DecisionChange,
  type Enforcer,
} from "../../core/index.ts";
import {
  bigIntToIp,
  formatCidr,
  ipFamily,
  normalizeIp,
  parseCidr,
  type IpRange,
} from "../../net/index.ts";
import { AddressExpiries } from "./address-expiries.ts";
import type { NftablesConfig } from "./config.ts";
import {
  addrElement,
  CHAIN,
  addrSet,
  elementLines,
  statementPieces,
  intervalSetLine,
  netSet,
  ruleLines,
  tableLines,
  type Family,
} from "./nft-script.ts";

/**
 * Applies one nft script as one transaction. The script comes in pieces, read as they are
 * written: a resync of a million addresses is never one text (nor one buffer) in memory.
 */
export interface NftRunner {
  run(script: Iterable<string>): Promise<void>;
  /**
   * `nft -j list table inet <table>`: the table as JSON, or undefined when there is none. A
   * runner without it (a test's) skips the check that the table is Rempart's.
   */
  list?(table: string): Promise<string | undefined>;
}

const OWN_SET = /^(addr[46]|net[46]_\d+)$/;

/**
 * What a table listed by `nft -j` holds that Rempart never makes (its one chain, its address
 * and range sets): another program's or the operator's rules, which rebuilding the table would
 * delete. Empty when the table is Rempart's.
 */
export function foreignObjects(json: string): string[] {
  const items = (JSON.parse(json) as { nftables?: Record<string, { name?: string }>[] }).nftables;
  const foreign: string[] = [];
  for (const item of items ?? [])
    for (const [kind, o] of Object.entries(item)) {
      if (kind === "metainfo" || kind === "table" || kind === "rule" || kind === "element")
        continue;
      if (kind === "chain" && o.name === CHAIN) continue;
      if (kind === "set" && OWN_SET.test(o.name ?? "")) continue;
      foreign.push(`${kind} ${o.name ?? "?"}`);
    }
  return foreign;
}

/** Resolves when `stream` can take more, or is closed (a dead reader). */
const writable = (stream: Writable): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });

/** Runs `command -f -` with the script on its standard input. */
export function spawnNft(command: readonly string[]): NftRunner {
  const cannotRun = (e: Error): RempartError =>
    new RempartError("UNAVAILABLE", `nftables: cannot run ${command.join(" ")}: ${e.message}`, {
      cause: e,
      hint: "install Debian's nftables package or set enforcers.nftables.command",
    });
  return {
    list: (table) =>
      new Promise((resolve, reject) => {
        const [program, ...args] = command as [string, ...string[]];
        const child = spawn(program, [...args, "-j", "list", "table", "inet", table], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
        child.stderr.setEncoding("utf8").on("data", (s: string) => {
          if (stderr.length < 4096) stderr += s;
        });
        child.on("error", (e) => reject(cannotRun(e)));
        child.on("close", (code) => {
          if (code === 0) resolve(stdout);
          else if (/No such file or directory/.test(stderr)) resolve(undefined);
          else
            reject(
              new RempartError(
                "UNAVAILABLE",
                `nftables: ${command.join(" ")} -j list table inet ${table} exited with ${code}: ${stderr.trim().split("\n")[0] ?? ""}`,
              ),
            );
        });
      }),
    run: async (script) => {
      const [program, ...args] = command as [string, ...string[]];
      const child = spawn(program, [...args, "-f", "-"], { stdio: ["pipe", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (s: string) => {
        if (stderr.length < 4096) stderr += s;
      });
      child.stdin.on("error", () => undefined); // reported by the exit status
      const exited = new Promise<void>((resolve, reject) => {
        child.on("error", (e) => reject(cannotRun(e)));
        child.on("close", (code) => {
          if (code === 0) resolve();
          else
            reject(
              new RempartError(
                "UNAVAILABLE",
                `nftables: ${command.join(" ")} -f - exited with ${code}: ${stderr.trim().split("\n").slice(0, 3).join(" | ")}`,
              ),
            );
        });
      });
      // Settled while the script is still being written when nft fails or cannot start.
      let ended = false;
      exited.then(
        () => (ended = true),
        () => (ended = true),
      );
      const stdin = child.stdin;
      for (const piece of script) {
        if (ended || stdin.destroyed) break;
        if (!stdin.write(piece)) await writable(stdin);
      }
      stdin.end();
      await exited;
    },
  };
}

/** The expiries of the decisions held on one range: one, or several (rare) in an array. */
type Held = number | number[];

/** The latest expiry among the decisions (Infinity when one never expires). */
function latest(h: Held, now: number | undefined): number | undefined {
  if (typeof h === "number") return now !== undefined && h <= now ? undefined : h;
  let max: number | undefined;
  for (const e of h) {
    if (now !== undefined && e <= now) continue;
    if (max === undefined || e > max) max = e;
  }
  return max;
}

const withExpiry = (h: Held | undefined, e: number): Held =>
  h === undefined ? e : typeof h === "number" ? [h, e] : [...h, e];

/** `h` less one decision expiring at `e` (a decision never held leaves it as it is). */
function withoutExpiry(h: Held | undefined, e: number): Held | undefined {
  if (h === undefined || typeof h === "number") return h === e ? undefined : h;
  const at = h.indexOf(e);
  if (at < 0) return h;
  const rest = h.filter((_, i) => i !== at);
  return rest.length === 1 ? rest[0] : rest;
}

/** Where a decision goes: an address element, or a range (parsed), or nowhere. */
type Target =
  | { readonly kind: "addr"; readonly key: string; readonly family: Family }
  | { readonly kind: "net"; readonly key: string; readonly range: IpRange };

function target(d: Decision): Target | undefined {
  if (d.scope === "ip") {
    const ip = normalizeIp(d.value);
    // Reuse the decision's own string when it is already normal: 1M keys cost no copies.
    return ip === undefined
      ? undefined
      : { kind: "addr", key: ip === d.value ? d.value : ip, family: ipFamily(ip) };
  }
  if (d.scope !== "range") return undefined;
  const range = parseCidr(d.value);
  if (range === undefined) return undefined;
  if (range.bits === (range.family === 4 ? 32 : 128))
    return { kind: "addr", key: bigIntToIp(range.start, range.family), family: range.family };
  return { kind: "net", key: formatCidr(range), range };
}

interface NetEntry {
  readonly range: IpRange;
  held: Held;
}

/**
 * The ranges no other range covers, in address order. Prefixes nest or are disjoint, so in
 * order of (start, length) a covered prefix always follows the one covering it.
 */
export function coveringRanges(ranges: Iterable<IpRange>): IpRange[] {
  const sorted = [...ranges].sort((a, b) =>
    a.family !== b.family
      ? a.family - b.family
      : a.start < b.start
        ? -1
        : a.start > b.start
          ? 1
          : a.bits - b.bits,
  );
  const out: IpRange[] = [];
  let end = -1n;
  let family = 0;
  for (const r of sorted) {
    if (r.family === family && r.start <= end) continue;
    family = r.family;
    out.push(r);
    end = r.start + (1n << BigInt((r.family === 4 ? 32 : 128) - r.bits)) - 1n;
  }
  return out;
}

export interface NftablesEnforcerOptions {
  /**
   * A batch changing at least this many interval elements rebuilds the set and swaps it in
   * rather than editing it. Measured with nft 1.0.6 (bench/RESULTS.md): for one change, editing a
   * 50K-range set in place is no slower than a rebuild (nft reads the set back either way).
   */
  readonly swapAt?: number;
}

export class NftablesEnforcer implements Enforcer {
  readonly id = "nftables";
  readonly #config: NftablesConfig;
  readonly #runner: NftRunner;
  readonly #clock: Clock;
  readonly #actions: ReadonlySet<string>;
  readonly #swapAt: number;
  /**
   * The expiries of the active decisions on each single address, by normalised address: a
   * multiset, not the decisions (a million of them would cost a million objects). Adding and
   * removing one decision's expiry is exact for what the kernel holds, the latest per address.
   */
  readonly #addrs = new AddressExpiries();
  /** The expiries of the active range decisions, by canonical CIDR. */
  readonly #nets = new Map<string, NetEntry>();
  /** What each interval set holds now (canonical CIDRs), and its generation (set name). */
  readonly #installed: Record<Family, Set<string>> = { 4: new Set(), 6: new Set() };
  readonly #generation: Record<Family, number> = { 4: 0, 6: 0 };
  /** The table was checked to be Rempart's, or made by it. */
  #owned = false;

  constructor(
    config: NftablesConfig,
    runner: NftRunner,
    clock: Clock,
    options: NftablesEnforcerOptions = {},
  ) {
    this.#config = config;
    this.#runner = runner;
    this.#clock = clock;
    this.#actions = new Set(config.actions);
    this.#swapAt = options.swapAt ?? 10_000;
  }

  /** How many address elements and interval elements are installed (for tests and benches). */
  get size(): { readonly addresses: number; readonly ranges: number } {
    return {
      addresses: this.#addrs.size,
      ranges: this.#installed[4].size + this.#installed[6].size,
    };
  }

  async resync(active: Iterable<Decision>): Promise<void> {
    if (!this.#owned) await this.#checkOwned();
    const now = this.#clock.now();
    this.#addrs.clear();
    this.#nets.clear();
    for (const d of active) this.#hold(d);
    const gen = { 4: this.#generation[4] + 1, 6: this.#generation[6] + 1 };
    const nets = this.#coveringNets(now);
    await this.#runner.run(this.#resyncScript(now, gen, nets));
    this.#generation[4] = gen[4];
    this.#generation[6] = gen[6];
    this.#installed[4] = nets[4];
    this.#installed[6] = nets[6];
  }

  /**
   * Refuses a table of that name that is not Rempart's: a resync rebuilds the table whole, and
   * `table: filter` would delete the operator's own `inet filter` (Debian's stock ruleset).
   */
  async #checkOwned(): Promise<void> {
    const table = this.#config.table;
    const json = await this.#runner.list?.(table);
    const foreign = json === undefined ? [] : foreignObjects(json);
    if (foreign.length > 0)
      throw new RempartError(
        "CONFIG_INVALID",
        `nftables: table inet ${table} already exists and holds what Rempart did not make (${foreign.slice(0, 5).join(", ")}); Rempart rebuilds its table whole and would delete them`,
        { hint: "give enforcers.nftables.table a name of its own (the default is rempart)" },
      );
    this.#owned = true;
  }

  /** The address elements of one family, with their remaining time. */
  *#addrElements(now: number, f: Family): Generator<string> {
    for (const [addr, until] of this.#addrs.entries(now, f))
      yield addrElement(addr, until === Infinity ? null : until - now);
  }

  /** The resync's script, piece by piece (the runner writes each before the next is made). */
  *#resyncScript(
    now: number,
    gen: Readonly<Record<Family, number>>,
    nets: Readonly<Record<Family, Set<string>>>,
  ): Generator<string> {
    const table = this.#config.table;
    yield `${tableLines(this.#config, gen).join("\n")}\n`;
    for (const f of [4, 6] as const) {
      yield* statementPieces("add", table, addrSet(f), this.#addrElements(now, f));
      yield* statementPieces("add", table, netSet(f, gen[f]), nets[f]);
    }
  }

  async apply(changes: readonly DecisionChange[]): Promise<void> {
    const now = this.#clock.now();
    // What each touched address held before the batch, then the changes, then the difference.
    const before = new Map<string, number | undefined>();
    let netsTouched = false;
    for (const c of changes) {
      if (!this.#actions.has(c.decision.action)) continue;
      const t = target(c.decision);
      if (t === undefined) continue;
      if (t.kind === "addr") {
        if (!before.has(t.key)) before.set(t.key, this.#addrs.latest(t.key, undefined));
        this.#change(t, c);
      } else {
        netsTouched = true;
        this.#change(t, c);
      }
    }

    const table = this.#config.table;
    // Removing an element the kernel already expired must not fail the batch, and nft 1.0.6
    // has no `destroy`: adding it first (a no-op when present) makes the delete always valid.
    const ensure: Record<Family, string[]> = { 4: [], 6: [] };
    const remove: Record<Family, string[]> = { 4: [], 6: [] };
    const add: Record<Family, string[]> = { 4: [], 6: [] };
    for (const [addr, was] of before) {
      const next = this.#addrs.latest(addr, now);
      if (next === was) continue;
      const f = ipFamily(addr);
      if (was !== undefined) {
        ensure[f].push(addrElement(addr, 1000));
        remove[f].push(addr);
      }
      if (next !== undefined) add[f].push(addrElement(addr, next === Infinity ? null : next - now));
    }
    const lines: string[] = [];
    for (const f of [4, 6] as const) {
      lines.push(...elementLines("add", table, addrSet(f), ensure[f]));
      lines.push(...elementLines("delete", table, addrSet(f), remove[f]));
      lines.push(...elementLines("add", table, addrSet(f), add[f]));
    }

    let nets: Record<Family, Set<string>> | undefined;
    const swapped: Family[] = [];
    if (netsTouched) {
      nets = this.#coveringNets(now);
      for (const f of [4, 6] as const) {
        const old = this.#installed[f];
        const gone = [...old].filter((k) => !nets![f].has(k));
        const added = [...nets[f]].filter((k) => !old.has(k));
        if (gone.length === 0 && added.length === 0) continue;
        if (gone.length + added.length >= this.#swapAt) {
          swapped.push(f);
          lines.push(intervalSetLine(this.#config, f, this.#generation[f] + 1));
          lines.push(...elementLines("add", table, netSet(f, this.#generation[f] + 1), nets[f]));
        } else {
          lines.push(...elementLines("delete", table, netSet(f, this.#generation[f]), gone));
          lines.push(...elementLines("add", table, netSet(f, this.#generation[f]), added));
        }
      }
      if (swapped.length > 0) {
        const gen = { ...this.#generation };
        for (const f of swapped) gen[f] += 1;
        lines.push(...ruleLines(this.#config, gen));
        for (const f of swapped)
          lines.push(`delete set inet ${table} ${netSet(f, this.#generation[f])}`);
      }
    }
    if (lines.length === 0) return;
    await this.#run(lines);
    for (const f of swapped) this.#generation[f] += 1;
    if (nets) {
      this.#installed[4] = nets[4];
      this.#installed[6] = nets[6];
    }
  }

  stop(): Promise<void> {
    // The table stays: the kernel keeps enforcing (and expiring) while Rempart is away.
    return Promise.resolve();
  }

  #hold(d: Decision): void {
    if (!this.#actions.has(d.action)) return;
    const t = target(d);
    if (t !== undefined) this.#change(t, { kind: "added", decision: d });
  }

  #change(t: Target, c: Pick<DecisionChange, "kind" | "decision">): void {
    const expiry = c.decision.expiresAt ?? Infinity;
    if (t.kind === "addr") {
      if (c.kind === "added") this.#addrs.add(t.key, expiry);
      else this.#addrs.remove(t.key, expiry);
      return;
    }
    const e = this.#nets.get(t.key);
    const h = c.kind === "added" ? withExpiry(e?.held, expiry) : withoutExpiry(e?.held, expiry);
    if (h === undefined) this.#nets.delete(t.key);
    else if (e === undefined) this.#nets.set(t.key, { range: t.range, held: h });
    else e.held = h;
  }

  /** The canonical CIDRs the interval sets should hold: active ranges no other one covers. */
  #coveringNets(now: number): Record<Family, Set<string>> {
    const active: IpRange[] = [];
    for (const e of this.#nets.values())
      if (latest(e.held, now) !== undefined) active.push(e.range);
    const out: Record<Family, Set<string>> = { 4: new Set(), 6: new Set() };
    for (const r of coveringRanges(active)) out[r.family].add(formatCidr(r));
    return out;
  }

  async #run(lines: string[]): Promise<void> {
    lines.push(""); // the final newline
    await this.#runner.run([lines.join("\n")]);
  }
}
