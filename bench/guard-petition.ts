/**
 * Issue #5's petition target: a We-Sign-It-like petition (test/support/petition-log.ts: real
 * signers over days, then the seed's 90,000 fakes and an evasive tail) through
 * `rempart replay --type json`, scored against the ground truth. Prints the verdicts per
 * campaign, the targets, the reasons behind the misses and the replay's speed; exits 1 when a
 * target is missed.
 *
 *   node bench/guard-petition.ts [--real 30000] [--scale 1] [--seed 4] [--config recommended|docs] [--dir bench/out/guard-petition]
 */
import { petitionTargets } from "../test/support/guard-score.ts";
import { writePetition } from "../test/support/petition-log.ts";
import { runAccuracyBench } from "./guard-accuracy-run.ts";

await runAccuracyBench({
  name: "petition",
  title: "Petition replay",
  defaults: { real: 30_000, seed: 4 },
  tor: false,
  generate: (events, truth, _tor, options) => writePetition(events, truth, options),
  targets: petitionTargets,
  describe: (written, s) =>
    `${written.events} events (${s.real.n} real signers, ${s.abuse.n} fakes)`,
});
