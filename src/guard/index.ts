export type {
  AddressSet,
  AsInfo,
  AsLookup,
  Assessment,
  Counters,
  DomainSet,
  IssuedToken,
  MxChecker,
  MxState,
  PowChallenge,
  PowCheck,
  PowChecked,
  ProofOfWork,
  Submission,
  TokenCheck,
} from "./ports.ts";
export { GuardSectionSchema, guardOptions, nightTest, type GuardSection } from "./config.ts";
export {
  Guard,
  GuardPreparer,
  PASS_FORM,
  WEIGHTS,
  stronger,
  type GuardOptions,
  type GuardParts,
  type PassEarned,
  type Prepared,
} from "./guard.ts";
export { eventFromSubmission, isAssessed, submissionFromEvent } from "./submission.ts";
export {
  GuardConfigSchema,
  GuardNetworks,
  guardPreparer,
  startGuard,
  type GuardConfig,
  type GuardPreparerInit,
  type GuardDeps,
  type RunningGuard,
} from "./compose.ts";

import type { PassEarned, Prepared } from "./guard.ts";
import type { Assessment, IssuedToken, PowChallenge, Submission } from "./ports.ts";

/** What the API and replay need of the guard (the daemon wraps a `Guard` to record events). */
export interface GuardService {
  /** `prepared`: its stateless signals, when an API thread computed them (Guard.assess). */
  assess(s: Submission, prepared?: Prepared): Promise<Assessment>;
  /** `undefined`: this address asked too often; it may ask again later. */
  challenge(form: string, ip: string, now: number): Promise<PowChallenge | undefined>;
  token(
    form: string,
    now: number,
    fields?: readonly string[],
  ): IssuedToken & { readonly minFillMs: number };
  /** The challenge page's proof of work (forward-auth); `undefined` as for `challenge`. */
  passChallenge(ip: string, now: number): Promise<PowChallenge | undefined>;
  /** A pass for `ip` when `payload` solves a challenge of the page at the level it needs. */
  earnPass(payload: string | undefined, ip: string, now: number): Promise<PassEarned>;
  /** Whether one of the cookie values is a valid pass for `ip`: forward-auth's, synchronous. */
  hasPass(values: readonly string[], ip: string, now: number): boolean;
}
