import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { parseYaml } from "./load-yaml.ts";

test("a problem names the file's line and the key's path, and why a record's key is refused", () => {
  const schema = z.strictObject({
    hooks: z.record(z.string().regex(/^[a-z]+$/, { message: "lower-case letters" }), z.number()),
    size: z.number().optional(),
  });
  const r = parseYaml("size: 1\nhooks:\n  ok: 1\n  Shop: 2\n", "c.yaml", schema);
  assert.equal(r.ok, false);
  assert.deepEqual(!r.ok && r.problems, [
    {
      file: "c.yaml",
      line: 4,
      path: "hooks.Shop",
      message: "the key is refused: lower-case letters",
    },
  ]);
});
