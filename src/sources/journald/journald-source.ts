import { spawn, type ChildProcess } from "node:child_process";
import { Sleeper } from "../sleeper.ts";
import type { SourcePosition } from "../../core/ports.ts";
import type { ParseError } from "../../core/result.ts";
import { LineSplitter, type LineSink } from "../file/index.ts";
import { parseJournalEntry, type JournalRecord } from "./journal-entry.ts";

/** Entries read together. Persist `position` (or `cursor`) with what the records produced. */
export interface JournalBatch {
  readonly records: readonly JournalRecord[];
  /** The last record's cursor: reading resumes after it. */
  readonly cursor: string;
  readonly position: SourcePosition;
}

/**
 * Receives each batch; nothing more is read until it resolves. On rejection the same batch is
 * offered again after a back-off.
 */
export type JournalBatchHandler = (batch: JournalBatch) => Promise<void> | void;

export type JournaldNotice =
  | { readonly kind: "started"; readonly pid: number | undefined; readonly args: readonly string[] }
  | {
      readonly kind: "exited";
      readonly code: number | null;
      readonly signal: string | null;
      /** The end of what journalctl wrote on stderr. */
      readonly stderr: string;
      readonly restartInMs: number;
    }
  | { readonly kind: "spawn-failed"; readonly error: unknown; readonly restartInMs: number }
  | { readonly kind: "invalid-entry"; readonly error: ParseError }
  | { readonly kind: "handler-failed"; readonly error: unknown };

export interface JournaldSourceOptions {
  /** Source name in positions. Default `journald`. */
  readonly source?: string;
  readonly onBatch: JournalBatchHandler;
  /** Stored positions; the one of this source (path `journald`) gives the cursor. */
  readonly positions?: readonly SourcePosition[];
  /** With no stored cursor: only new entries (`end`, default) or the whole journal. */
  readonly from?: "start" | "end";
  /** `-u` filters, e.g. `postfix@-.service`. */
  readonly units?: readonly string[];
  /** `-t` filters (syslog identifiers), e.g. `dovecot`. */
  readonly identifiers?: readonly string[];
  /** Default `journalctl`. */
  readonly command?: string;
  /** Put before the generated arguments, e.g. `["--directory", "/var/log/journal"]`. */
  readonly extraArgs?: readonly string[];
  /** Default 1000 entries. */
  readonly maxBatch?: number;
  /** First restart delay after journalctl exits, doubled up to `maxRestartMs`. Default 1 s. */
  readonly restartMs?: number;
  /** Default 30 s. */
  readonly maxRestartMs?: number;
  /** Default: exits, spawn failures and failed handlers are written to stderr. */
  readonly onNotice?: (notice: JournaldNotice) => void;
}

export const JOURNALD_PATH = "journald";
const MAX_ENTRY_BYTES = 1 << 20;
const STDERR_KEPT = 2048;

/**
 * Follows the systemd journal through `journalctl -f -o json`. The cursor of the last delivered
 * entry is the position: after a restart (of journalctl or of Rempart) reading resumes right
 * after it, so no entry is delivered twice or skipped.
 *
 * Creating it has no side effects; `start` spawns journalctl, `stop` kills it.
 */
export class JournaldSource {
  readonly #options: JournaldSourceOptions;
  readonly #source: string;
  readonly #notify: (notice: JournaldNotice) => void;
  #cursor: string | undefined;
  #startedAt = 0;
  #child: ChildProcess | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  readonly #sleeper = new Sleeper();
  #invalid = 0;
  #records = 0;
  #runs = 0;

  constructor(options: JournaldSourceOptions) {
    this.#options = options;
    this.#source = options.source ?? "journald";
    this.#notify = options.onNotice ?? logProblems;
    const stored = options.positions?.find(
      (p) => p.source === this.#source && p.path === JOURNALD_PATH,
    );
    if (stored !== undefined && stored.head !== "") this.#cursor = stored.head;
  }

  /** Starts following in the background (spawn failures are notices, then retried). */
  start(): Promise<void> {
    if (this.#loop === undefined && !this.#stopping) {
      this.#startedAt = Date.now();
      this.#loop = this.#run();
    }
    return Promise.resolve();
  }

  /** Kills journalctl and waits for the batch being delivered, if any. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#child?.kill("SIGTERM");
    this.#sleeper.wake();
    await this.#loop;
  }

  /** The position after the last delivered batch (or the stored one). */
  positions(): SourcePosition[] {
    return this.#cursor === undefined ? [] : [positionOf(this.#source, this.#cursor)];
  }

  stats(): { readonly records: number; readonly invalid: number } {
    return { records: this.#records, invalid: this.#invalid };
  }

  /** The arguments for the next run of journalctl. */
  args(): string[] {
    const args = [...(this.#options.extraArgs ?? []), "--follow", "--output=json", "--no-pager"];
    for (const unit of this.#options.units ?? []) args.push(`--unit=${unit}`);
    for (const identifier of this.#options.identifiers ?? []) {
      args.push(`--identifier=${identifier}`);
    }
    // `--follow` alone shows the last ten entries first: always say how many.
    if (this.#cursor !== undefined) args.push(`--after-cursor=${this.#cursor}`, "--lines=all");
    else if (this.#options.from === "start") args.push("--lines=all");
    else if (this.#runs === 0) args.push("--lines=0");
    // Restarted before any entry was delivered: from when we started, not from now.
    else args.push(`--since=@${Math.floor(this.#startedAt / 1000)}`, "--lines=all");
    return args;
  }

  async #run(): Promise<void> {
    let delay = this.#options.restartMs ?? 1000;
    const maxDelay = this.#options.maxRestartMs ?? 30_000;
    while (!this.#stopping) {
      const ranAt = Date.now();
      const outcome = await this.#runOnce();
      if (this.#stopping) return;
      // A run that lasted resets the back-off: this exit is a new incident.
      if (Date.now() - ranAt > maxDelay) delay = this.#options.restartMs ?? 1000;
      if (outcome.kind === "spawn-failed") {
        this.#notify({ kind: "spawn-failed", error: outcome.error, restartInMs: delay });
      } else {
        this.#notify({ ...outcome, restartInMs: delay });
      }
      await this.#sleeper.sleep(delay);
      delay = Math.min(maxDelay, delay * 2);
    }
  }

  async #runOnce(): Promise<
    | { kind: "exited"; code: number | null; signal: string | null; stderr: string }
    | { kind: "spawn-failed"; error: unknown }
  > {
    const args = this.args();
    this.#runs++;
    const child = spawn(this.#options.command ?? "journalctl", args, {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#child = child;
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (data: string) => {
      stderr = (stderr + data).slice(-STDERR_KEPT);
    });
    let spawnError: unknown;
    const closed = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.once("error", (error) => {
        spawnError = error;
        resolve({ code: null, signal: null });
      });
      child.once("close", (code, signal) => {
        resolve({ code, signal });
      });
    });
    child.once("spawn", () => {
      this.#notify({ kind: "started", pid: child.pid, args });
    });
    try {
      await this.#consume(child);
    } catch {
      // The pipe broke: handled like an exit.
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    }
    const { code, signal } = await closed;
    this.#child = undefined;
    if (spawnError !== undefined && child.pid === undefined) {
      return { kind: "spawn-failed", error: spawnError };
    }
    return { kind: "exited", code, signal, stderr: stderr.trim() };
  }

  /** Reads journalctl's output; iteration pauses the pipe while a batch is delivered. */
  async #consume(child: ChildProcess): Promise<void> {
    const splitter = new LineSplitter({ maxLineBytes: MAX_ENTRY_BYTES });
    const maxBatch = this.#options.maxBatch ?? 1000;
    for await (const chunk of child.stdout! as AsyncIterable<Buffer>) {
      if (this.#stopping) return;
      const sink: LineSink = { lines: [], offsets: [] };
      splitter.push(chunk, sink);
      let records: JournalRecord[] = [];
      for (const line of sink.lines) {
        if (line === "") continue;
        const parsed = parseJournalEntry(line);
        if (!parsed.ok) {
          this.#invalid++;
          this.#notify({ kind: "invalid-entry", error: parsed.error });
          continue;
        }
        records.push(parsed.value);
        if (records.length >= maxBatch) {
          if (!(await this.#deliver(records))) return;
          records = [];
        }
      }
      if (records.length > 0 && !(await this.#deliver(records))) return;
    }
  }

  /** Delivers until taken (or stopping). False when stopping before it was taken. */
  async #deliver(records: readonly JournalRecord[]): Promise<boolean> {
    const cursor = records.at(-1)!.cursor;
    const batch: JournalBatch = { records, cursor, position: positionOf(this.#source, cursor) };
    let delay = this.#options.restartMs ?? 1000;
    for (;;) {
      try {
        await this.#options.onBatch(batch);
        break;
      } catch (error) {
        this.#notify({ kind: "handler-failed", error });
        if (this.#stopping) return false;
        await this.#sleeper.sleep(delay);
        if (this.#stopping) return false;
        delay = Math.min(this.#options.maxRestartMs ?? 30_000, delay * 2);
      }
    }
    this.#cursor = cursor;
    this.#records += records.length;
    return true;
  }
}

const positionOf = (source: string, cursor: string): SourcePosition =>
  Object.freeze({ source, path: JOURNALD_PATH, inode: "", offset: 0, head: cursor });

const logProblems = (notice: JournaldNotice): void => {
  switch (notice.kind) {
    case "exited":
      console.error(
        `rempart: journalctl exited (code ${String(notice.code)}, signal ${String(notice.signal)}), ` +
          `restarting in ${notice.restartInMs} ms${notice.stderr === "" ? "" : `: ${notice.stderr}`}`,
      );
      break;
    case "spawn-failed":
      console.error(
        `rempart: cannot run journalctl, retrying in ${notice.restartInMs} ms:`,
        notice.error,
      );
      break;
    case "handler-failed":
      console.error("rempart: journal entries were not taken, retrying", notice.error);
      break;
    default:
      break;
  }
};
