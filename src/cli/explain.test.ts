/**
 * `rempart explain`, run as a user runs it: what the parser makes of each line, which
 * scenarios it feeds, and which target surge detection counts it for (the configuration's
 * route patterns included).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BIN } from "../../test/support/replay.ts";

const explain = (...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, "explain", ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
const web = (path: string, status = 200) =>
  `203.0.113.7 - - [08/Dec/2026:01:00:00 +0000] "GET ${path} HTTP/1.1" ${status} 512 "-" "x"`;

test("explain says which scenario and which surge target each line counts for", async (t) => {
  const r = explain(
    "--type",
    "nginx",
    web("/search?q=pond"),
    web("/static/app.css"),
    web("/wp-login.php", 404),
    "not a log line",
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split("\n\n");
  assert.match(lines[0]!, /event http\.request at 2026-12-08T01:00:00\+00:00/);
  assert.match(lines[0]!, /scenario http-flood: counted under key 203\.0\.113\.7/);
  assert.match(lines[0]!, /surge detection: counted for route:\/search$/m);
  assert.match(lines[1]!, /surge detection: a static asset/);
  assert.match(lines[2]!, /surge detection: counted for route:\(not found\)/);
  assert.match(lines[3]!, /not understood by the nginx parser/);

  // The configuration's route patterns, and its switch.
  const dir = await mkdtemp(join(tmpdir(), "rempart-explain-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "rempart.yaml");
  await writeFile(file, `data_dir: ${dir}\nsurge:\n  routes: ["/petition/:slug"]\n`);
  assert.match(
    explain("--type", "nginx", "--config", file, web("/petition/save-the-pond")).stdout,
    /surge detection: counted for route:\/petition\/:slug/,
  );
  await writeFile(file, `data_dir: ${dir}\nsurge:\n  enabled: false\n`);
  assert.match(
    explain("--type", "nginx", "--config", file, web("/search")).stdout,
    /surge detection: off \(surge\.enabled: false\)/,
  );
});

test("explain refuses a missing type, an unknown one, and no line, saying what to do", () => {
  for (const [args, message] of [
    [["x"], /give the line's format with --type/],
    [["--type", "iis", "x"], /unknown --type "iis"/],
    [["--type", "nginx"], /give at least one log line/],
  ] as const) {
    const r = explain(...args);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, message);
  }
});
