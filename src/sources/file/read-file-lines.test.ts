import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readFileLines, type FileBatch } from "./read-file-lines.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "rempart-read-file-lines-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("readFileLines", () => {
  it("reads a whole file in batches, the last line even without its newline", async () => {
    const path = join(dir, "replay.log");
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} é`);
    await writeFile(path, lines.join("\r\n"));
    const batches: FileBatch[] = [];
    const result = await readFileLines(path, (batch) => void batches.push(batch), {
      source: "replay",
      chunkBytes: 4096,
    });
    assert.ok(batches.length > 10);
    assert.deepEqual(
      batches.flatMap((b) => b.lines),
      lines,
    );
    assert.equal(batches[0]!.offsets[1], Buffer.byteLength("line 0 é\r\n"));
    const size = (await stat(path)).size;
    assert.deepEqual(result, { lines: 5000, bytes: size, truncatedLines: 0 });
    const last = batches.at(-1)!.position;
    assert.equal(last.offset, size);
    assert.equal(last.source, "replay");
    assert.equal(last.inode, (await stat(path, { bigint: true })).ino.toString());
    assert.match(last.head, /^[0-9a-f]{40}$/);
  });

  it("starts at an offset", async () => {
    const path = join(dir, "offset.log");
    await writeFile(path, "a\nb\nc\n");
    const seen: string[] = [];
    await readFileLines(path, (batch) => void seen.push(...batch.lines), { offset: 2 });
    assert.deepEqual(seen, ["b", "c"]);
  });

  it("passes on the handler's rejection and a missing file's error", async () => {
    const path = join(dir, "reject.log");
    await writeFile(path, "a\n");
    await assert.rejects(
      readFileLines(path, () => Promise.reject(new Error("full"))),
      /full/,
    );
    await assert.rejects(
      readFileLines(join(dir, "absent.log"), () => undefined),
      {
        code: "SOURCE_UNREADABLE",
        message: /absent\.log: ENOENT/,
      },
    );
  });
});
