import assert from "node:assert/strict";
import { test } from "node:test";
import { main } from "./main.ts";

test("an unknown command is a usage error, names inherited by objects included", async (t) => {
  const written: string[] = [];
  t.mock.method(process.stderr, "write", (chunk: string) => {
    written.push(chunk);
    return true;
  });
  for (const command of ["frobnicate", "constructor", "toString"]) {
    written.length = 0;
    assert.equal(await main([command]), 2, command);
    assert.match(written.join(""), new RegExp(`unknown command "${command}"`));
  }
});
