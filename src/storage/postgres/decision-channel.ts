/**
 * Live decision sharing between nodes on one PostgreSQL (docs/running.md, "Several nodes").
 * Every transaction that adds or deletes decisions also sends a NOTIFY naming them; each node
 * LISTENs, reads what another node added, and applies it to its own memory, so that all
 * enforce it within a moment. PostgreSQL delivers a NOTIFY only when its transaction commits,
 * and in commit order, so a node never hears of a decision it cannot yet read.
 *
 * A notification sent while a node was not listening is lost: after every (re)connection the
 * node is asked to resync (compare its memory with the table), which covers the gap.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import type { Decision } from "../../core/index.ts";
import type { SharedDecisionHandlers, SharedDecisionWatch } from "../../core/ports.ts";

/** PostgreSQL's limit on a NOTIFY payload is 8000 bytes: stay under it. */
const MAX_PAYLOAD = 7_500;
/** How often the listening connection is asked whether it is still alive. */
const HEARTBEAT_MS = 30_000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

/** One notification's content. */
type Message =
  | { readonly n: string; readonly a: readonly string[] }
  | { readonly n: string; readonly d: readonly string[]; readonly t: number };

export class DecisionChannel {
  /** This process's name on the channel: it ignores its own notifications. */
  readonly node = randomUUID();
  /** The channel, one per schema: two Rempart installations in one database do not mix. */
  readonly name: string;
  readonly #url: string;
  readonly #schema: string | undefined;

  /**
   * `schema`: the configured one, set as the listening connection's search_path (as the
   * pool's); `channelSchema`: the schema the tables are in, which names the channel.
   */
  constructor(options: {
    readonly url: string;
    readonly schema?: string;
    readonly channelSchema?: string;
  }) {
    this.#url = options.url;
    this.#schema = options.schema;
    this.name = `rempart_decisions:${options.channelSchema ?? options.schema ?? "public"}`.slice(
      0,
      63,
    );
  }

  /** The payloads announcing these changes, each under PostgreSQL's size limit. */
  payloads(added: readonly string[], deleted: readonly { id: string; at: number }[]): string[] {
    const out: string[] = [];
    chunk(added, (ids) => out.push(JSON.stringify({ n: this.node, a: ids })));
    const byTime = new Map<number, string[]>();
    for (const { id, at } of deleted) {
      const ids = byTime.get(at);
      if (ids === undefined) byTime.set(at, [id]);
      else ids.push(id);
    }
    for (const [t, all] of byTime)
      chunk(all, (ids) => out.push(JSON.stringify({ n: this.node, d: ids, t })));
    return out;
  }

  /**
   * Listens until stopped; `read` fetches the active decisions among ids (the storage's own
   * query). Resolves once the first LISTEN is in place (or has failed and is being retried).
   */
  async listen(
    handlers: SharedDecisionHandlers,
    read: (ids: readonly string[]) => Promise<Decision[]>,
  ): Promise<SharedDecisionWatch> {
    let stopped = false;
    let client: pg.Client | undefined;
    let chain: Promise<void> = Promise.resolve();
    let retryMs = RECONNECT_MIN_MS;
    let retry: NodeJS.Timeout | undefined;
    let heartbeat: NodeJS.Timeout | undefined;
    let failing = false;

    const enqueue = (job: () => Promise<void> | void): void => {
      chain = chain
        .then(job)
        .catch((e: unknown) => handlers.log(`rempart: shared decisions: ${messageOf(e)}`));
    };
    const handle = async (payload: string): Promise<void> => {
      const m = parse(payload);
      if (m === undefined || m.n === this.node) return;
      if ("a" in m) {
        const added = await read(m.a);
        if (added.length > 0) await handlers.changes({ added, deleted: [] });
      } else await handlers.changes({ added: [], deleted: m.d.map((id) => ({ id, at: m.t })) });
    };
    const lost = (c: pg.Client, e?: unknown): void => {
      if (stopped || c !== client) return;
      client = undefined;
      clearInterval(heartbeat);
      c.end().catch(() => undefined);
      if (!failing)
        handlers.log(
          `rempart: shared decisions: the listening connection was lost (${e === undefined ? "closed" : messageOf(e)}); reconnecting`,
        );
      failing = true;
      schedule();
    };
    const schedule = (): void => {
      if (stopped) return;
      retry = setTimeout(() => void connect(), retryMs);
      retry.unref();
      retryMs = Math.min(retryMs * 2, RECONNECT_MAX_MS);
    };
    const connect = async (): Promise<void> => {
      const c = new pg.Client({
        connectionString: this.#url,
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
        // Named, for pg_stat_activity (and for the test that cuts it).
        application_name: `rempart listen ${this.name}`.slice(0, 63),
        ...(this.#schema === undefined ? {} : { options: `-c search_path=${this.#schema}` }),
      });
      c.on("error", (e) => lost(c, e));
      c.on("end", () => lost(c));
      c.on("notification", (n) => {
        if (n.channel === this.name && n.payload !== undefined) {
          const payload = n.payload;
          enqueue(() => handle(payload));
        }
      });
      try {
        await c.connect();
        await c.query(`LISTEN ${c.escapeIdentifier(this.name)}`);
      } catch (e) {
        c.end().catch(() => undefined);
        if (!failing)
          handlers.log(`rempart: shared decisions: cannot listen (${messageOf(e)}); retrying`);
        failing = true;
        schedule();
        return;
      }
      if (stopped) {
        await c.end().catch(() => undefined);
        return;
      }
      client = c;
      retryMs = RECONNECT_MIN_MS;
      if (failing)
        handlers.log("rempart: shared decisions: listening again; comparing with the database");
      failing = false;
      // A connection that died without a word (a NAT dropping it) is found by asking.
      heartbeat = setInterval(() => {
        c.query("select 1").catch((e: unknown) => lost(c, e));
      }, HEARTBEAT_MS);
      heartbeat.unref();
      enqueue(() => handlers.resync());
    };

    await connect();
    return {
      stop: async () => {
        stopped = true;
        clearTimeout(retry);
        clearInterval(heartbeat);
        const c = client;
        client = undefined;
        await c?.end().catch(() => undefined);
        await chain;
      },
    };
  }
}

/** Calls `emit` with slices of `ids` whose JSON stays under the payload limit. */
function chunk(ids: readonly string[], emit: (ids: string[]) => void): void {
  let slice: string[] = [];
  let size = 0;
  for (const id of ids) {
    const cost = id.length + 3;
    if (size + cost > MAX_PAYLOAD && slice.length > 0) {
      emit(slice);
      slice = [];
      size = 0;
    }
    slice.push(id);
    size += cost;
  }
  if (slice.length > 0) emit(slice);
}

const isStrings = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === "string");

/** A payload of ours, or undefined (another program on the channel, a newer format). */
function parse(payload: string): Message | undefined {
  let m: unknown;
  try {
    m = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof m !== "object" || m === null) return undefined;
  const o = m as Record<string, unknown>;
  if (typeof o.n !== "string") return undefined;
  if (isStrings(o.a)) return { n: o.n, a: o.a };
  if (isStrings(o.d) && typeof o.t === "number") return { n: o.n, d: o.d, t: o.t };
  return undefined;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
