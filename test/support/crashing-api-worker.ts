/**
 * The real API thread, made to crash once: the first thread to start from this script throws
 * an uncaught error a moment after it listens; the threads started after it (the replacement)
 * run normally. "First" is told by a marker file at $REMPART_TEST_CRASH_MARK, which the first
 * one creates. For src/http/api-threads.test.ts.
 */
import { existsSync, writeFileSync } from "node:fs";

await import("../../src/http/api-worker.ts");

const mark = process.env["REMPART_TEST_CRASH_MARK"];
if (mark !== undefined && !existsSync(mark)) {
  writeFileSync(mark, "crashed\n");
  setTimeout(() => {
    throw new Error("the crash the test asked for");
  }, 100);
}
