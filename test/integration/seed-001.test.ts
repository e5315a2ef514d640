/**
 * Seeds 000 and 001, small: a month of an Iroco-like provider's sign-ups (real people; scripted
 * ones at night from VPSs, from Tor, with throw-away addresses, through residential proxies; a
 * Moroccan operator's fake bank accounts), replayed through `rempart replay --type json` with
 * the guard. The targets must hold. The full-size run is bench/guard-signups.ts.
 */
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { guardBrowser } from "../support/guard-browser.ts";
import {
  BENCH_SECRET,
  benchConfig,
  met,
  missReport,
  readTruth,
  replayVerdicts,
  score,
  SIGNUP_MISSES,
  signupTargets,
  table,
} from "../support/guard-score.ts";
import { prng } from "../support/guard-world.ts";
import { writeSignups } from "../support/signup-log.ts";

describe("seeds 000 and 001: scripted sign-ups, through the guard", () => {
  it("holds or refuses at least 99 % of scripted sign-ups and denies at most 0.5 % of real people", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-seed-001-"));
    const events = join(dir, "signups.jsonl");
    const truthFile = join(dir, "signups.truth.jsonl");
    const tor = join(dir, "tor-exits.txt");
    const config = join(dir, "rempart.yaml");
    const browser = guardBrowser({ secret: BENCH_SECRET, rnd: prng(11) });
    const written = await writeSignups(events, truthFile, tor, {
      real: 800,
      days: 30,
      scale: 0.6,
      seed: 10,
      browser,
    });
    await writeFile(config, benchConfig(join(dir, "data"), tor));

    const run = await replayVerdicts(events, config, join(dir, "verdicts.jsonl"));
    const truth = await readTruth(truthFile);
    assert.equal(truth.length, written.assessed);
    assert.equal(run.verdicts.size, truth.length, "every sign-up gets one verdict line");
    const s = score(truth, run.verdicts, SIGNUP_MISSES);
    assert.ok(s.abuse.n > 200 && s.real.n > 700, "both sides are there");
    const detail = `\n${table(s)}\n${missReport(s)}`;
    for (const t of signupTargets(s))
      assert.ok(met(t), `${t.name}: ${t.value.toFixed(3)} %${detail}`);
  });
});
