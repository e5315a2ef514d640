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
  WEIGHTS,
  stronger,
  type GuardOptions,
  type GuardParts,
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

import type { Prepared } from "./guard.ts";
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
}
