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

test("a value that matches none of a union's shapes is told its problem within the closest", () => {
  const schema = z.strictObject({
    sources: z.array(
      z.union([
        z.strictObject({ name: z.string(), from: z.enum(["start", "end"]).optional() }),
        z.strictObject({
          name: z.string(),
          journald: z.strictObject({ units: z.array(z.string()) }),
        }),
      ]),
    ),
  });
  const r = parseYaml("sources:\n  - name: mail\n    from: begining\n", "c.yaml", schema);
  assert.deepEqual(!r.ok && r.problems.map((p) => [p.line, p.path, p.message]), [
    [3, "sources[0].from", 'Invalid option: expected one of "start"|"end"'],
  ]);
});
