// The configuration and scenario references must name every key and built-in the code has.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { test } from "node:test";
import { z } from "zod";
import { BUILTIN_FIELDS, BUILTIN_SCENARIO_DIR } from "../detection/index.ts";
import { ConfigSchema } from "./config.ts";

const doc = (name: string): Promise<string> =>
  readFile(new URL(`../../docs/${name}`, import.meta.url), "utf8");

function keys(schema: unknown, prefix: string, out: string[]): void {
  const s = schema as {
    type?: string | string[];
    properties?: Record<string, unknown>;
    items?: unknown;
    anyOf?: unknown[];
  };
  for (const alt of s.anyOf ?? []) keys(alt, prefix, out);
  if (s.items !== undefined) keys(s.items, `${prefix}[]`, out);
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    const path = prefix === "" ? k : `${prefix}.${k}`;
    const child = v as { properties?: unknown; anyOf?: { properties?: unknown }[] };
    const isObject =
      child.properties !== undefined || (child.anyOf ?? []).some((a) => a.properties !== undefined);
    if (!isObject) out.push(path);
    keys(v, path, out);
  }
}

test("docs/configuration.md documents every configuration key", async () => {
  const text = await doc("configuration.md");
  const all: string[] = [];
  keys(z.toJSONSchema(ConfigSchema, { io: "input" }), "", all);
  const missing = all.filter((k) => !text.includes(`\`${k}\``));
  assert.deepEqual(missing, []);
});

test("docs/scenarios.md lists every built-in scenario and field", async () => {
  const text = await doc("scenarios.md");
  const files = (await readdir(BUILTIN_SCENARIO_DIR)).filter((f) => f.endsWith(".yaml"));
  for (const f of files)
    assert.ok(text.includes(`\`${f.replace(/\.yaml$/, "")}\``), `${f} is not documented`);
  for (const name of Object.keys(BUILTIN_FIELDS))
    assert.ok(text.includes(`\`${name}\``), `field ${name} is not documented`);
});
