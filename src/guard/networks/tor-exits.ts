import { join } from "node:path";
import { parseDuration, type Clock } from "../../core/index.ts";
import {
  EMPTY_STATE,
  fetchFile,
  fetchUrl,
  loadState,
  parseTorBulk,
  parseTorExitAddresses,
  saveState,
  type FetchOutcome,
  type ListState,
} from "../../lists/index.ts";
import type { AddressSet } from "../ports.ts";
import type { TorConfig } from "./networks-config.ts";
import { runPeriodically, type Periodic } from "./periodic.ts";

export type TorFormat = TorConfig["format"];

export interface TorExitsOptions {
  /** Where the list comes from; none: the signal is off and `has` always answers false. */
  readonly source?: { readonly file: string } | { readonly url: string };
  readonly format?: TorFormat;
  /** How often to fetch it again, ms. */
  readonly refreshMs: number;
  /** Where the last good copy is kept (`<dir>/tor-exits.json`), to survive a restart offline. */
  readonly stateDir?: string;
  readonly log?: (line: string) => void;
  readonly fetch?: typeof fetch;
}

export interface TorRefreshReport {
  readonly outcome: "off" | "unchanged" | "updated" | "failed";
  readonly entries: number;
  readonly message?: string;
}

const FIRST_RETRY_MS = 60_000;
const STATE_NAME = "tor-exits";

/** Whether the text is Tor's `exit-addresses` document rather than the bulk list. */
const isExitAddresses = (text: string): boolean => /^\s*(?:ExitNode|ExitAddress)\s/m.test(text);

/**
 * The Tor exit addresses, from a file or a URL in the bulk format (one address a line) or the
 * `exit-addresses` format, as a set of normalised addresses: `has` is one hash look-up.
 * A download that fails, does not parse or is empty changes nothing; the last good copy is
 * written to `stateDir` and read back by `start()`, so a restart without network still knows
 * the exits. Downloads are conditional (ETag, If-Modified-Since).
 */
export class TorExits implements AddressSet {
  readonly #options: TorExitsOptions;
  readonly #log: (line: string) => void;
  #set: ReadonlySet<string> = new Set();
  #state: ListState = EMPTY_STATE;
  #failures = 0;

  constructor(options: TorExitsOptions) {
    this.#options = options;
    this.#log = options.log ?? (() => undefined);
  }

  /** From the `guard.networks.tor` configuration; the copy goes to `<data_dir>/guard/`. */
  static fromConfig(
    config: TorConfig,
    deps: { dataDir: string; log?: (line: string) => void; fetch?: typeof fetch },
  ): TorExits {
    const source =
      config.url !== undefined
        ? { url: config.url }
        : config.file !== undefined
          ? { file: config.file }
          : undefined;
    return new TorExits({
      ...(source === undefined ? {} : { source }),
      format: config.format,
      refreshMs: parseDuration(config.refresh)!,
      stateDir: join(deps.dataDir, "guard"),
      ...(deps.log === undefined ? {} : { log: deps.log }),
      ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    });
  }

  /** Whether a source is configured. */
  get enabled(): boolean {
    return this.#options.source !== undefined;
  }

  get size(): number {
    return this.#set.size;
  }

  /** `ip` must be normalised (`normalizeIp`), as a Submission's is. */
  has(ip: string): boolean {
    return this.#set.has(ip);
  }

  get #sourceId(): string {
    const s = this.#options.source;
    return s === undefined ? "" : "url" in s ? s.url : `file:${s.file}`;
  }

  get #format(): TorFormat {
    return this.#options.format ?? "auto";
  }

  /** Reads the last good copy (fast, local): call before serving, then `watch()`. */
  async start(): Promise<void> {
    if (!this.enabled || this.#options.stateDir === undefined) return;
    const state = await loadState(this.#options.stateDir, STATE_NAME);
    if (state.source !== this.#sourceId || state.format !== this.#format) return;
    this.#state = state;
    this.#set = new Set(state.entries.map((e) => e.value));
    if (this.#set.size > 0)
      this.#log(`rempart: Tor exits: ${this.#set.size} addresses from the copy kept on disk`);
  }

  /** When to refresh next: the interval, or a back-off (1 min, doubling) after failures. */
  nextDelayMs(): number {
    const every = this.#options.refreshMs;
    if (this.#failures === 0) return every;
    return Math.min(every, FIRST_RETRY_MS * 2 ** (this.#failures - 1));
  }

  /** Fetches the list (conditionally) and swaps it in if it parses. Never throws on bad input. */
  async refresh(now: number): Promise<TorRefreshReport> {
    const source = this.#options.source;
    if (source === undefined) return { outcome: "off", entries: 0 };
    const held = this.#state.source === this.#sourceId ? this.#state.validators : {};
    const got: FetchOutcome =
      "url" in source
        ? await fetchUrl(source.url, held, {
            delta: false,
            maxBytes: 16 * 1024 * 1024,
            ...(this.#options.fetch === undefined ? {} : { fetch: this.#options.fetch }),
          })
        : await fetchFile(source.file, held);
    if (got.kind === "failed") return this.#failed(got.message);
    if (got.kind === "unchanged") {
      this.#failures = 0;
      return { outcome: "unchanged", entries: this.#set.size };
    }
    if (got.kind === "delta") return this.#failed("a delta answer, which was not asked for");
    const format = this.#format;
    const parse =
      format === "tor-exit" || (format === "auto" && isExitAddresses(got.text))
        ? parseTorExitAddresses
        : parseTorBulk;
    const parsed = parse(got.text);
    if (!parsed.ok) return this.#failed(parsed.error.message);
    const entries = parsed.value.entries;
    if (entries.length === 0)
      return this.#failed("the list is empty (more likely a broken download than no exits)");
    this.#failures = 0;
    this.#set = new Set(entries.map((e) => e.value));
    this.#state = {
      source: this.#sourceId,
      format,
      validators: got.validators,
      entries,
      checkedAt: now,
    };
    if (this.#options.stateDir !== undefined) {
      try {
        await saveState(this.#options.stateDir, STATE_NAME, this.#state);
      } catch (e) {
        this.#log(`rempart: Tor exits: cannot keep a copy: ${String(e)}`);
      }
    }
    this.#log(`rempart: Tor exits: ${entries.length} addresses`);
    return { outcome: "updated", entries: entries.length };
  }

  #failed(message: string): TorRefreshReport {
    this.#failures++;
    this.#log(
      `rempart: Tor exits: ${message}; keeping ${this.#set.size} addresses, retrying in ${Math.round(this.nextDelayMs() / 1000)} s`,
    );
    return { outcome: "failed", entries: this.#set.size, message };
  }

  /** Refreshes at once, then every `refresh` (sooner after a failure), in the background. */
  watch(clock: Clock): Periodic {
    if (!this.enabled) return { stop: () => Promise.resolve() };
    return runPeriodically(
      async () => {
        await this.refresh(clock.now());
        return this.nextDelayMs();
      },
      {
        firstDelayMs: 0,
        fallbackMs: this.#options.refreshMs,
        log: this.#log,
        name: "Tor exits",
      },
    );
  }
}
