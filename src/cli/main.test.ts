import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

test("decisions export refuses a configuration no daemon ran with, rather than an empty list", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-export-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, "rempart.yaml");
  await writeFile(config, `data_dir: ${JSON.stringify(join(dir, "data"))}\n`);
  const written: string[] = [];
  t.mock.method(process.stderr, "write", (chunk: string) => {
    written.push(chunk);
    return true;
  });
  assert.equal(await main(["decisions", "export", "--format", "ipset", "--config", config]), 1);
  assert.match(written.join(""), /no database at .*rempart\.db: no daemon has run/);
  assert.deepEqual(await readdir(dir), ["rempart.yaml"], "and no database made");
  written.length = 0;
  assert.equal(await main(["decisions", "export", "--scope", "account", "--config", config]), 2);
  assert.match(written.join(""), /--scope "account" is not ip or range/);
});

test("a command that takes no argument refuses one: a file without --config is not ignored", async (t) => {
  const written: string[] = [];
  t.mock.method(process.stderr, "write", (chunk: string) => {
    written.push(chunk);
    return true;
  });
  assert.equal(await main(["decisions", "add", "--value", "192.0.2.7", "--duration", "0s"]), 2);
  assert.match(written.join(""), /--duration "0s" is not a duration/);
  assert.equal(await main(["start", "/etc/rempart/rempart.yaml"]), 2);
  assert.match(written.join(""), /start: unexpected argument "\/etc\/rempart\/rempart\.yaml"/);
  assert.match(written.join(""), /--config FILE/);
});

test("replay says which file it cannot read or write, before it starts", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-replay-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const written: string[] = [];
  t.mock.method(process.stderr, "write", (chunk: string) => {
    written.push(chunk);
    return true;
  });
  assert.equal(await main(["replay", dir]), 1);
  assert.match(written.join(""), /cannot read .*: EISDIR/);
  const log = join(dir, "mail.log");
  await writeFile(log, "x\n");
  written.length = 0;
  assert.equal(await main(["replay", "--output", join(dir, "no", "x.jsonl"), log]), 2);
  assert.match(written.join(""), /replay: cannot write .*x\.jsonl \(ENOENT\)/);
});

test("mail release says what it did before the queue failed it", async (t) => {
  const written: string[] = [];
  t.mock.method(process.stderr, "write", (chunk: string) => {
    written.push(chunk);
    return true;
  });
  const code = await main([
    "mail",
    "release",
    "bob@example.org",
    "--url",
    "http://127.0.0.1:9",
    "--key",
    "rmp_000000000000_x",
    "--postfix-config",
    "/nonexistent/postfix",
  ]);
  assert.equal(code, 1);
  assert.match(
    written.join(""),
    /bob@example\.org: 0 decision\(s\) lifted \(decisions not lifted: .*\), but its held mail was not released: /,
  );
});
