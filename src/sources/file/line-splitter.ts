/**
 * Cuts a byte stream into complete lines. Chunks go in as they were read; each complete line
 * comes out once with the byte offset of its start. Bytes after the last `\n` wait for the
 * next chunk, so a line is never delivered before its newline is written.
 */

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 13;

/** Where the lines of one chunk go. The arrays are appended to, never replaced. */
export interface LineSink {
  readonly lines: string[];
  readonly offsets: number[];
}

export interface LineSplitterOptions {
  /** Longer lines are cut to this many bytes (and counted); the rest of the line is dropped. */
  readonly maxLineBytes: number;
}

export class LineSplitter {
  readonly #maxLineBytes: number;
  /** Bytes of the unfinished line, at most `maxLineBytes` of them. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The unfinished line's full length, including the bytes dropped beyond the cap. */
  #pendingLength = 0;
  /** File offset of the unfinished line's first byte. */
  #pendingStart = 0;
  #truncated = 0;

  constructor(options: LineSplitterOptions) {
    this.#maxLineBytes = options.maxLineBytes;
  }

  /** Lines cut to `maxLineBytes` so far. */
  get truncated(): number {
    return this.#truncated;
  }

  /** File offset just after the last complete line: where a restart must resume. */
  get committable(): number {
    return this.#pendingStart;
  }

  /** Bytes held for an unfinished line. */
  get pendingLength(): number {
    return this.#pendingLength;
  }

  /** Forgets any unfinished line; the next chunk starts at `offset`. */
  reset(offset: number): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#pendingLength = 0;
    this.#pendingStart = offset;
  }

  /**
   * Adds `chunk` (the bytes at `offset + pendingLength`) and appends every line it completes
   * to `sink`. The chunk is not kept: the caller may reuse its buffer.
   */
  push(chunk: Buffer, sink: LineSink): void {
    const end = chunk.length;
    const base = this.#pendingStart + this.#pendingLength;
    const first = chunk.indexOf(NEWLINE);
    if (first === -1) {
      this.#hold(chunk, 0, end);
      return;
    }
    // The line that was waiting for its end.
    let start = 0;
    if (this.#pendingLength > 0) {
      this.#hold(chunk, 0, first);
      sink.lines.push(stripCr(this.#takePending()));
      sink.offsets.push(this.#pendingStart);
      start = first + 1;
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (start <= last) this.#splitComplete(chunk, start, last, base, sink);
    this.#pendingStart = base + last + 1;
    this.#pendingLength = 0;
    this.#hold(chunk, last + 1, end);
  }

  /** Delivers the unfinished line, if any, as if a newline followed it (end of a whole file). */
  flush(sink: LineSink): void {
    if (this.#pendingLength === 0) return;
    const start = this.#pendingStart;
    const length = this.#pendingLength;
    sink.lines.push(stripCr(this.#takePending()));
    sink.offsets.push(start);
    this.#pendingStart = start + length;
    this.#pendingLength = 0;
  }

  /**
   * `chunk[start..last)` holds whole lines, `chunk[last]` is a newline. Each line is decoded on
   * its own, into a string that owns its characters: lines sliced from one decoded chunk would
   * each keep the whole chunk (a megabyte) alive for as long as detection remembers anything
   * read from them (an address, a queue id), which is most of the file.
   */
  #splitComplete(chunk: Buffer, start: number, last: number, base: number, sink: LineSink): void {
    const { lines, offsets } = sink;
    for (let at = start; at <= last;) {
      const next = chunk.indexOf(NEWLINE, at); // at most `last`, a newline
      offsets.push(base + at);
      let end = next;
      if (next - at > this.#maxLineBytes) {
        this.#truncated++;
        end = at + this.#maxLineBytes;
      }
      lines.push(stripCr(chunk.toString("utf8", at, end)));
      at = next + 1;
    }
  }

  #hold(chunk: Buffer, from: number, to: number): void {
    const length = to - from;
    if (length <= 0) return;
    this.#pendingLength += length;
    const room = this.#maxLineBytes - this.#pendingBytes;
    if (room <= 0) return;
    const kept = Math.min(room, length);
    // Copied: the caller reuses its read buffer.
    this.#pending.push(Buffer.from(chunk.subarray(from, from + kept)));
    this.#pendingBytes += kept;
  }

  #takePending(): string {
    if (this.#pendingLength > this.#maxLineBytes) this.#truncated++;
    const text =
      this.#pending.length === 1
        ? this.#pending[0]!.toString("utf8")
        : Buffer.concat(this.#pending, this.#pendingBytes).toString("utf8");
    this.#pending = [];
    this.#pendingBytes = 0;
    return text;
  }
}

const stripCr = (line: string): string =>
  line.charCodeAt(line.length - 1) === CARRIAGE_RETURN ? line.slice(0, -1) : line;
