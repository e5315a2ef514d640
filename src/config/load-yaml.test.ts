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

test("an unknown key is reported on its own line, not on its block's first", () => {
  const schema = z.strictObject({
    name: z.string(),
    threshold: z.number().optional(),
    decision: z.strictObject({ action: z.string(), scope: z.string().optional() }).optional(),
  });
  const text = "name: x\n# a comment\ntreshold: 5\ndecision:\n  action: ban\n  scpoe: ip\n";
  const r = parseYaml(text, "s.yaml", schema);
  assert.deepEqual(!r.ok && r.problems.map((p) => [p.line, p.path, p.message]), [
    [3, "", 'Unrecognized key: "treshold"'],
    [6, "decision", 'Unrecognized key: "scpoe"'],
  ]);
  // A value's line is its key's, also for a block that starts on the next line.
  const ok = parseYaml("name: x\ndecision:\n  action: ban\n", "s.yaml", schema);
  assert.ok(ok.ok);
  assert.equal(ok.values[0]!.lineAt(["decision"]), 2);
  assert.equal(ok.values[0]!.lineAt(["decision", "action"]), 3);
  assert.equal(ok.values[0]!.lineAt(["decision", "scope"]), 2, "absent: the closest enclosing");
});

test("a union with its own message is told in its words, not a branch's", () => {
  const schema = z.strictObject({
    ports: z.union([z.literal("all"), z.array(z.number()).min(1)], {
      error: "expected all, or a list of ports such as [25, 465, 587]",
    }),
  });
  const r = parseYaml('ports: "25,465"\n', "c.yaml", schema);
  assert.deepEqual(!r.ok && r.problems.map((p) => [p.line, p.path, p.message]), [
    [1, "ports", "expected all, or a list of ports such as [25, 465, 587]"],
  ]);
});
