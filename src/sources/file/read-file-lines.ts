import { open } from "node:fs/promises";
import { RempartError } from "../../core/errors.ts";
import type { SourcePosition } from "../../core/ports.ts";
import { HEAD_BYTES, headOf, inodeOf } from "./file-identity.ts";
import { LineSplitter } from "./line-splitter.ts";

/** Lines read from one file in one go, all from the same inode. */
export interface FileBatch {
  readonly path: string;
  readonly lines: readonly string[];
  /** Byte offset of each line's start, parallel to `lines`. */
  readonly offsets: readonly number[];
  /** Where reading resumes after this batch: persist it with what the lines produced. */
  readonly position: SourcePosition;
}

/**
 * Receives each batch. The next read waits until the returned promise resolves; a rejection
 * means the batch was not taken (see each reader for what follows).
 */
export type BatchHandler = (batch: FileBatch) => Promise<void> | void;

export const DEFAULT_CHUNK_BYTES = 1 << 20;
export const DEFAULT_MAX_LINE_BYTES = 64 << 10;

export interface ReadFileLinesOptions {
  /** Source name put in positions; default the path. */
  readonly source?: string;
  /** Byte offset to start at (a line start); default 0. */
  readonly offset?: number;
  readonly chunkBytes?: number;
  readonly maxLineBytes?: number;
}

export interface ReadFileLinesResult {
  readonly lines: number;
  readonly bytes: number;
  /** Lines cut to `maxLineBytes`. */
  readonly truncatedLines: number;
}

/**
 * Reads a whole file once (replay), in big chunks, one batch per chunk. A last line without
 * its newline is delivered too: the file is taken as finished. A handler's rejection stops the
 * reading and is passed on.
 */
export const readFileLines = async (
  path: string,
  onBatch: BatchHandler,
  options: ReadFileLinesOptions = {},
): Promise<ReadFileLinesResult> => {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const splitter = new LineSplitter({
    maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
  });
  const start = options.offset ?? 0;
  splitter.reset(start);
  let file;
  try {
    file = await open(path, "r");
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    const stat = await file.stat({ bigint: true });
    const inode = inodeOf(stat);
    const source = options.source ?? path;
    const buffer = Buffer.allocUnsafe(chunkBytes);
    let head: string | undefined;
    let at = start;
    let lines = 0;
    const deliver = async (sink: { lines: string[]; offsets: number[] }): Promise<void> => {
      if (sink.lines.length === 0) return;
      const offset = splitter.committable;
      // Fixed once the first HEAD_BYTES are behind us; until then it covers what was read.
      if (head === undefined || offset < HEAD_BYTES) head = await headOf(file, offset);
      lines += sink.lines.length;
      await onBatch({
        path,
        lines: sink.lines,
        offsets: sink.offsets,
        position: { source, path, inode, offset, head },
      });
    };
    for (;;) {
      let bytesRead;
      try {
        ({ bytesRead } = await file.read(buffer, 0, chunkBytes, at));
      } catch (error) {
        throw unreadable(path, error);
      }
      if (bytesRead === 0) break;
      at += bytesRead;
      const sink = { lines: [] as string[], offsets: [] as number[] };
      splitter.push(buffer.subarray(0, bytesRead), sink);
      await deliver(sink);
    }
    const sink = { lines: [] as string[], offsets: [] as number[] };
    splitter.flush(sink);
    await deliver(sink);
    return { lines, bytes: at - start, truncatedLines: splitter.truncated };
  } finally {
    await file.close();
  }
};

export const unreadable = (path: string, error: unknown): RempartError => {
  const code = (error as { code?: unknown } | null)?.code;
  const errno = typeof code === "string" ? code : "unknown error";
  return new RempartError("SOURCE_UNREADABLE", `cannot read ${path}: ${errno}`, {
    cause: error,
    hint:
      errno === "EACCES"
        ? "give the rempart user read access to the file (e.g. the adm group)"
        : "check that the path exists and is a regular file",
  });
};
