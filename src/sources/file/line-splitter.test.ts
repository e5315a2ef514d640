import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { LineSplitter, type LineSink } from "./line-splitter.ts";

const split = (chunks: readonly Buffer[], maxLineBytes = 1 << 16): LineSink & { rest: number } => {
  const splitter = new LineSplitter({ maxLineBytes });
  const sink: LineSink = { lines: [], offsets: [] };
  for (const chunk of chunks) splitter.push(chunk, sink);
  return { ...sink, rest: splitter.committable };
};

describe("LineSplitter", () => {
  it("gives complete lines with their byte offsets, multibyte text included", () => {
    const out = split([Buffer.from("é1\nabc\r\n€€\nrest")]);
    assert.deepEqual(out.lines, ["é1", "abc", "€€"]);
    assert.deepEqual(out.offsets, [0, 4, 9]);
    assert.equal(out.rest, 16);
  });

  it("holds a partial line until its newline arrives", () => {
    const out = split([Buffer.from("ab"), Buffer.from("c"), Buffer.from("d\ne")]);
    assert.deepEqual(out.lines, ["abcd"]);
    assert.equal(out.rest, 5);
  });

  it("cuts lines longer than the cap, in one chunk or across many", () => {
    const long = "x".repeat(50);
    const out = split(
      [Buffer.from(`${long}\nok\n${long.slice(0, 20)}`), Buffer.from(`${long}\n`)],
      10,
    );
    assert.deepEqual(out.lines, ["x".repeat(10), "ok", "x".repeat(10)]);
    assert.deepEqual(out.offsets, [0, 51, 54]);
    assert.equal(out.rest, 54 + 71);
  });

  it("splits like String.split whatever the chunk boundaries (property)", () => {
    const line = fc.string({ unit: "grapheme", maxLength: 30 }).map((s) => s.replaceAll("\n", ""));
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (lines, cuts) => {
          const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(""));
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort(
            (a, b) => a - b,
          );
          const chunks: Buffer[] = [];
          let at = 0;
          for (const point of [...points, bytes.length]) {
            chunks.push(bytes.subarray(at, point));
            at = point;
          }
          const out = split(chunks);
          assert.deepEqual(
            out.lines,
            lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l)),
          );
          let offset = 0;
          const expected = lines.map((l) => {
            const start = offset;
            offset += Buffer.byteLength(l) + 1;
            return start;
          });
          assert.deepEqual(out.offsets, expected);
          assert.equal(out.rest, bytes.length);
        },
      ),
    );
  });
});
