import type { Action, Decision } from "../core/index.ts";
import { parseDuration } from "../core/index.ts";
import type { Runtime } from "../daemon/runtime.ts";
import { applyDelta, listHash } from "./delta.ts";
import { entryScope, sortValues, type ListEntry } from "./entry.ts";
import { fetchFile, fetchUrl, type FetchOutcome } from "./fetch-list.ts";
import { isListFormat, LIST_FORMATS } from "./formats/index.ts";
import type { ListSourceConfig } from "./list-config.ts";
import { EMPTY_STATE, loadState, saveState, type ListState } from "./list-state.ts";

/** The slice of the running daemon a list needs. */
export type ListRuntime = Pick<
  Runtime,
  "clock" | "addDecision" | "deleteDecision" | "activeDecisions"
>;

export interface RefreshReport {
  readonly list: string;
  readonly outcome: "unchanged" | "updated" | "held" | "failed";
  readonly transport: "none" | "full" | "delta";
  readonly entries: number;
  readonly added: number;
  readonly removed: number;
  readonly renewed: number;
  /** Entries the safety policy refused (allowlisted, wider than policy.max_range). */
  readonly refused: number;
  /** Entries another active decision already covers. */
  readonly covered: number;
  readonly message?: string;
}

const BATCH = 5000;
const FIRST_RETRY_MS = 60_000;

interface Applied {
  added: number;
  removed: number;
  renewed: number;
  refused: number;
  covered: number;
  refusals: string[];
}

/**
 * Keeps one configured list's entries as decisions (origin `import`, scenario = the list's
 * name), changing only what differs. A failed download, a list that no longer parses or one
 * that shrinks by more than `max_shrink` at once changes nothing: the entries held stay (and
 * lapse after `duration` if the list stays unreachable).
 */
export class ListRefresher {
  readonly config: ListSourceConfig;
  readonly #runtime: ListRuntime;
  readonly #dir: string;
  readonly #log: (line: string) => void;
  readonly #fetch: typeof fetch | undefined;
  readonly #durationMs: number;
  readonly #refreshMs: number;
  #state: ListState = EMPTY_STATE;
  #failures = 0;

  constructor(
    config: ListSourceConfig,
    deps: {
      runtime: ListRuntime;
      dir: string;
      log: (line: string) => void;
      fetch?: typeof fetch;
    },
  ) {
    this.config = config;
    this.#runtime = deps.runtime;
    this.#dir = deps.dir;
    this.#log = deps.log;
    this.#fetch = deps.fetch;
    this.#durationMs = parseDuration(config.duration)!;
    this.#refreshMs = parseDuration(config.refresh)!;
  }

  get #source(): string {
    return this.config.url ?? `file:${this.config.file ?? ""}`;
  }

  /** The entries of the version held. */
  entries(): readonly ListEntry[] {
    return this.#state.entries;
  }

  async load(): Promise<void> {
    this.#state = await loadState(this.#dir, this.config.name);
  }

  /** When to try next: the refresh interval, or a back-off (1 min, doubling) after failures. */
  nextDelayMs(): number {
    if (this.#failures === 0) return this.#refreshMs;
    return Math.min(this.#refreshMs, FIRST_RETRY_MS * 2 ** (this.#failures - 1));
  }

  /** One refresh: fetch, parse, check, apply the difference. Never throws on bad input. */
  async refresh(): Promise<RefreshReport> {
    const same = this.#state.source === this.#source && this.#state.format === this.config.format;
    const validators = same ? this.#state.validators : {};
    let outcome = await this.#get(validators, same && this.#state.entries.length > 0);
    let next: ListEntry[] | undefined;
    let transport: RefreshReport["transport"] = "none";
    if (outcome.kind === "delta") {
      const notes = new Map(this.#state.entries.map((e) => [e.value, e.note]));
      const r = applyDelta(sortValues(this.#state.entries.map((e) => e.value)), outcome.delta);
      if (r.ok) {
        transport = "delta";
        next = r.value.map((value) => {
          const note = notes.get(value);
          return note === undefined ? { value } : { value, note };
        });
      } else {
        this.#log(`rempart: list ${this.config.name}: ${r.error.message}; fetching it whole`);
        outcome = await this.#get({}, false);
      }
    }
    if (outcome.kind === "failed") return this.#failed(outcome.message);
    if (outcome.kind === "unchanged") {
      this.#failures = 0;
      const a = await this.#apply(this.#state.entries);
      await this.#save({ ...this.#state, checkedAt: this.#runtime.clock.now() });
      return this.#report("unchanged", "none", this.#state.entries.length, a);
    }
    if (outcome.kind === "full") {
      transport = "full";
      const parse = isListFormat(this.config.format) ? LIST_FORMATS[this.config.format] : undefined;
      if (!parse) return this.#failed(`unknown format ${this.config.format}`);
      const parsed = parse(outcome.text, { skipInvalid: this.config.skip_invalid });
      if (!parsed.ok) return this.#failed(parsed.error.message);
      if (parsed.value.skipped > 0)
        this.#log(
          `rempart: list ${this.config.name}: ${parsed.value.skipped} invalid lines skipped (first: ${parsed.value.problems[0]?.message ?? "?"})`,
        );
      next = [...parsed.value.entries];
    }
    const validatorsNow = outcome.validators;
    this.#failures = 0;
    const entries = next ?? [];

    // A list that loses more than max_shrink of its entries at once is held back until a
    // second download gives the same version: a truncated file must not unban everything.
    const before = this.#state.entries;
    if (before.length > 0) {
      const keep = new Set(entries.map((e) => e.value));
      const lost = before.filter((e) => !keep.has(e.value)).length;
      if (lost / before.length > this.config.max_shrink) {
        const fingerprint = listHash(sortValues(keep)).toString("hex");
        if (this.#state.held !== fingerprint) {
          const a = await this.#apply(before);
          await this.#save({ ...this.#state, held: fingerprint });
          const message = `would drop ${lost} of ${before.length} entries (more than max_shrink ${this.config.max_shrink}); keeping the current entries until a later download confirms it`;
          this.#log(`rempart: list ${this.config.name}: warning: ${message}`);
          return this.#report("held", transport, before.length, a, message);
        }
        this.#log(
          `rempart: list ${this.config.name}: the shrunk version (${entries.length} entries) was downloaded twice; applying it`,
        );
      }
    }
    const a = await this.#apply(entries);
    await this.#save({
      source: this.#source,
      format: this.config.format,
      validators: validatorsNow,
      entries,
      checkedAt: this.#runtime.clock.now(),
    });
    return this.#report("updated", transport, entries.length, a);
  }

  #get(validators: ListState["validators"], delta: boolean): Promise<FetchOutcome> {
    if (this.config.url !== undefined)
      return fetchUrl(this.config.url, validators, {
        delta: delta && this.config.delta,
        ...(this.#fetch === undefined ? {} : { fetch: this.#fetch }),
      });
    return fetchFile(this.config.file!, validators);
  }

  #failed(message: string): RefreshReport {
    this.#failures++;
    this.#log(
      `rempart: list ${this.config.name}: ${message}; keeping ${this.#state.entries.length} entries, retrying in ${Math.round(this.nextDelayMs() / 1000)} s`,
    );
    return this.#report(
      "failed",
      "none",
      this.#state.entries.length,
      { added: 0, removed: 0, renewed: 0, refused: 0, covered: 0, refusals: [] },
      message,
    );
  }

  async #save(state: ListState): Promise<void> {
    this.#state = state;
    try {
      await saveState(this.#dir, this.config.name, state);
    } catch (e) {
      this.#log(`rempart: list ${this.config.name}: cannot save its state: ${String(e)}`);
    }
  }

  #report(
    outcome: RefreshReport["outcome"],
    transport: RefreshReport["transport"],
    entries: number,
    a: Applied,
    message?: string,
  ): RefreshReport {
    const { refusals, ...counts } = a;
    if (a.refused > 0)
      this.#log(
        `rempart: list ${this.config.name}: ${a.refused} entries refused by the policy (e.g. ${refusals.join("; ")})`,
      );
    return Object.freeze({
      list: this.config.name,
      outcome,
      transport,
      entries,
      ...counts,
      ...(message === undefined ? {} : { message }),
    });
  }

  /**
   * Makes the active decisions of this list match `entries`: adds the missing, deletes the
   * ones no longer listed, and renews those that would lapse before the next refreshes. In the
   * steady state this is exactly the difference between the two versions of the list.
   */
  async #apply(entries: readonly ListEntry[]): Promise<Applied> {
    const a: Applied = { added: 0, removed: 0, renewed: 0, refused: 0, covered: 0, refusals: [] };
    const now = this.#runtime.clock.now();
    const name = this.config.name;
    const action = this.config.action as Action;
    const mine = new Map<string, Decision>();
    for (const d of this.#runtime.activeDecisions())
      if (d.origin === "import" && d.scenario === name) mine.set(d.value, d);
    const renewBelow = Math.min(2 * this.#refreshMs, this.#durationMs / 2);
    const jobs: (() => Promise<void>)[] = [];
    const wanted = new Set<string>();
    for (const e of entries) {
      wanted.add(e.value);
      const d = mine.get(e.value);
      const stale = d !== undefined && d.action !== action;
      if (stale) jobs.push(() => this.#remove(d, a, false));
      const renew =
        d !== undefined && !stale && d.expiresAt !== null && d.expiresAt - now < renewBelow;
      if (d !== undefined && !stale && !renew) continue;
      jobs.push(async () => {
        const o = await this.#runtime.addDecision({
          action,
          scope: entryScope(e.value),
          value: e.value,
          durationMs: this.#durationMs,
          reason: e.note === undefined ? `on list ${name}` : `on list ${name} (${e.note})`,
          author: name,
          origin: "import",
        });
        if (o.kind === "refused") {
          a.refused++;
          if (a.refusals.length < 3) a.refusals.push(o.reason);
        } else if (o.kind === "merged") a.covered++;
        else if (renew) a.renewed++;
        else a.added++;
      });
    }
    for (const [value, d] of mine)
      if (!wanted.has(value)) jobs.push(() => this.#remove(d, a, true));
    // Started together, the decisions of a batch are committed together (one checkpoint).
    for (let i = 0; i < jobs.length; i += BATCH)
      await Promise.all(jobs.slice(i, i + BATCH).map((j) => j()));
    return a;
  }

  async #remove(d: Decision, a: Applied, count: boolean): Promise<void> {
    if ((await this.#runtime.deleteDecision(d.id)) && count) a.removed++;
  }
}
