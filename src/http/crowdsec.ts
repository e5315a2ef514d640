/**
 * CrowdSec's bouncer API, so that the bouncers operators already run (crowdsec-firewall-bouncer,
 * the nginx and Traefik bouncers…) work against Rempart unchanged. The shapes are CrowdSec
 * 1.4's, checked against its LAPI: a decision is `{duration, id, origin, scenario, scope, type,
 * value}` with a numeric id and a Go duration ("3h59m58.5s"); an empty list is `null`, not `[]`.
 *
 * Only what a bouncer can enforce goes out: decisions on an address (`Ip`) or a range (`Range`)
 * whose action is `ban` (type `ban`) or `challenge` (type `captcha`). `hold`, `suspend` and
 * `verify` are about accounts and sign-ups, and `throttle` has no CrowdSec type whose bouncers
 * would not turn it into a ban: none of them is sent.
 */
import type { Decision, DecisionChange, Storage } from "../core/index.ts";
import type { DecisionFeed } from "../decisions/index.ts";
import { ipFamily, ipToBigInt, parseCidr, type IpRange } from "../net/index.ts";

/** CrowdSec's decision type for a Rempart action, or undefined when it is not sent. */
export function crowdsecType(action: Decision["action"]): "ban" | "captcha" | undefined {
  return action === "ban" ? "ban" : action === "challenge" ? "captcha" : undefined;
}

const SCOPE_NAME = { ip: "Ip", range: "Range" } as const;

/** Whether a bouncer is told about this decision. */
export const forBouncers = (d: Decision): boolean =>
  (d.scope === "ip" || d.scope === "range") && crowdsecType(d.action) !== undefined;

/**
 * A duration in Go's `time.Duration.String()` form, which bouncers parse with
 * `time.ParseDuration`: `1h0m0s`, `1m30s`, `2.5s`, `250ms`, `-1.2s`, `0s`.
 */
export function goDuration(ms: number): string {
  const ns = Math.round(ms) * 1_000_000;
  if (ns === 0) return "0s";
  const sign = ns < 0 ? "-" : "";
  let rest = Math.abs(Math.round(ms));
  if (rest < 1000) return `${sign}${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  const frac = rest - s * 1000;
  const sec = frac === 0 ? `${s}` : `${s}.${String(frac).padStart(3, "0").replace(/0+$/, "")}`;
  if (h > 0) return `${sign}${h}h${m}m${sec}s`;
  if (m > 0) return `${sign}${m}m${sec}s`;
  return `${sign}${sec}s`;
}

/** What a bouncer is told for a decision with no expiry: a year, renewed at each full pull. */
export const PERMANENT_MS = 365 * 24 * 3_600_000;

/**
 * Numbers for decisions (CrowdSec's ids are integers, Rempart's are text): a 53-bit hash of
 * the decision's id, so the same decision has the same number in every pull and across
 * restarts, with nothing kept per decision (the book makes decision objects on demand, so
 * their identity cannot carry it). Bouncers key their sets by value; the number only names.
 */
export class CrowdsecIds {
  of(d: Decision): number {
    return crowdsecId(d.id);
  }
}

/** A positive integer below 2^53 from a text: two 32-bit FNV-1a hashes, differently seeded. */
export function crowdsecId(id: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ id.length;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (b >>> 11) * 0x100000000 + (a >>> 0) || 1;
}

/** One decision as CrowdSec's JSON, its duration counted from `now`. */
export function crowdsecJson(d: Decision, id: number, now: number): string {
  const left = d.expiresAt === null ? PERMANENT_MS : d.expiresAt - now;
  // Members in CrowdSec's order; every string through JSON.stringify.
  return (
    `{"duration":"${goDuration(left)}","id":${id},"origin":${JSON.stringify(d.origin)},` +
    `"scenario":${JSON.stringify(d.scenario)},"scope":"${SCOPE_NAME[d.scope as "ip" | "range"]}",` +
    `"type":"${crowdsecType(d.action)!}","value":${JSON.stringify(d.value)}}`
  );
}

/** A JSON list in CrowdSec's manner: `null` when empty. */
export const crowdsecList = (items: readonly string[]): string =>
  items.length === 0 ? "null" : `[${items.join(",")}]`;

// ── Filters of GET /v1/decisions ─────────────────────────────────────────────────────────

export interface CrowdsecFilter {
  readonly ip?: string;
  readonly range?: IpRange;
  /** With `range`: true (default) for decisions containing it, false for those inside it. */
  readonly contains: boolean;
  readonly scope?: "ip" | "range";
  readonly value?: string;
  readonly type?: "ban" | "captcha";
  readonly origins?: readonly string[];
  readonly scenariosContaining?: readonly string[];
  readonly scenariosNotContaining?: readonly string[];
}

const rangeOf = (d: Decision): IpRange | undefined => parseCidr(d.value);

function within(inner: IpRange, outer: IpRange): boolean {
  if (inner.family !== outer.family || inner.bits < outer.bits) return false;
  const width = outer.family === 4 ? 32 : 128;
  const shift = BigInt(width - outer.bits);
  return inner.start >> shift === outer.start >> shift;
}

/** Whether a decision passes the filters that do not need an index (type, scope, names). */
export function passes(d: Decision, f: CrowdsecFilter): boolean {
  if (!forBouncers(d)) return false;
  if (f.type !== undefined && crowdsecType(d.action) !== f.type) return false;
  if (f.scope !== undefined && d.scope !== f.scope) return false;
  if (f.value !== undefined && d.value !== f.value) return false;
  if (f.origins !== undefined && !f.origins.includes(d.origin)) return false;
  if (f.scenariosContaining?.some((s) => d.scenario.includes(s)) === false) return false;
  if (f.scenariosNotContaining?.some((s) => d.scenario.includes(s)) === true) return false;
  if (f.range !== undefined) {
    const r = rangeOf(d);
    if (r === undefined) return false;
    return f.contains ? within(f.range, r) : within(r, f.range);
  }
  return true;
}

/** Whether an address is inside a decision's address or range. */
export function covers(d: Decision, ip: string): boolean {
  if (d.scope === "ip") return d.value === ip;
  const r = rangeOf(d);
  return (
    r !== undefined &&
    r.family === ipFamily(ip) &&
    within({ family: r.family, start: ipToBigInt(ip), bits: r.family === 4 ? 32 : 128 }, r)
  );
}

// ── The stream ───────────────────────────────────────────────────────────────────────────

export interface StreamAnswer {
  readonly added: readonly Decision[];
  readonly deleted: readonly Decision[];
}

/** What the stream keeps across restarts: when each bouncer pulled, and what was deleted. */
export type PullMemory = Pick<Storage, "bouncerPull" | "saveBouncerPull" | "listDecisions">;

/** The most deletions sent to one bouncer from the store at once (after a restart). */
const MAX_STORED_DELETIONS = 1_000_000;

/**
 * Where each bouncer (API key) stands in the decision feed: its position, in memory, and the
 * time of its last pull, also in the store. A bouncer the feed cannot serve (after a restart of
 * Rempart, or fallen out of the feed's ring) gets the whole active set, and the decisions
 * deleted since its last pull from the store: a ban lifted by hand just before a restart is
 * still lifted in the firewall.
 */
export class BouncerCursors {
  readonly #cursors = new Map<string, { readonly seq: number; readonly at: number }>();
  readonly #feed: DecisionFeed;
  readonly #memory: PullMemory;

  constructor(feed: DecisionFeed, memory: PullMemory) {
    this.#feed = feed;
    this.#memory = memory;
  }

  /**
   * What this bouncer must add and delete since its last pull. The whole active set when it
   * starts up, or when the feed no longer holds its position: then with the deletions the store
   * recorded since that pull (none on `startup`, and none for a bouncer never seen).
   */
  async pull(
    key: string,
    startup: boolean,
    now: number,
    active: () => readonly Decision[],
    stillActive: (d: Decision) => boolean,
  ): Promise<StreamAnswer> {
    const head = this.#feed.head;
    const cursor = this.#cursors.get(key);
    const changes = startup || cursor === undefined ? undefined : this.#feed.since(cursor.seq);
    const last = startup ? undefined : (cursor?.at ?? (await this.#memory.bouncerPull(key)));
    await this.#memory.saveBouncerPull(key, now);
    // Moved only once the pull is recorded: a failed one is retried from the same place.
    this.#cursors.set(key, { seq: head, at: now });
    if (changes !== undefined) return net(changes, stillActive);
    const added = active().filter(forBouncers);
    if (last === undefined) return { added, deleted: [] };
    // Made before its last pull (so sent to it), deleted after, not yet ended by their own
    // timeout: it still holds them.
    const gone = await this.#memory.listDecisions({
      deletedAfter: last,
      createdBy: last,
      limit: MAX_STORED_DELETIONS,
    });
    const held = new Set(added.map(subjectKey));
    const deleted = gone.filter(
      (d) =>
        forBouncers(d) &&
        (d.expiresAt === null || d.expiresAt > now) &&
        !held.has(subjectKey(d)) &&
        !stillActive(d),
    );
    return { added, deleted: [...new Map(deleted.map((d) => [subjectKey(d), d])).values()] };
  }

  forget(key: string): void {
    this.#cursors.delete(key);
  }
}

/** A bouncer's set entry: the subject and the type (bouncers key their sets by value). */
const subjectKey = (d: Decision): string => `${d.scope}\u0000${d.value}\u0000${d.action}`;

/**
 * The net effect of a run of changes: a decision added and removed within it is not sent at
 * all (deleting an element it never had makes some firewalls reject the whole batch), and a
 * deletion is not sent while another active decision still holds the same subject and type,
 * because bouncers key their sets by value.
 */
function net(
  changes: readonly DecisionChange[],
  stillActive: (d: Decision) => boolean,
): StreamAnswer {
  // By id: a decision's added and removed changes may carry two objects of it.
  const last = new Map<string, DecisionChange>();
  const first = new Map<string, DecisionChange["kind"]>();
  for (const c of changes) {
    if (!forBouncers(c.decision)) continue;
    if (!first.has(c.decision.id)) first.set(c.decision.id, c.kind);
    last.set(c.decision.id, c);
  }
  const added: Decision[] = [];
  const removed: Decision[] = [];
  for (const [id, { kind, decision }] of last) {
    if (kind === "added") added.push(decision);
    else if (first.get(id) === "removed") removed.push(decision);
  }
  const held = new Set(added.map(subjectKey));
  const deleted = removed.filter((d) => !held.has(subjectKey(d)) && !stillActive(d));
  return { added, deleted };
}
