/**
 * The accounts' trust states, kept in storage. Every cause applied is stored with the account
 * and every outcome — a change of state, or a cause that changed nothing and why — is a line
 * of its history. Causes are applied in their own time order: one that arrives after later
 * ones is placed where it belongs by replaying the account's causes, so a redelivered or
 * late event never moves an account back, and the state does not depend on arrival order.
 */
import { RempartError, type Decision, type Event, type VerdictKind } from "../../core/index.ts";
import type {
  AccountCauseRecord,
  AccountHistoryRecord,
  AccountRecord,
  Storage,
} from "../../core/ports.ts";
import {
  ACCOUNT_STATES,
  canonicalCause,
  compareCauses,
  decisionCause,
  expire,
  expiryOf,
  INITIAL,
  step,
  storedCause,
  trace,
  verdictCause,
  type AccountCause,
  type AccountState,
  type MachineInput,
  type MachineOptions,
  type MachineState,
} from "./account-machine.ts";

export const OPERATOR_ACTIONS = Object.freeze(["review", "restore", "ban", "close"] as const);
export type OperatorAction = (typeof OPERATOR_ACTIONS)[number];

/** What can be applied to an account. */
export type AccountInput =
  /** An application or payment-provider event about `event.account`. */
  | { readonly kind: "event"; readonly event: Event }
  /** The guard's verdict on one of the account's submissions (its id is the submission's). */
  | {
      readonly kind: "verdict";
      readonly id: string;
      readonly account: string;
      readonly time: number;
      readonly verdict: VerdictKind;
      readonly submission: "signup" | "form.submit";
    }
  /** A decision whose scope is `account`. */
  | { readonly kind: "decision"; readonly decision: Decision }
  | {
      readonly kind: "operator";
      readonly account: string;
      readonly action: OperatorAction;
      readonly time: number;
      /** The API key's name. */
      readonly by: string;
      readonly reason: string;
    };

/** The account's state moved (or, while held, the state it resumes at; or a counter). */
export interface Transition {
  readonly kind: "transition";
  readonly account: string;
  readonly event: string;
  readonly cause: AccountCause;
  readonly at: number;
  readonly from: AccountState;
  readonly to: AccountState;
  readonly reason: string;
}

export type IgnoredReason =
  /** The cause's id was applied before (a redelivery). */
  | "duplicate"
  /** No transition from the account's state on this cause. Recorded in the history. */
  | "refused"
  /** Older than causes already applied, and placing it where it belongs changes nothing. Recorded. */
  | "stale"
  /** Not about an account's life (no account, an event type the machine does not know). */
  | "irrelevant";

export interface Ignored {
  readonly kind: "ignored";
  readonly account: string | undefined;
  readonly event: string;
  readonly state: AccountState | undefined;
  readonly reason: IgnoredReason;
  readonly message: string;
}

export interface AccountView {
  readonly id: string;
  readonly state: AccountState;
  readonly since: number;
  /** Where `operator.restore` takes a held account. */
  readonly resume: AccountState;
  readonly paymentRequired: boolean;
  /** When it will expire by itself (pending_email only). */
  readonly expiresAt: number | undefined;
}

export interface AccountBookOptions {
  readonly storage: Storage;
  readonly machine: MachineOptions;
  /** Ids for operator actions. */
  readonly newId: () => string;
  /** Wall time, for `recordedAt` bookkeeping only: states follow the causes' own times. */
  readonly now: () => number;
}

/** A cause ready to apply: one row of `account_causes`. */
interface Prepared extends MachineInput {
  readonly record: AccountCauseRecord;
}

const MAX_ATTEMPTS = 8;

export class AccountBook {
  readonly #storage: Storage;
  readonly #machine: MachineOptions;
  readonly #newId: () => string;
  readonly #now: () => number;
  /** One step at a time per account in this process; `version` guards across processes. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(options: AccountBookOptions) {
    this.#storage = options.storage;
    this.#machine = options.machine;
    this.#newId = options.newId;
    this.#now = options.now;
  }

  /** Applies one cause. Resolves with what happened; rejects only when storage fails. */
  apply(input: AccountInput): Promise<Transition | Ignored> {
    const prepared = this.#prepare(input);
    if (!("record" in prepared)) return Promise.resolve(prepared);
    return this.#serial(prepared.record.account, () => this.#applyPrepared(prepared));
  }

  /** Applies the events that concern accounts, in time order; the others are skipped. */
  async applyEvents(events: readonly Event[]): Promise<(Transition | Ignored)[]> {
    const out: (Transition | Ignored)[] = [];
    for (const event of [...events].sort((a, b) => a.time - b.time))
      if (event.account !== undefined && canonicalCause(event.type) !== undefined)
        out.push(await this.apply({ kind: "event", event }));
    return out;
  }

  /** The account now (expiring it first if its time has come), or undefined if never seen. */
  get(account: string, now: number): Promise<AccountView | undefined> {
    return this.#serial(account, async () => {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const rec = await this.#storage.findAccount(account);
        if (rec === undefined) return undefined;
        const state = machineState(rec);
        const ex = expire(state, now, this.#machine);
        if (ex === undefined) return this.#view(rec.id, state);
        const row = this.#row(rec.id, rec, 1, {
          at: ex.at,
          event: "",
          cause: "time.expired",
          from: state.state,
          to: ex.next.state,
          outcome: "applied",
          reason: "e-mail not confirmed in time",
          by: "clock",
        });
        const written = await this.#storage.writeAccount({
          account: record(rec.id, ex.next, Math.max(rec.lastTime, ex.at), rec, 1, this.#now()),
          expectedVersion: rec.version,
          history: [row],
        });
        if (written === "ok") return this.#view(rec.id, ex.next);
      }
      throw tooBusy(account);
    });
  }

  /** The newest `limit` lines of the account's history, newest first. */
  history(account: string, limit: number): Promise<AccountHistoryRecord[]> {
    return this.#storage.accountHistory(account, limit);
  }

  /** Expires the accounts whose time has come (at most `limit`); answers how many. */
  async sweep(now: number, limit = 1000): Promise<number> {
    const due = await this.#storage.listAccounts({
      state: "pending_email",
      sinceBefore: now - this.#machine.pendingEmailExpiryMs + 1,
      limit,
    });
    let n = 0;
    for (const a of due) if ((await this.get(a.id, now))?.state === "expired") n++;
    return n;
  }

  #view(id: string, s: MachineState): AccountView {
    return Object.freeze({
      id,
      state: s.state,
      since: s.since,
      resume: s.resume,
      paymentRequired: s.paymentRequired,
      expiresAt: expiryOf(s, this.#machine),
    });
  }

  #prepare(input: AccountInput): Prepared | Ignored {
    const irrelevant = (account: string | undefined, event: string, why: string): Ignored => ({
      kind: "ignored",
      account,
      event,
      state: undefined,
      reason: "irrelevant",
      message: why,
    });
    switch (input.kind) {
      case "event": {
        const e = input.event;
        if (e.account === undefined)
          return irrelevant(undefined, e.id, "the event names no account");
        let cause = canonicalCause(e.type);
        if (cause === undefined)
          return irrelevant(e.account, e.id, `${e.type} does not concern an account's life`);
        const verdict = verdictOf(e.fields["verdict"]);
        if (cause === "signup" && verdict === "deny") cause = "signup.denied";
        return prepared(e.account, e.id, cause, e.type, e.time, resourceOf(e), e.service, {
          ...(verdict !== undefined && { verdict }),
        });
      }
      case "verdict": {
        const cause = verdictCause(input.verdict, input.submission === "signup");
        if (cause === undefined)
          return irrelevant(input.account, input.id, `a ${input.verdict} verdict moves nothing`);
        return prepared(
          input.account,
          input.id,
          cause,
          `verdict.${input.verdict}`,
          input.time,
          "",
          "guard",
          {
            verdict: input.verdict,
          },
        );
      }
      case "decision": {
        const d = input.decision;
        const cause = d.scope === "account" ? decisionCause(d.action) : undefined;
        if (cause === undefined)
          return irrelevant(
            d.scope === "account" ? d.value : undefined,
            d.id,
            `a ${d.action} decision on ${d.scope} moves no account`,
          );
        return prepared(
          d.value,
          `decision:${d.id}`,
          cause,
          `decision.${d.action}`,
          d.createdAt,
          "",
          d.scenario,
          {
            reason: d.reason,
          },
        );
      }
      case "operator":
        return prepared(
          input.account,
          `op:${this.#newId()}`,
          `operator.${input.action}`,
          `operator.${input.action}`,
          input.time,
          "",
          input.by,
          { reason: input.reason },
        );
    }
  }

  async #applyPrepared(p: Prepared): Promise<Transition | Ignored> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const outcome = await this.#attempt(p);
      if (outcome !== "conflict") return outcome;
    }
    throw tooBusy(p.record.account);
  }

  async #attempt(given: Prepared): Promise<Transition | Ignored | "conflict"> {
    const { account, id } = given.record;
    const rec = await this.#storage.findAccount(account);
    // An operator acts on the state shown now: after every cause already applied (whose
    // times come from other clocks than ours).
    const at = rec === undefined ? given.time : Math.max(given.time, rec.lastTime + 1);
    const p: Prepared =
      given.record.id.startsWith("op:") && at !== given.time
        ? { ...given, time: at, record: { ...given.record, time: at } }
        : given;
    const before = rec === undefined ? INITIAL : machineState(rec);
    const rows: Omit<AccountHistoryRecord, "account" | "seq" | "recordedAt">[] = [];
    const by = p.record.by;
    let after: MachineState;
    let lastTime: number;
    let result: Transition | Ignored;

    if (rec === undefined || p.time > rec.lastTime) {
      // In order: one step from the stored state (after its expiry, if due by then).
      let s = before;
      const ex = expire(s, p.time, this.#machine);
      if (ex !== undefined) {
        rows.push({
          at: ex.at,
          event: "",
          cause: "time.expired",
          from: s.state,
          to: ex.next.state,
          outcome: "applied",
          reason: "e-mail not confirmed in time",
          by: "clock",
        });
        s = ex.next;
      }
      const r = step(s, p, this.#machine);
      after = r.kind === "refused" ? s : r.next;
      lastTime = p.time;
      const reason = r.kind === "refused" ? r.reason : r.note;
      rows.push({
        at: p.time,
        event: id,
        cause: p.cause,
        from: s.state,
        to: after.state,
        outcome: r.kind === "refused" ? "ignored" : "applied",
        reason,
        by,
      });
      result =
        r.kind === "refused"
          ? ignored(account, id, s.state, "refused", reason)
          : transition(account, id, p, s.state, after.state, reason);
    } else {
      // Late: replay every cause in its own order, this one in its place.
      const causes = await this.#storage.accountCauses(account);
      const stored = causes.find((c) => c.id === id);
      if (stored !== undefined) return this.#duplicate(rec, p.record, stored);
      const earlier = causes.map(toInput).filter((c) => c !== undefined);
      const mine = { ...p, id };
      const inputs = [...earlier, mine];
      const replay = trace(inputs, rec.lastTime, this.#machine, id);
      after = replay.state;
      lastTime = rec.lastTime;
      // Its memory (where it resumes) may still move; that is written, but is not a transition.
      const same = before.state === after.state && before.since === after.since;
      const why: IgnoredReason = replay.watched?.kind === "refused" ? "refused" : "stale";
      // The same time as the last cause applied, and after it in their order: in order, not late.
      const tie = p.time === rec.lastTime && earlier.every((c) => compareCauses(c, mine) < 0);
      const reason = !same
        ? tie && replay.watched !== undefined && replay.watched.kind !== "refused"
          ? replay.watched.note
          : `arrived late: replayed ${inputs.length} causes in their own order`
        : replay.watched?.kind === "refused"
          ? `${replay.watched.reason} (in its place, among causes applied before it arrived)`
          : "older than causes already applied; in its place it changes nothing";
      rows.push({
        at: p.time,
        event: id,
        cause: p.cause,
        from: before.state,
        to: after.state,
        outcome: same ? "ignored" : "applied",
        reason,
        by,
      });
      result = same
        ? ignored(account, id, before.state, why, reason)
        : transition(account, id, p, before.state, after.state, reason);
    }

    const now = this.#now();
    const history = rows.map((r, i) => this.#row(account, rec, i + 1, r, now));
    const written = await this.#storage.writeAccount({
      account: record(account, after, lastTime, rec, history.length, now),
      expectedVersion: rec?.version ?? 0,
      cause: p.record,
      history,
    });
    if (written === "conflict") return "conflict";
    if (written === "duplicate") {
      const stored = (await this.#storage.accountCauses(account)).find((c) => c.id === id);
      return stored === undefined || rec === undefined
        ? "conflict"
        : this.#duplicate(rec, p.record, stored);
    }
    return result;
  }

  /**
   * A cause whose id was applied before. A redelivery changes nothing and says nothing. An id
   * used before by another kind of event (an application reusing an order's id) is a mistake
   * to see: the history records it as ignored, and why.
   */
  async #duplicate(
    rec: AccountRecord,
    given: AccountCauseRecord,
    stored: AccountCauseRecord,
  ): Promise<Ignored | "conflict"> {
    const state = machineState(rec).state;
    if (stored.type === given.type && stored.time === given.time)
      return ignored(rec.id, given.id, state, "duplicate", "applied before");
    const reason =
      `the id was applied before, to ${stored.type} at ${new Date(stored.time).toISOString()}; ` +
      `this ${given.type} is not applied: each event needs an id of its own`;
    const written = await this.#storage.writeAccount({
      account: { ...rec, history: rec.history + 1, version: rec.version + 1 },
      expectedVersion: rec.version,
      history: [
        this.#row(rec.id, rec, 1, {
          at: given.time,
          event: given.id,
          cause: given.cause,
          from: state,
          to: state,
          outcome: "ignored",
          reason,
          by: given.by,
        }),
      ],
    });
    return written === "ok" ? ignored(rec.id, given.id, state, "duplicate", reason) : "conflict";
  }

  #row(
    account: string,
    rec: AccountRecord | undefined,
    offset: number,
    r: Omit<AccountHistoryRecord, "account" | "seq" | "recordedAt">,
    now = this.#now(),
  ): AccountHistoryRecord {
    return { ...r, account, seq: (rec?.history ?? 0) + offset, recordedAt: now };
  }

  #serial<T>(account: string, run: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(account) ?? Promise.resolve();
    const next = previous.then(run, run);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(account, settled);
    void settled.then(() => {
      if (this.#queues.get(account) === settled) this.#queues.delete(account);
    });
    return next;
  }
}

function prepared(
  account: string,
  id: string,
  cause: AccountCause,
  type: string,
  time: number,
  resource: string,
  by: string,
  detail: { readonly verdict?: VerdictKind; readonly reason?: string },
): Prepared {
  const record: AccountCauseRecord = Object.freeze({
    id,
    account,
    cause,
    type,
    time,
    resource,
    by,
    detail: JSON.stringify(detail),
  });
  return {
    record,
    cause,
    time,
    ...(detail.verdict !== undefined && { verdict: detail.verdict }),
  };
}

function toInput(c: AccountCauseRecord): (MachineInput & { readonly id: string }) | undefined {
  const cause = storedCause(c.cause);
  if (cause === undefined) return undefined; // written by a newer version: skip, do not guess
  const detail: unknown = JSON.parse(c.detail);
  const verdict =
    typeof detail === "object" && detail !== null && "verdict" in detail
      ? verdictOf(detail.verdict)
      : undefined;
  return { id: c.id, cause, time: c.time, ...(verdict !== undefined && { verdict }) };
}

const VERDICTS: readonly VerdictKind[] = ["allow", "challenge", "verify", "deny"];
function verdictOf(v: unknown): VerdictKind | undefined {
  return typeof v === "string" && (VERDICTS as readonly string[]).includes(v)
    ? (v as VerdictKind)
    : undefined;
}

/** `payment:PM123` from the event's links, for the history. */
function resourceOf(e: Event): string {
  for (const kind of ["payment", "mandate", "subscription", "customer"]) {
    const ref = e.fields[`links.${kind}`];
    if (typeof ref === "string" && ref !== "") return `${kind}:${ref}`;
  }
  return "";
}

function machineState(rec: AccountRecord): MachineState {
  const m = JSON.parse(rec.memory) as Partial<Record<string, unknown>>;
  return Object.freeze({
    state: stateOf(rec.state),
    since: rec.since,
    resume: stateOf(typeof m["resume"] === "string" ? m["resume"] : "unknown"),
    // Absent from records written before a penalty could come while held: none is pending.
    beneath: stateOf(typeof m["beneath"] === "string" ? m["beneath"] : "unknown"),
    paymentRequired: m["paymentRequired"] === true,
    verifies: typeof m["verifies"] === "number" ? m["verifies"] : 0,
  });
}

function stateOf(s: string): AccountState {
  if ((ACCOUNT_STATES as readonly string[]).includes(s)) return s as AccountState;
  throw new Error(`unexpected account state in the database: ${JSON.stringify(s)}`);
}

function record(
  id: string,
  s: MachineState,
  lastTime: number,
  rec: AccountRecord | undefined,
  added: number,
  now: number,
): AccountRecord {
  return {
    id,
    state: s.state,
    since: s.since,
    memory: JSON.stringify({
      resume: s.resume,
      beneath: s.beneath,
      paymentRequired: s.paymentRequired,
      verifies: s.verifies,
    }),
    lastTime,
    history: (rec?.history ?? 0) + added,
    version: (rec?.version ?? 0) + 1,
    updatedAt: now,
  };
}

function ignored(
  account: string,
  event: string,
  state: AccountState,
  reason: IgnoredReason,
  message: string,
): Ignored {
  return Object.freeze({ kind: "ignored", account, event, state, reason, message });
}

function transition(
  account: string,
  event: string,
  p: Prepared,
  from: AccountState,
  to: AccountState,
  reason: string,
): Transition {
  return Object.freeze({
    kind: "transition",
    account,
    event,
    cause: p.cause,
    at: p.time,
    from,
    to,
    reason,
  });
}

function tooBusy(account: string): RempartError {
  return new RempartError(
    "STORAGE_FAILED",
    `account ${JSON.stringify(account.slice(0, 40))} kept changing under concurrent writers`,
  );
}

/** Whether a decision moves the account it is about (a ban or a suspension of an account). */
export const movesAccounts = (d: Decision): boolean =>
  d.scope === "account" && decisionCause(d.action) !== undefined;
