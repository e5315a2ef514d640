import assert from "node:assert/strict";
import { test } from "node:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRempartError } from "../core/index.ts";
import { ConfigSchema, loadConfig } from "./config.ts";

/** The first problem's path and message, as the loader shows them. */
const problem = (input: unknown): [string, string] => {
  const r = ConfigSchema.safeParse(input);
  assert.equal(r.success, false, JSON.stringify(input));
  const issue = r.error.issues[0]!;
  return [issue.path.join("."), issue.message];
};

test("a configuration that would crash or spin at start is refused, saying which key", () => {
  const source = { name: "mail", type: "syslog", paths: ["/var/log/mail.log"] };
  assert.deepEqual(problem({ http: { listen: "127.0.0.1:99999" } }), [
    "http.listen",
    "the port must be 0 to 65535",
  ]);
  assert.match(problem({ guard: { windows: { short: "0s" } } })[1], /longer than zero/);
  assert.match(problem({ checkpoint_interval: "0s" })[1], /longer than zero/);
  assert.match(problem({ surge: { interval: "0s" } })[1], /longer than zero/);
  assert.match(
    problem({ sources: [{ ...source, timezone: "Europe/Pariss" }] })[1],
    /unknown time zone/,
  );
  assert.match(problem({ sources: [{ ...source, poll: "0s" }] })[1], /longer than zero/);
  assert.match(problem({ guard: { night: { timezone: "Mars/Base" } } })[1], /unknown time zone/);
  for (const all of ["0.0.0.0/0", "::/0"])
    assert.deepEqual(problem({ http: { trusted_proxies: ["127.0.0.1", all] } }), [
      "http.trusted_proxies.1",
      "trusting every address lets any client choose its own: list your proxies",
    ]);
  // And what is right passes.
  const ok = ConfigSchema.parse({
    http: { listen: "127.0.0.1:65535" },
    sources: [{ ...source, timezone: "Europe/Paris", poll: "1s" }],
  });
  assert.equal(ok.http.listen, "127.0.0.1:65535");
});

test("two sources of one name are refused at the second: they would share read positions", () => {
  const mail = { name: "mail", type: "syslog", paths: ["/var/log/mail.log"] };
  assert.deepEqual(
    problem({ sources: [mail, { name: "web", paths: ["/a"] }, { ...mail, paths: ["/b"] }] }),
    ["sources.2.name", 'another source is named "mail": each needs its own name'],
  );
});

test("a configuration file of two YAML documents is refused, at the second", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "rempart.yaml");
  await writeFile(file, "http:\n  listen: 127.0.0.1:8081\n---\ndata_dir: /tmp/x\n");
  await assert.rejects(
    loadConfig(file),
    (e: unknown) =>
      isRempartError(e) &&
      e.code === "CONFIG_INVALID" &&
      e.message === `${file}:3: a second YAML document ("---"): the configuration is one document`,
  );
  await writeFile(file, "---\nhttp:\n  listen: 127.0.0.1:8081\n");
  assert.equal((await loadConfig(file)).http.listen, "127.0.0.1:8081");
});
