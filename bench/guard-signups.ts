/**
 * Issue #5's sign-up target: two months of an Iroco-like provider's sign-ups
 * (test/support/signup-log.ts: real people, scripted sign-ups at night from VPSs, Tor, throw-away
 * addresses, residential proxies, a Moroccan operator's fake bank accounts) through
 * `rempart replay --type json`, scored against the ground truth. Prints the verdicts per
 * campaign, the targets, the reasons behind the misses and the replay's speed; exits 1 when a
 * target is missed.
 *
 *   node bench/guard-signups.ts [--real 1500] [--scale 1] [--seed 1] [--config recommended|docs] [--dir bench/out/guard-signups]
 */
import { SIGNUP_MISSES, signupTargets } from "../test/support/guard-score.ts";
import { writeSignups } from "../test/support/signup-log.ts";
import { runAccuracyBench } from "./guard-accuracy-run.ts";

await runAccuracyBench({
  name: "signups",
  title: "Sign-ups replay",
  defaults: { real: 1500, seed: 1 },
  tor: true,
  generate: (events, truth, tor, options) => writeSignups(events, truth, tor!, options),
  targets: signupTargets,
  misses: SIGNUP_MISSES,
  describe: (written, s) =>
    `${written.events} events, ${written.assessed ?? 0} sign-ups (${s.real.n} real, ${s.abuse.n} scripted)`,
});
