/**
 * Reading peers' reputation feeds. Each peer is named in the configuration with the URL of
 * its feed and its pinned public key; every `every`, its new pages are fetched, their
 * signatures checked over the exact bytes received, and their reports stored and scored with
 * the peer's trust as a factor. A page that does not verify, or that names another key, is
 * refused whole, and the cursor stays where it was: nothing half-read, nothing skipped.
 *
 * A peer's report about an address this site protects (its allowlists, private ranges) is
 * dropped: a peer cannot make a site distrust its own networks. Times in the future are taken
 * as now, so that no report escapes decay.
 */
import { z } from "zod";
import type { KeyObject } from "node:crypto";
import { parseDuration, type ReportRecord, type Storage } from "../core/index.ts";
import { normalizeIp } from "../net/index.ts";
import type { PeerConfig } from "./reputation-config.ts";
import type { ReputationBook } from "./reputation-book.ts";
import { MAX_FEED_PAGE } from "./reputation.ts";
import { parsePublicKey, verifySignature } from "./signing.ts";

/** The header a feed's signature travels in. */
export const SIGNATURE_HEADER = "rempart-signature";
/** Pages read at most in one pull: a peer's long history is read over several pulls. */
const MAX_PAGES_PER_PULL = 50;
/** The largest page accepted (1,000 reports are ~150 kB). */
const MAX_PAGE_BYTES = 4 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 15_000;

const FeedSchema = z.object({
  site: z.string(),
  key: z.string(),
  reports: z
    .array(
      z.object({
        id: z.string().regex(/^[A-Za-z0-9:._@/-]{1,200}$/),
        time: z.number().int().nonnegative(),
        ip: z.string().max(64),
        categories: z.array(z.number().int()).max(32),
        weight: z.number().min(0).max(10),
      }),
    )
    .max(MAX_FEED_PAGE),
  next: z.string().max(256).nullable(),
});

export interface PullOutcome {
  readonly reports: number;
  readonly pages: number;
}

export interface PeerFeedsDeps {
  readonly storage: Pick<Storage, "addReports" | "peerCursor" | "savePeerCursor">;
  readonly book: Pick<ReputationBook, "add">;
  readonly protection: (ip: string) => string | undefined;
  readonly now: () => number;
  readonly log: (line: string) => void;
  /** Reports older than this are not taken (they would be deleted at once). */
  readonly keepMs: number;
  readonly fetch?: typeof fetch;
}

interface Peer {
  readonly config: PeerConfig;
  readonly key: KeyObject;
  readonly everyMs: number;
  /** Where the last page read ended; undefined until read from storage. */
  cursor: string | undefined | null;
  timer: NodeJS.Timeout | undefined;
  pulling: Promise<PullOutcome> | undefined;
  failures: number;
  lastOk: number | undefined;
  imported: number;
}

export class PeerFeeds {
  readonly #deps: PeerFeedsDeps;
  readonly #peers: Peer[];
  readonly #fetch: typeof fetch;
  #stopped = false;

  constructor(peers: readonly PeerConfig[], deps: PeerFeedsDeps) {
    this.#deps = deps;
    this.#fetch = deps.fetch ?? fetch;
    this.#peers = peers.map((config) => ({
      config,
      // The schema accepted only keys that parse.
      key: parsePublicKey(config.public_key)!,
      everyMs: parseDuration(config.every)!,
      cursor: undefined,
      timer: undefined,
      pulling: undefined,
      failures: 0,
      lastOk: undefined,
      imported: 0,
    }));
  }

  get size(): number {
    return this.#peers.length;
  }

  /** Pulls each peer now, then every `every`. Failures are logged, and retried next time. */
  start(): void {
    for (const peer of this.#peers) {
      const run = (): void => {
        void this.#pull(peer)
          .catch(() => undefined)
          .finally(() => {
            if (!this.#stopped) {
              peer.timer = setTimeout(run, peer.everyMs);
              peer.timer.unref();
            }
          });
      };
      run();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const peer of this.#peers) {
      clearTimeout(peer.timer);
      await peer.pulling?.catch(() => undefined);
    }
  }

  /** Pulls one peer by name now (tests, `rempart` at start); throws what went wrong. */
  pull(name: string): Promise<PullOutcome> {
    const peer = this.#peers.find((p) => p.config.name === name);
    if (peer === undefined) throw new Error(`no peer named ${name}`);
    return this.#pull(peer);
  }

  /** Per peer: reports imported since start, failures in a row, last success. */
  stats(): { name: string; imported: number; failures: number; lastOk: number | undefined }[] {
    return this.#peers.map((p) => ({
      name: p.config.name,
      imported: p.imported,
      failures: p.failures,
      lastOk: p.lastOk,
    }));
  }

  #pull(peer: Peer): Promise<PullOutcome> {
    peer.pulling ??= this.#read(peer)
      .then(
        (outcome) => {
          if (peer.failures > 0)
            this.#deps.log(`rempart: reputation peer ${peer.config.name}: reachable again`);
          peer.failures = 0;
          peer.lastOk = this.#deps.now();
          peer.imported += outcome.reports;
          return outcome;
        },
        (e: unknown) => {
          // One line when it starts failing, then one an hour: a peer down for a day is not
          // 288 lines of log.
          if (peer.failures % Math.max(1, Math.round(3_600_000 / peer.everyMs)) === 0)
            this.#deps.log(
              `rempart: reputation peer ${peer.config.name}: ${e instanceof Error ? e.message : String(e)}`,
            );
          peer.failures++;
          throw e;
        },
      )
      .finally(() => {
        peer.pulling = undefined;
      });
    return peer.pulling;
  }

  async #read(peer: Peer): Promise<PullOutcome> {
    const { storage } = this.#deps;
    if (peer.cursor === undefined)
      peer.cursor = (await storage.peerCursor(peer.config.name)) ?? null;
    let reports = 0;
    let pages = 0;
    while (pages < MAX_PAGES_PER_PULL && !this.#stopped) {
      const page = await this.#fetchPage(peer);
      pages++;
      const rows = this.#accept(peer, page.reports);
      // Stored before the cursor moves: a crash in between reads the page again, and its
      // reports, stored once, are scored twice until the next restart rebuilds the book.
      if (rows.length > 0) await storage.addReports(rows);
      for (const r of rows) this.#deps.book.add(r);
      reports += rows.length;
      const next: string | null = page.next ?? peer.cursor;
      if (next !== null && next !== peer.cursor) {
        peer.cursor = next;
        await storage.savePeerCursor(peer.config.name, next, this.#deps.now());
      }
      if (page.reports.length < MAX_FEED_PAGE) break;
    }
    return { reports, pages };
  }

  async #fetchPage(peer: Peer): Promise<z.infer<typeof FeedSchema>> {
    const url = new URL(peer.config.url);
    url.searchParams.set("limit", String(MAX_FEED_PAGE));
    if (peer.cursor !== null && peer.cursor !== undefined)
      url.searchParams.set("after", peer.cursor);
    const response = await this.#fetch(url, {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      redirect: "error",
    });
    if (!response.ok) throw new Error(`${url.origin}${url.pathname} answered ${response.status}`);
    const length = Number(response.headers.get("content-length") ?? 0);
    if (length > MAX_PAGE_BYTES) throw new Error(`a page of ${length} bytes is too large`);
    const body = new Uint8Array(await response.arrayBuffer());
    if (body.length > MAX_PAGE_BYTES)
      throw new Error(`a page of ${body.length} bytes is too large`);
    const signature = /^ed25519=(.+)$/.exec(response.headers.get(SIGNATURE_HEADER) ?? "")?.[1];
    if (signature === undefined) throw new Error(`the page has no ${SIGNATURE_HEADER} header`);
    if (!verifySignature(peer.key, body, signature))
      throw new Error("the page's signature does not verify with the configured public_key");
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body).toString("utf8"));
    } catch {
      throw new Error("the page is not JSON");
    }
    const page = FeedSchema.safeParse(parsed);
    if (!page.success)
      throw new Error(`the page is not a reputation feed: ${page.error.issues[0]?.message ?? ""}`);
    if (page.data.key !== peer.config.public_key)
      throw new Error(`the page names the key ${page.data.key}, not the configured public_key`);
    return page.data;
  }

  /** A page's reports as this site stores them. */
  #accept(peer: Peer, items: z.infer<typeof FeedSchema>["reports"]): ReportRecord[] {
    const { trust, name } = peer.config;
    if (trust === 0) return [];
    const now = this.#deps.now();
    const oldest = now - this.#deps.keepMs;
    const rows: ReportRecord[] = [];
    for (const item of items) {
      const ip = normalizeIp(item.ip);
      if (ip === undefined || item.time < oldest || item.weight === 0) continue;
      if (this.#deps.protection(ip) !== undefined) continue;
      rows.push({
        id: `${name}:${item.id}`,
        time: Math.min(item.time, now),
        ip,
        categories: item.categories,
        weight: item.weight * trust,
        reporter: `peer:${name}`,
        comment: "",
      });
    }
    return rows;
  }
}
