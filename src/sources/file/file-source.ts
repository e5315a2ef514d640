import { watch, type FSWatcher } from "node:fs";
import { Sleeper } from "../sleeper.ts";
import { glob, open, readdir, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { RempartError } from "../../core/errors.ts";
import type { SourcePosition } from "../../core/ports.ts";
import { HEAD_BYTES, hashHead, headOf, inodeOf } from "./file-identity.ts";
import { LineSplitter, type LineSink } from "./line-splitter.ts";
import {
  DEFAULT_CHUNK_BYTES,
  DEFAULT_MAX_LINE_BYTES,
  unreadable,
  type BatchHandler,
} from "./read-file-lines.ts";

/** Something worth logging that happened to a tailed file. Never an exception. */
export type FileSourceNotice =
  | {
      readonly kind: "opened";
      readonly path: string;
      readonly inode: string;
      readonly offset: number;
    }
  | { readonly kind: "missing"; readonly path: string }
  | { readonly kind: "unreadable"; readonly path: string; readonly error: RempartError }
  | { readonly kind: "rotated"; readonly path: string; readonly inode: string }
  | { readonly kind: "removed"; readonly path: string; readonly inode: string }
  | { readonly kind: "truncated"; readonly path: string; readonly inode: string }
  | { readonly kind: "line-truncated"; readonly path: string; readonly count: number }
  | { readonly kind: "handler-failed"; readonly path: string; readonly error: unknown };

export interface FileSourceOptions {
  /** The configured source name, written into every position. */
  readonly source: string;
  /** Paths, or glob patterns (`*`, `?`, `[…]`, `{…}`) re-scanned every `rescanMs`. */
  readonly paths: readonly string[];
  /**
   * Receives each batch; nothing more is read from any file of this source until it resolves.
   * Batches are delivered one at a time, never concurrently. On rejection the batch counts as
   * not taken: it is read and delivered again after a back-off.
   */
  readonly onBatch: BatchHandler;
  /** Where to resume (from storage). Positions of other sources are ignored. */
  readonly positions?: readonly SourcePosition[];
  /** Where to start a file present at start with no stored position. Default `end`. */
  readonly from?: "start" | "end";
  /** Default 250 ms. */
  readonly pollMs?: number;
  /** How often glob patterns are matched again. Default 5 s (sooner when `fs.watch` hints). */
  readonly rescanMs?: number;
  /**
   * After a rename rotation, how long the old file must stay quiet before it is closed and
   * the new one read: writers keep the old descriptor until they reopen. Default 1 s.
   */
  readonly rotateWaitMs?: number;
  /** Use `fs.watch` on the files' directories to wake before the next poll. Default true. */
  readonly watch?: boolean;
  readonly chunkBytes?: number;
  /** Longer lines are cut to this many bytes and counted. Default 64 KiB. */
  readonly maxLineBytes?: number;
  /** Default: unreadable files and failed handlers are written to stderr. */
  readonly onNotice?: (notice: FileSourceNotice) => void;
}

export interface FileSourceStats {
  readonly lines: number;
  readonly batches: number;
  readonly truncatedLines: number;
  readonly rotations: number;
  readonly truncations: number;
}

/** Chunks read from one file before the others get their turn. */
const CHUNKS_PER_TURN = 8;
const MAX_BACKOFF_MS = 10_000;
/** Inodes remembered (with their offsets) so that a renamed file is not read again. */
const MAX_KNOWN_INODES = 4096;
const GLOB_MAGIC = /[*?[\]{}]/;

interface Tail {
  readonly path: string;
  /** Named in the configuration (kept when missing) rather than found by a pattern. */
  readonly explicit: boolean;
  file: FileHandle | undefined;
  inode: string;
  /** Just after the last delivered line. */
  offset: number;
  /** Head of the file at `offset`, as in the delivered position. */
  head: string;
  /** The first bytes as read, so that a head never mixes two versions of the file. */
  headBytes: Buffer;
  readPos: number;
  splitter: LineSplitter;
  /** Found after start, or replacing a rotated file: read from its beginning. */
  fresh: boolean;
  lastGrowth: number;
  lastSize: number;
  rotatedAt: number | undefined;
  retryAt: number;
  failures: number;
  reported: string | undefined;
}

/**
 * Tails files: complete lines only, in order, with positions that let the caller resume after
 * a crash without reading a line twice or skipping one. Handles rotation by rename and by
 * copytruncate, files that come and go, and patterns that match new files.
 *
 * Creating it has no side effects; `start` opens the files, `stop` closes them.
 */
export class FileSource {
  readonly #options: FileSourceOptions;
  readonly #pollMs: number;
  readonly #rescanMs: number;
  readonly #rotateWaitMs: number;
  readonly #chunkBytes: number;
  readonly #maxLineBytes: number;
  readonly #notify: (notice: FileSourceNotice) => void;

  readonly #tails = new Map<string, Tail>();
  /** Last known offset and head of every inode read, seeded from stored positions. */
  readonly #known = new Map<string, { offset: number; head: string }>();
  readonly #stored = new Map<string, SourcePosition>();
  readonly #positions = new Map<string, SourcePosition>();
  readonly #openInodes = new Set<string>();
  readonly #watchers = new Map<string, FSWatcher>();
  #buffer: Buffer | undefined;
  #starting: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  readonly #sleeper = new Sleeper();
  #nextRescan = 0;
  #stats = { lines: 0, batches: 0, truncatedLines: 0, rotations: 0, truncations: 0 };

  constructor(options: FileSourceOptions) {
    this.#options = options;
    this.#pollMs = options.pollMs ?? 250;
    this.#rescanMs = options.rescanMs ?? 5000;
    this.#rotateWaitMs = options.rotateWaitMs ?? 1000;
    this.#chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.#maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.#notify = options.onNotice ?? logProblems;
    for (const position of options.positions ?? []) {
      if (position.source !== options.source) continue;
      this.#stored.set(position.path, position);
      this.#remember(position.inode, position.offset, position.head);
    }
  }

  /** Opens what exists (fixing where each file starts), then tails in the background. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  /** Waits for the batch being delivered, if any, then closes every descriptor and watcher. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#sleeper.wake();
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    await this.#starting?.catch(() => undefined);
    await this.#loop;
    for (const tail of this.#tails.values()) await this.#close(tail);
  }

  /** The position of every open file: after its last delivered batch, or where it started. */
  positions(): SourcePosition[] {
    return [...this.#positions.values()];
  }

  stats(): FileSourceStats {
    return { ...this.#stats };
  }

  async #start(): Promise<void> {
    await this.#rescan();
    for (const tail of this.#tails.values()) {
      if (this.#stopping) return;
      await this.#open(tail);
    }
    if (this.#stopping) return;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      if (Date.now() >= this.#nextRescan) await this.#rescan();
      let busy = false;
      for (const tail of [...this.#tails.values()]) {
        if (this.#stopping) return;
        try {
          if (await this.#step(tail)) busy = true;
        } catch (error) {
          // An I/O error in the middle of a file: report, close, reopen at the last position.
          this.#report(tail, unreadable(tail.path, error));
          await this.#close(tail);
          this.#backoff(tail);
        }
      }
      if (!busy && !this.#stopping) await this.#sleeper.sleep(this.#pollMs);
    }
  }

  /** Does one turn of work on a file; true when more is waiting right away. */
  async #step(tail: Tail): Promise<boolean> {
    if (Date.now() < tail.retryAt) return false;
    if (tail.file === undefined && !(await this.#open(tail))) return false;
    const file = tail.file!;
    const size = Number((await file.stat({ bigint: true })).size);
    if (size < tail.readPos || (size !== tail.lastSize && !(await this.#sameHead(tail)))) {
      this.#stats.truncations++;
      this.#notify({ kind: "truncated", path: tail.path, inode: tail.inode });
      this.#rewind(tail, 0);
    }
    tail.lastSize = size;
    if (size > tail.readPos) {
      const outcome = await this.#read(tail);
      if (outcome !== "eof") return outcome === "more";
    }
    return this.#checkRotation(tail);
  }

  /** Reads and delivers up to CHUNKS_PER_TURN chunks. */
  async #read(tail: Tail): Promise<"eof" | "more" | "failed"> {
    const buffer = (this.#buffer ??= Buffer.allocUnsafe(this.#chunkBytes));
    for (let turn = 0; turn < CHUNKS_PER_TURN; turn++) {
      const { bytesRead } = await tail.file!.read(buffer, 0, buffer.length, tail.readPos);
      if (bytesRead === 0) return "eof";
      const chunk = buffer.subarray(0, bytesRead);
      if (tail.readPos < HEAD_BYTES) chunk.copy(tail.headBytes, tail.readPos, 0, HEAD_BYTES);
      tail.readPos += bytesRead;
      tail.lastGrowth = Date.now();
      const sink: LineSink = { lines: [], offsets: [] };
      const truncatedBefore = tail.splitter.truncated;
      tail.splitter.push(chunk, sink);
      const truncated = tail.splitter.truncated - truncatedBefore;
      if (truncated > 0) {
        this.#stats.truncatedLines += truncated;
        this.#notify({ kind: "line-truncated", path: tail.path, count: truncated });
      }
      if (sink.lines.length > 0 && !(await this.#deliver(tail, sink))) return "failed";
      if (bytesRead < buffer.length) return "eof";
    }
    return "more";
  }

  async #deliver(tail: Tail, sink: LineSink): Promise<boolean> {
    const offset = tail.splitter.committable;
    const head = this.#headAt(tail, offset);
    const position: SourcePosition = Object.freeze({
      source: this.#options.source,
      path: tail.path,
      inode: tail.inode,
      offset,
      head,
    });
    try {
      await this.#options.onBatch({ path: tail.path, ...sink, position });
    } catch (error) {
      this.#notify({ kind: "handler-failed", path: tail.path, error });
      this.#rewind(tail, tail.offset);
      this.#backoff(tail);
      return false;
    }
    tail.failures = 0;
    tail.offset = offset;
    tail.head = head;
    this.#positions.set(tail.path, position);
    this.#remember(tail.inode, offset, head);
    this.#stats.lines += sink.lines.length;
    this.#stats.batches++;
    return true;
  }

  /** At the end of the open file: has the path moved on to another file? */
  async #checkRotation(tail: Tail): Promise<boolean> {
    const now = Date.now();
    let current: string | undefined;
    try {
      current = inodeOf(await stat(tail.path, { bigint: true }));
    } catch {
      current = undefined;
    }
    if (current === tail.inode) {
      tail.rotatedAt = undefined;
      return false;
    }
    tail.rotatedAt ??= now;
    // Writers keep the old descriptor until they reopen: let them finish.
    if (now - Math.max(tail.rotatedAt, tail.lastGrowth) < this.#rotateWaitMs) return false;
    const inode = tail.inode;
    await this.#close(tail);
    if (current === undefined) {
      this.#notify({ kind: "removed", path: tail.path, inode });
      if (!tail.explicit) this.#tails.delete(tail.path);
      return false;
    }
    this.#stats.rotations++;
    this.#notify({ kind: "rotated", path: tail.path, inode });
    return true;
  }

  /** Opens the file at `tail.path` and decides where reading starts. False if not now. */
  async #open(tail: Tail): Promise<boolean> {
    let file: FileHandle;
    try {
      file = await open(tail.path, "r");
    } catch (error) {
      if ((error as { code?: unknown }).code === "ENOENT") {
        if (!tail.explicit) this.#tails.delete(tail.path);
        else if (tail.reported !== "ENOENT") {
          tail.reported = "ENOENT";
          this.#notify({ kind: "missing", path: tail.path });
        }
        // Whatever appears here later is new.
        tail.fresh = true;
      } else {
        this.#report(tail, unreadable(tail.path, error));
        this.#backoff(tail);
      }
      return false;
    }
    try {
      const info = await file.stat({ bigint: true });
      if (!info.isFile()) throw Object.assign(new Error("not a regular file"), { code: "EISDIR" });
      const inode = inodeOf(info);
      // Another path (a pattern matching rotated files) is reading this very file.
      if (this.#openInodes.has(inode)) {
        await file.close();
        return false;
      }
      const size = Number(info.size);
      tail.file = file;
      tail.inode = inode;
      this.#openInodes.add(inode);
      const offset = await this.#startOffset(tail, size);
      if (this.#stopping) return false;
      await this.#readHead(tail, offset);
      this.#rewind(tail, offset);
      tail.offset = offset;
      tail.head = this.#headAt(tail, offset);
      tail.lastSize = -1;
      tail.lastGrowth = 0;
      tail.rotatedAt = undefined;
      tail.failures = 0;
      tail.reported = undefined;
      tail.fresh = false;
      this.#positions.set(
        tail.path,
        Object.freeze({
          source: this.#options.source,
          path: tail.path,
          inode: tail.inode,
          offset,
          head: tail.head,
        }),
      );
      this.#notify({ kind: "opened", path: tail.path, inode: tail.inode, offset });
      this.#watchDirectory(dirname(tail.path));
      return true;
    } catch (error) {
      this.#report(tail, unreadable(tail.path, error));
      await this.#close(tail);
      await file.close().catch(() => undefined);
      this.#backoff(tail);
      return false;
    }
  }

  async #startOffset(tail: Tail, size: number): Promise<number> {
    const file = tail.file!;
    // A stored position serves the first open only: later files at this path are successors.
    const stored = this.#stored.get(tail.path);
    this.#stored.delete(tail.path);
    const known = this.#known.get(tail.inode);
    if (
      known !== undefined &&
      known.offset <= size &&
      (await headOf(file, known.offset)) === known.head
    ) {
      return known.offset;
    }
    if (known !== undefined) {
      this.#stats.truncations++;
      this.#notify({ kind: "truncated", path: tail.path, inode: tail.inode });
      return 0;
    }
    if (stored !== undefined) {
      // Rotated while we were away: finish the old file first if it still lies next to this one.
      return (await this.#adoptPredecessor(tail, stored)) ? stored.offset : 0;
    }
    if (tail.fresh || this.#options.from === "start") return 0;
    return lastLineEnd(file, size, this.#maxLineBytes);
  }

  /**
   * Looks among the path's siblings (`mail.log.1`, …) for the stored inode. When found, the
   * tail reads that file from the stored offset, and moves on to the path itself afterwards.
   */
  async #adoptPredecessor(tail: Tail, stored: SourcePosition): Promise<boolean> {
    if (this.#openInodes.has(stored.inode)) return false;
    const directory = dirname(tail.path);
    const prefix = basename(tail.path);
    let names: string[];
    try {
      names = await readdir(directory);
    } catch {
      return false;
    }
    for (const name of names) {
      if (!name.startsWith(prefix) || name === prefix) continue;
      const path = join(directory, name);
      let file: FileHandle | undefined;
      try {
        file = await open(path, "r");
        const info = await file.stat({ bigint: true });
        if (inodeOf(info) !== stored.inode || Number(info.size) < stored.offset) continue;
        if ((await headOf(file, stored.offset)) !== stored.head) continue;
        // Swap: the tail now holds the old file; the path's file was opened by the caller.
        await tail.file?.close();
        this.#openInodes.delete(tail.inode);
        tail.file = file;
        tail.inode = stored.inode;
        this.#openInodes.add(stored.inode);
        file = undefined;
        return true;
      } catch {
        // Not readable: not the one.
      } finally {
        await file?.close();
      }
    }
    return false;
  }

  /** Reads what the head needs: the first `min(HEAD_BYTES, offset)` bytes. */
  async #readHead(tail: Tail, offset: number): Promise<void> {
    const length = Math.min(HEAD_BYTES, offset);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await tail.file!.read(tail.headBytes, filled, length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
  }

  /** Whether the file still starts with the bytes the position was taken on. */
  async #sameHead(tail: Tail): Promise<boolean> {
    if (tail.offset === 0) return true;
    return (await headOf(tail.file!, tail.offset)) === tail.head;
  }

  #headAt(tail: Tail, offset: number): string {
    return hashHead(tail.headBytes.subarray(0, Math.min(HEAD_BYTES, offset)));
  }

  #rewind(tail: Tail, offset: number): void {
    tail.splitter.reset(offset);
    tail.readPos = offset;
    if (offset === 0) tail.offset = 0;
  }

  async #close(tail: Tail): Promise<void> {
    const file = tail.file;
    if (file === undefined) return;
    tail.file = undefined;
    this.#openInodes.delete(tail.inode);
    tail.fresh = true;
    await file.close().catch(() => undefined);
  }

  async #rescan(): Promise<void> {
    this.#nextRescan = Date.now() + this.#rescanMs;
    for (const pattern of this.#options.paths) {
      if (!GLOB_MAGIC.test(pattern)) {
        if (!this.#tails.has(pattern)) this.#tails.set(pattern, this.#newTail(pattern, true));
        continue;
      }
      try {
        for await (const path of glob(pattern)) {
          if (!this.#tails.has(path)) this.#tails.set(path, this.#newTail(path, false));
        }
      } catch {
        // A directory of the pattern is unreadable: the next scan tries again.
      }
    }
  }

  #newTail(path: string, explicit: boolean): Tail {
    return {
      path,
      explicit,
      file: undefined,
      inode: "",
      offset: 0,
      head: "",
      headBytes: Buffer.alloc(HEAD_BYTES),
      readPos: 0,
      splitter: new LineSplitter({ maxLineBytes: this.#maxLineBytes }),
      // Files matched after start are new; at start, `from` decides.
      fresh: this.#loop !== undefined,
      lastGrowth: 0,
      lastSize: -1,
      rotatedAt: undefined,
      retryAt: 0,
      failures: 0,
      reported: undefined,
    };
  }

  #remember(inode: string, offset: number, head: string): void {
    this.#known.delete(inode);
    this.#known.set(inode, { offset, head });
    if (this.#known.size > MAX_KNOWN_INODES) {
      const oldest = this.#known.keys().next().value;
      if (oldest !== undefined) this.#known.delete(oldest);
    }
  }

  #report(tail: Tail, error: RempartError): void {
    const reason = error.message;
    if (tail.reported === reason) return;
    tail.reported = reason;
    this.#notify({ kind: "unreadable", path: tail.path, error });
  }

  #backoff(tail: Tail): void {
    tail.failures++;
    const delay = Math.min(MAX_BACKOFF_MS, this.#pollMs * 2 ** Math.min(tail.failures, 10));
    tail.retryAt = Date.now() + delay;
  }

  #watchDirectory(directory: string): void {
    if (this.#options.watch === false || this.#stopping || this.#watchers.has(directory)) return;
    try {
      const watcher = watch(directory, { persistent: false }, (type) => {
        if (type === "rename") this.#nextRescan = 0;
        this.#sleeper.wake();
      });
      // Only a hint: polling carries on without it.
      watcher.on("error", () => {
        watcher.close();
        this.#watchers.delete(directory);
      });
      this.#watchers.set(directory, watcher);
    } catch {
      // Unsupported here (some network file systems): polling is enough.
    }
  }
}

/** Offset just after the last newline in the file's last `window` bytes (else the size). */
const lastLineEnd = async (file: FileHandle, size: number, window: number): Promise<number> => {
  const length = Math.min(size, window);
  if (length === 0) return size;
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, size - length);
  const last = buffer.subarray(0, bytesRead).lastIndexOf(0x0a);
  return last === -1 ? size : size - length + last + 1;
};

const logProblems = (notice: FileSourceNotice): void => {
  if (notice.kind === "unreadable") {
    console.error(
      `rempart: ${notice.error.message}${notice.error.hint ? ` (${notice.error.hint})` : ""}`,
    );
  } else if (notice.kind === "handler-failed") {
    console.error(`rempart: lines from ${notice.path} were not taken, retrying`, notice.error);
  }
};
