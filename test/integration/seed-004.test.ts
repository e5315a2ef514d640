/**
 * Seed 004, small: a petition's real signers, then the seed's fake signatures ("Jeff Bezos",
 * "Bill Gates", "déso pas déso") from one owner's addresses and an evasive tail of variants,
 * replayed through `rempart replay --type json` with the guard. The targets must hold.
 * The full-size run is bench/guard-petition.ts.
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
  petitionTargets,
  readTruth,
  replayVerdicts,
  score,
  table,
} from "../support/guard-score.ts";
import { prng } from "../support/guard-world.ts";
import { writePetition } from "../support/petition-log.ts";

describe("seed 004: fake signatures on a petition, through the guard", () => {
  it("lets through at most 0.5 % of the fakes, denies at most 0.2 % of real signers and asks at most 5 % of them for more", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-seed-004-"));
    const events = join(dir, "petition.jsonl");
    const truthFile = join(dir, "petition.truth.jsonl");
    const config = join(dir, "rempart.yaml");
    const browser = guardBrowser({ secret: BENCH_SECRET, rnd: prng(41) });
    const written = await writePetition(events, truthFile, {
      real: 2_500,
      scale: 0.03,
      seed: 40,
      browser,
    });
    await writeFile(config, benchConfig(join(dir, "data")));

    const run = await replayVerdicts(events, config, join(dir, "verdicts.jsonl"));
    const truth = await readTruth(truthFile);
    assert.equal(truth.length, written.assessed);
    assert.equal(run.verdicts.size, truth.length, "every form.submit gets one verdict line");
    const s = score(truth, run.verdicts);
    assert.ok(s.abuse.n > 2_000 && s.real.n > 2_000, "both sides are there");
    const detail = `\n${table(s)}\n${missReport(s)}`;
    for (const t of petitionTargets(s))
      assert.ok(met(t), `${t.name}: ${t.value.toFixed(3)} %${detail}`);
  });
});
