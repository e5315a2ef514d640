/**
 * Appeals: anyone can see what this site holds against an address, and ask for it to be
 * forgiven; an operator answers. A person behind an address that a guesser used before (a
 * school, a carrier's NAT, a reused VPS) is told what is held, never why in detail (a reason
 * may name an account), and how to ask.
 *
 * An appeal is taken only for an address something is held against, one open appeal per
 * address, and a few per sender a day: the form is public. Forgiving lifts the decisions on
 * the address itself and forgets its reports; decisions on a range, an AS or from a list stay
 * (they are about more than one person: the answer says which remain). Closed appeals are
 * deleted after `keep`, with the contact they carry.
 */
import { formatTime, type AppealRecord, type Decision, type Storage } from "../core/index.ts";

/** Appeals one sender may make in a day. */
export const APPEALS_PER_SENDER = 5;
const DAY_MS = 86_400_000;
export const MAX_APPEAL_MESSAGE = 2000;

/** What the public is told of an address: no reason, no comment, no reporter. */
export interface PublicStanding {
  readonly ip: string;
  readonly listed: boolean;
  readonly decisions: readonly {
    readonly action: string;
    readonly scope: string;
    readonly value: string;
    readonly since: string;
    readonly until: string | null;
    /** The scenario, the list's name, or `operator` for a decision made by hand. */
    readonly source: string;
  }[];
  readonly confidence: number;
  readonly appeal: {
    readonly id: string;
    readonly status: AppealRecord["status"];
    readonly created: string;
  } | null;
}

export type AppealOutcome =
  | { readonly ok: true; readonly appeal: AppealRecord }
  | {
      readonly ok: false;
      readonly reason: "not-listed" | "pending" | "too-many";
      readonly message: string;
      /** With `too-many`: when the sender may appeal again. */
      readonly retryAfterMs?: number;
    };

export interface Forgiven {
  readonly appeal: AppealRecord;
  readonly decisions: number;
  readonly reports: number;
  /** Decisions in force that cover the address and were left (ranges, ASes, lists). */
  readonly remaining: readonly Decision[];
}

export interface AppealsDeps {
  readonly storage: Pick<
    Storage,
    "addAppeal" | "listAppeals" | "findAppeal" | "closeAppeal" | "pruneAppeals"
  >;
  /** The decisions in force that cover the address (its own, its ranges', its AS's). */
  readonly decisions: (ip: string) => readonly Decision[];
  readonly confidence: (ip: string, now: number) => number;
  /** Ends a decision in force; false when it was gone. */
  readonly lift: (id: string) => Promise<boolean>;
  /** Forgets the address's reports; answers how many. */
  readonly forget: (ip: string) => Promise<number>;
  readonly newId: () => string;
  readonly keepMs: number;
}

/** The confidence from which an address counts as listed without a decision in force. */
export const LISTED_FROM = 25;

export class Appeals {
  readonly #deps: AppealsDeps;
  /** Sender → times of its appeals in the last day. */
  readonly #senders = new Map<string, number[]>();
  #open = 0;

  constructor(deps: AppealsDeps) {
    this.#deps = deps;
  }

  /** Appeals waiting for an answer (for /metrics). */
  get open(): number {
    return this.#open;
  }

  /** Counts the open appeals and deletes the closed ones past `keep`. */
  async load(now: number): Promise<void> {
    await this.prune(now);
    await this.count();
  }

  /** Counts the open appeals again: other nodes on a shared database take and answer some. */
  async count(): Promise<void> {
    this.#open = (await this.#deps.storage.listAppeals({ status: "open" })).length;
  }

  prune(now: number): Promise<number> {
    return this.#deps.storage.pruneAppeals(now - this.#deps.keepMs);
  }

  /** What anyone may see of an address. */
  async lookup(ip: string, now: number): Promise<PublicStanding> {
    const decisions = this.#deps.decisions(ip);
    const confidence = this.#deps.confidence(ip, now);
    const [last] = await this.#deps.storage.listAppeals({ ip, limit: 1 });
    return {
      ip,
      listed: decisions.length > 0 || confidence >= LISTED_FROM,
      decisions: decisions.map((d) => ({
        action: d.action,
        scope: d.scope,
        value: d.value,
        since: formatTime(d.createdAt, 0),
        until: d.expiresAt === null ? null : formatTime(d.expiresAt, 0),
        source: d.origin === "manual" ? "operator" : d.scenario,
      })),
      confidence,
      appeal:
        last === undefined
          ? null
          : { id: last.id, status: last.status, created: formatTime(last.createdAt, 0) },
    };
  }

  async submit(
    input: {
      readonly ip: string;
      readonly contact: string;
      readonly message: string;
      readonly sender: string;
    },
    now: number,
  ): Promise<AppealOutcome> {
    const { storage } = this.#deps;
    if (
      this.#deps.decisions(input.ip).length === 0 &&
      this.#deps.confidence(input.ip, now) < LISTED_FROM
    )
      return {
        ok: false,
        reason: "not-listed",
        message: `${input.ip} is not listed here: there is nothing to forgive`,
      };
    const [pending] = await storage.listAppeals({ ip: input.ip, status: "open", limit: 1 });
    if (pending !== undefined)
      return {
        ok: false,
        reason: "pending",
        message: `an appeal for ${input.ip} is already waiting for an answer (${pending.id})`,
      };
    const times = (this.#senders.get(input.sender) ?? []).filter((t) => t > now - DAY_MS);
    if (times.length >= APPEALS_PER_SENDER)
      return {
        ok: false,
        reason: "too-many",
        message: `at most ${APPEALS_PER_SENDER} appeals a day may come from one address`,
        retryAfterMs: times[0]! + DAY_MS - now,
      };
    const appeal: AppealRecord = {
      id: this.#deps.newId(),
      createdAt: now,
      ip: input.ip,
      contact: input.contact,
      message: input.message.slice(0, MAX_APPEAL_MESSAGE),
      sender: input.sender,
      status: "open",
      closedAt: null,
      closedBy: "",
      note: "",
    };
    if (!(await storage.addAppeal(appeal)))
      // Another appeal for the address arrived meanwhile.
      return {
        ok: false,
        reason: "pending",
        message: `an appeal for ${input.ip} is already waiting for an answer`,
      };
    times.push(now);
    this.#senders.set(input.sender, times);
    if (this.#senders.size > 10_000) this.#forgetSenders(now);
    this.#open++;
    return { ok: true, appeal };
  }

  list(query: {
    readonly status?: AppealRecord["status"];
    readonly limit?: number;
  }): Promise<AppealRecord[]> {
    return this.#deps.storage.listAppeals(query);
  }

  /**
   * Closes the appeal as forgiven: the decisions on the address itself are lifted and its
   * reports forgotten. Undefined when no open appeal has that id.
   */
  async forgive(id: string, by: string, note: string, now: number): Promise<Forgiven | undefined> {
    const appeal = await this.#deps.storage.closeAppeal(id, {
      status: "forgiven",
      at: now,
      by,
      note,
    });
    if (appeal === undefined) return undefined;
    this.#open = Math.max(0, this.#open - 1);
    let decisions = 0;
    const remaining: Decision[] = [];
    for (const d of this.#deps.decisions(appeal.ip)) {
      if (d.scope === "ip" && d.origin !== "import") {
        if (await this.#deps.lift(d.id)) decisions++;
      } else remaining.push(d);
    }
    const reports = await this.#deps.forget(appeal.ip);
    return { appeal, decisions, reports, remaining };
  }

  async refuse(
    id: string,
    by: string,
    note: string,
    now: number,
  ): Promise<AppealRecord | undefined> {
    const appeal = await this.#deps.storage.closeAppeal(id, {
      status: "refused",
      at: now,
      by,
      note,
    });
    if (appeal !== undefined) this.#open = Math.max(0, this.#open - 1);
    return appeal;
  }

  #forgetSenders(now: number): void {
    for (const [sender, times] of this.#senders)
      if (times.every((t) => t <= now - DAY_MS)) this.#senders.delete(sender);
  }
}
