import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BIN } from "../../test/support/replay.ts";
import type { Decision } from "../core/index.ts";
import { ApiKeyVerifier } from "../http/api-keys.ts";
import { openStorage } from "../storage/index.ts";
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

test("replay fails when no line could be read: a wrong --type is no quiet log", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-replay-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = join(dir, "mail.log");
  await writeFile(
    log,
    "Sep 28 13:01:07 mx postfix/smtpd[1234]: warning: unknown[192.0.2.66]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n",
  );
  const run = (type: string) =>
    spawnSync(process.execPath, [BIN, "replay", "--type", type, "--year", "2024", log], {
      encoding: "utf8",
    });
  const wrong = run("nginx");
  assert.equal(wrong.status, 1, wrong.stderr);
  assert.match(wrong.stderr, /no line could be read: check --type/);
  const right = run("syslog");
  assert.equal(right.status, 0, right.stderr);
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

test("keys: create, list and delete, by name or id; a deleted key is refused by the API", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-keys-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, "rempart.yaml");
  await writeFile(config, `data_dir: ${JSON.stringify(join(dir, "data"))}\n`);
  const rempart = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, "keys", ...args, "--config", config], { encoding: "utf8" });
  // No database yet: listing does not make an empty one.
  const none = rempart("list");
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no database at/);

  const firewall = rempart("create", "firewall", "--role", "bouncer").stdout.split("\n")[0]!;
  const shop = rempart("create", "shop", "--role", "sensor").stdout.split("\n")[0]!;
  const listed = JSON.parse(rempart("list", "--json").stdout) as {
    keys: { id: string; name: string; role: string }[];
  };
  assert.deepEqual(
    listed.keys.map((k) => `${k.name} ${k.role}`),
    ["firewall bouncer", "shop sensor"],
  );
  assert.ok(firewall.startsWith(`rmp_${listed.keys[0]!.id}_`), "the id is the key's own");
  assert.doesNotMatch(rempart("list").stdout, new RegExp(firewall.slice(-20)), "no secret shown");

  const byName = rempart("delete", "firewall");
  assert.equal(byName.status, 0, byName.stderr);
  assert.match(byName.stdout, /^deleted: \S+ \(bouncer\) firewall/);
  const byId = rempart("delete", listed.keys[1]!.id);
  assert.equal(byId.status, 0, byId.stderr);
  assert.equal(rempart("list").stdout, "no keys\n");
  const again = rempart("delete", "firewall");
  assert.equal(again.status, 1);
  assert.match(again.stderr, /no key is named or has the id "firewall"/);

  // What the API's verifier reads: the deleted keys are gone from the database.
  const storage = await openStorage({ kind: "sqlite", path: join(dir, "data", "rempart.db") });
  t.after(() => storage.close());
  const verifier = new ApiKeyVerifier(storage);
  assert.equal(await verifier.verify(firewall), undefined);
  assert.equal(await verifier.verify(shop), undefined);
});

test("decisions export: a firewall's formats hold the bans only, unless --action says", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-export-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, "rempart.yaml");
  await writeFile(config, `data_dir: ${JSON.stringify(join(dir, "data"))}\n`);
  await mkdir(join(dir, "data"));
  const storage = await openStorage({ kind: "sqlite", path: join(dir, "data", "rempart.db") });
  const made = (id: string, action: Decision["action"], value: string): Decision => ({
    id,
    action,
    scope: "ip",
    value,
    createdAt: Date.now(),
    expiresAt: Date.now() + 3_600_000,
    origin: "manual",
    scenario: "ops",
    reason: "test",
    offence: 0,
    tzOffset: 0,
  });
  await storage.addDecisions([
    made("b", "ban", "192.0.2.1"),
    made("c", "challenge", "192.0.2.2"),
    made("t", "throttle", "192.0.2.3"),
  ]);
  await storage.close();
  const exported = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, "decisions", "export", ...args, "--config", config], {
      encoding: "utf8",
    });
  const lines = (...args: string[]) =>
    exported(...args)
      .stdout.split("\n")
      .filter((l) => /^\d/.test(l));
  assert.deepEqual(lines(), ["192.0.2.1"], "a challenge is no ban");
  assert.deepEqual(lines("--action", "all").sort(), ["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
  assert.deepEqual(lines("--action", "challenge,throttle").sort(), ["192.0.2.2", "192.0.2.3"]);
  assert.equal(exported("--format", "csv").stdout.trim().split("\n").length, 4, "csv: all three");
  const nft = exported("--format", "nft").stdout;
  assert.match(nft, /^table inet rempart_export \{/m, "not the enforcer's own table");
  const bad = exported("--action", "nuke");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--action "nuke" is not an action/);
});

test("reputation key prints the same public key each time, made once with mode 0600", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-repkey-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, "rempart.yaml");
  await writeFile(config, `data_dir: ${JSON.stringify(join(dir, "data"))}\n`);
  const rempart = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, "reputation", ...args], { encoding: "utf8" });
  // No data directory yet: the key cannot be made, and the message says where and why.
  const early = rempart("key", "--config", config);
  assert.equal(early.status, 1);
  assert.match(early.stderr, /cannot create the reputation signing key .*reputation\.key/);
  await mkdir(join(dir, "data"));
  const first = rempart("key", "--config", config);
  assert.equal(first.status, 0, first.stderr);
  const key = /^ed25519:[A-Za-z0-9_-]{43}$/m.exec(first.stdout)?.[0];
  assert.ok(key !== undefined, first.stdout);
  assert.equal(/ed25519:\S+/.exec(rempart("key", "--config", config).stdout)?.[0], key);
  const { mode } = await stat(join(dir, "data", "reputation.key"));
  assert.equal(mode & 0o777, 0o600);
  const usage = rempart("show");
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /reputation show: give one IP address/);
});
