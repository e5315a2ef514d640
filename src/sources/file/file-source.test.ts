import assert from "node:assert/strict";
import {
  appendFile,
  mkdir,
  mkdtemp,
  open,
  readFile,
  rename,
  rm,
  truncate,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { SourcePosition } from "../../core/ports.ts";
import { FileSource, type FileSourceNotice, type FileSourceOptions } from "./file-source.ts";
import type { FileBatch } from "./read-file-lines.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "rempart-file-source-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
const fresh = async (): Promise<string> => {
  const path = join(dir, `case-${++counter}`);
  await mkdir(path);
  return path;
};

/** A source with fast timings and a handler that records what it was given. */
const tail = (options: Partial<FileSourceOptions> & Pick<FileSourceOptions, "paths">) => {
  const batches: FileBatch[] = [];
  const notices: FileSourceNotice[] = [];
  const source = new FileSource({
    source: "test",
    pollMs: 10,
    rescanMs: 30,
    rotateWaitMs: 60,
    onBatch: (batch) => {
      batches.push(batch);
    },
    onNotice: (notice) => notices.push(notice),
    ...options,
  });
  const lines = (path?: string): string[] =>
    batches.filter((b) => path === undefined || b.path === path).flatMap((b) => b.lines);
  return { source, batches, notices, lines };
};

const waitFor = async (what: string, condition: () => boolean, ms = 3000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

const numbered = (prefix: string, from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `${prefix} line ${from + i}`);
const text = (lines: readonly string[]): string => lines.map((l) => `${l}\n`).join("");

describe("FileSource", () => {
  it("has no side effects until started, and stops without having started", async () => {
    const path = join(await fresh(), "never.log");
    const { source, notices } = tail({ paths: [path] });
    await source.stop();
    assert.deepEqual(notices, []);
  });

  it("starts at the end of an existing file and delivers what is appended", async () => {
    const path = join(await fresh(), "app.log");
    await writeFile(path, "old 1\nold 2\n");
    const { source, batches, lines } = tail({ paths: [path] });
    await source.start();
    assert.deepEqual(
      source.positions().map((p) => p.offset),
      [12],
    );
    await appendFile(path, "new 1\nnew 2\n");
    await waitFor("appended lines", () => lines().length === 2);
    await source.stop();
    assert.deepEqual(lines(), ["new 1", "new 2"]);
    assert.deepEqual(batches[0]!.offsets, [12, 18]);
    assert.equal(batches.at(-1)!.position.offset, 24);
    assert.deepEqual(source.positions(), [batches.at(-1)!.position]);
  });

  it("waits for a partial line's newline", async () => {
    const path = join(await fresh(), "partial.log");
    await writeFile(path, "");
    const { source, lines, batches } = tail({ paths: [path] });
    await source.start();
    await appendFile(path, "first\nsec");
    await waitFor("first line", () => lines().length === 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(lines(), ["first"]);
    assert.equal(batches[0]!.position.offset, 6);
    await appendFile(path, "ond\n");
    await waitFor("completed line", () => lines().length === 2);
    await source.stop();
    assert.deepEqual(lines(), ["first", "second"]);
    assert.deepEqual(batches[1]!.offsets, [6]);
  });

  it("resumes from a persisted position: no line twice, none skipped, even after a failed commit", async () => {
    const path = join(await fresh(), "resume.log");
    const all = numbered("r", 0, 3000);
    await writeFile(path, text(all.slice(0, 1000)));
    // The "database": lines and position committed together, one batch at a time.
    const committed: string[] = [];
    let position: SourcePosition | undefined;
    let failOnce = true;
    const run = (lastPosition: SourcePosition | undefined) =>
      new FileSource({
        source: "test",
        paths: [path],
        from: "start",
        pollMs: 10,
        chunkBytes: 4096,
        positions: lastPosition === undefined ? [] : [lastPosition],
        onNotice: () => undefined,
        onBatch: (batch) => {
          if (failOnce && committed.length > 500) {
            failOnce = false;
            throw new Error("transaction aborted");
          }
          committed.push(...batch.lines);
          position = batch.position;
        },
      });
    const first = run(undefined);
    await first.start();
    await appendFile(path, text(all.slice(1000, 2000)));
    await waitFor("first half", () => committed.length >= 1500);
    await first.stop(); // as good as kill -9: nothing is flushed on stop
    assert.equal(failOnce, false);
    await appendFile(path, text(all.slice(2000, 3000)));
    const second = run(position);
    await second.start();
    await waitFor("everything", () => committed.length >= 3000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await second.stop();
    assert.deepEqual(committed, all);
  });

  it("follows a rename rotation, reading what is still written to the old file first", async () => {
    const path = join(await fresh(), "mail.log");
    const writer = await open(path, "a");
    await writer.write(text(numbered("old", 0, 100)));
    const { source, lines, notices, batches } = tail({ paths: [path], from: "start" });
    await source.start();
    await waitFor("old lines", () => lines().length === 100);
    await rename(path, `${path}.1`);
    await writeFile(path, text(numbered("new", 0, 10)));
    // The daemon has not reopened its log yet.
    await writer.write(text(numbered("old", 100, 150)));
    await waitFor("old and new", () => lines().length === 160);
    await writer.write(text(numbered("lost", 0, 1)));
    await writer.close();
    await appendFile(path, text(numbered("new", 10, 20)));
    await waitFor("later new lines", () => lines().length === 170);
    await source.stop();
    assert.deepEqual(lines(), [...numbered("old", 0, 150), ...numbered("new", 0, 20)]);
    assert.ok(notices.some((n) => n.kind === "rotated"));
    const inodes = new Set(batches.map((b) => b.position.inode));
    assert.equal(inodes.size, 2);
    assert.equal(batches.at(-1)!.position.offset, (await readFile(path)).length);
  });

  it("finishes a file rotated while it was not running, then reads the new one", async () => {
    const path = join(await fresh(), "mail.log");
    await writeFile(path, text(numbered("old", 0, 10)));
    const first = tail({ paths: [path], from: "start" });
    await first.source.start();
    await waitFor("old lines", () => first.lines().length === 10);
    await first.source.stop();
    const stored = first.source.positions();
    await appendFile(path, text(numbered("old", 10, 12)));
    await rename(path, `${path}.1`);
    await writeFile(path, text(numbered("new", 0, 3)));
    const second = tail({ paths: [path], positions: stored });
    await second.source.start();
    await waitFor("rest of old and new", () => second.lines().length === 5);
    await second.source.stop();
    assert.deepEqual(second.lines(), [...numbered("old", 10, 12), ...numbered("new", 0, 3)]);
  });

  it("restarts from the beginning after copytruncate", async () => {
    const path = join(await fresh(), "copy.log");
    await writeFile(path, text(numbered("before", 0, 50)));
    const { source, lines, notices } = tail({ paths: [path], from: "start" });
    await source.start();
    await waitFor("first lines", () => lines().length === 50);
    await writeFile(`${path}.1`, await readFile(path));
    await truncate(path, 0);
    await appendFile(path, text(numbered("after", 0, 3)));
    await waitFor("lines after truncation", () => lines().length === 53);
    await source.stop();
    assert.deepEqual(lines().slice(50), numbered("after", 0, 3));
    assert.ok(notices.some((n) => n.kind === "truncated"));
  });

  it("recognises a truncated file that grew past the old offset (head changed)", async () => {
    const path = join(await fresh(), "regrown.log");
    await writeFile(path, text(numbered("a", 0, 5)));
    const first = tail({ paths: [path], from: "start" });
    await first.source.start();
    await waitFor("first lines", () => first.lines().length === 5);
    await first.source.stop();
    // Truncated and rewritten longer while we were down.
    await writeFile(path, text(numbered("bb", 0, 20)));
    const second = tail({ paths: [path], positions: first.source.positions() });
    await second.source.start();
    await waitFor("rewritten file", () => second.lines().length === 20);
    await second.source.stop();
    assert.deepEqual(second.lines(), numbered("bb", 0, 20));
  });

  it("tails two files at once", async () => {
    const base = await fresh();
    const [a, b] = [join(base, "a.log"), join(base, "b.log")];
    await writeFile(a, "");
    await writeFile(b, "");
    const { source, lines } = tail({ paths: [a, b] });
    await source.start();
    await appendFile(a, "a1\n");
    await appendFile(b, "b1\nb2\n");
    await appendFile(a, "a2\n");
    await waitFor("both", () => lines().length === 4);
    await source.stop();
    assert.deepEqual(lines(a), ["a1", "a2"]);
    assert.deepEqual(lines(b), ["b1", "b2"]);
    assert.deepEqual(
      source
        .positions()
        .map((p) => [p.path, p.offset])
        .sort(),
      [
        [a, 6],
        [b, 6],
      ],
    );
  });

  it("picks up a new file matching a pattern, from its first line", async () => {
    const base = await fresh();
    await writeFile(join(base, "one.log"), "one 0\n");
    const { source, lines } = tail({ paths: [join(base, "*.log")], watch: false });
    await source.start();
    await appendFile(join(base, "one.log"), "one 1\n");
    await writeFile(join(base, "two.log"), "two 0\ntwo 1\n");
    await writeFile(join(base, "ignored.txt"), "nope\n");
    await waitFor("both files", () => lines().length === 3);
    await source.stop();
    assert.deepEqual(lines(join(base, "one.log")), ["one 1"]);
    assert.deepEqual(lines(join(base, "two.log")), ["two 0", "two 1"]);
  });

  it("does not read a rotated file twice when the pattern matches it too", async () => {
    const base = await fresh();
    const path = join(base, "x.log");
    await writeFile(path, text(numbered("x", 0, 5)));
    const { source, lines } = tail({ paths: [join(base, "x.log*")], from: "start" });
    await source.start();
    await waitFor("lines", () => lines().length === 5);
    await rename(path, `${path}.1`);
    await writeFile(path, "x new\n");
    await waitFor("new line", () => lines().length === 6);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await source.stop();
    assert.deepEqual(lines(), [...numbered("x", 0, 5), "x new"]);
  });

  it("drops the carriage return of CRLF lines", async () => {
    const path = join(await fresh(), "crlf.log");
    await writeFile(path, "one\r\ntwo\r\n\r\nthree\r");
    const { source, lines } = tail({ paths: [path], from: "start" });
    await source.start();
    await waitFor("lines", () => lines().length === 3);
    await appendFile(path, "\n");
    await waitFor("last line", () => lines().length === 4);
    await source.stop();
    assert.deepEqual(lines(), ["one", "two", "", "three"]);
  });

  it("reads lines longer than a chunk, and cuts absurd ones", async () => {
    const path = join(await fresh(), "long.log");
    const long = "L".repeat(10_000);
    const absurd = "A".repeat(100_000);
    await writeFile(path, `short\n${long}\n${absurd}\nafter\n`);
    const { source, lines, batches, notices } = tail({
      paths: [path],
      from: "start",
      chunkBytes: 1024,
      maxLineBytes: 20_000,
    });
    await source.start();
    await waitFor("lines", () => lines().length === 4);
    await source.stop();
    assert.deepEqual(lines(), ["short", long, "A".repeat(20_000), "after"]);
    assert.deepEqual(
      batches.flatMap((b) => b.offsets),
      [0, 6, 10_007, 110_008],
    );
    assert.equal(source.stats().truncatedLines, 1);
    assert.ok(notices.some((n) => n.kind === "line-truncated"));
  });

  it("waits for a missing file and reads it from its start once it appears", async () => {
    const path = join(await fresh(), "later.log");
    const { source, lines, notices } = tail({ paths: [path] });
    await source.start();
    assert.deepEqual(notices, [{ kind: "missing", path }]);
    await writeFile(path, "hello\n");
    await waitFor("line", () => lines().length === 1);
    await rm(path);
    await waitFor("removal", () => notices.some((n) => n.kind === "removed"));
    await writeFile(path, "again\n");
    await waitFor("line after it came back", () => lines().length === 2);
    await source.stop();
    assert.deepEqual(lines(), ["hello", "again"]);
  });

  it("reports an unreadable path with its errno instead of failing", async () => {
    const path = join(await fresh(), "a-directory.log");
    await mkdir(path);
    const { source, notices } = tail({ paths: [path] });
    await source.start();
    await source.stop();
    const notice = notices.find((n) => n.kind === "unreadable");
    assert.ok(notice?.kind === "unreadable");
    assert.equal(notice.error.code, "SOURCE_UNREADABLE");
    assert.match(notice.error.message, /a-directory\.log: EISDIR/);
  });
});
