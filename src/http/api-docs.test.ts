import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { renderApiDocs } from "./api-docs.ts";
import { ROUTES } from "./routes.ts";

test("docs/api.md is up to date with the route table", () => {
  const written = readFileSync(new URL("../../docs/api.md", import.meta.url), "utf8");
  assert.ok(
    written === renderApiDocs(),
    "docs/api.md is out of date: run `node src/http/write-api-docs.ts > docs/api.md`",
  );
});

test("docs/api.md has a section for every route", () => {
  const text = renderApiDocs();
  for (const spec of Object.values(ROUTES))
    assert.ok(
      text.includes(`\n### ${spec.method} ${spec.path.replace(/:(\w+)/g, "{$1}")}\n`),
      `${spec.method} ${spec.path}`,
    );
});
