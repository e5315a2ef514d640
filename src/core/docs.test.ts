// The documentation must not drift from the code (Fastify keeps the same test for its codes).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { ERROR_CODES } from "./errors.ts";

const doc = (name: string): Promise<string> =>
  readFile(new URL(`../../docs/${name}`, import.meta.url), "utf8");

test("every error code is documented in docs/errors.md, and nothing else is", async () => {
  const text = await doc("errors.md");
  const documented = [...text.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), Object.keys(ERROR_CODES).sort());
});
