export {
  Appeals,
  APPEALS_PER_SENDER,
  LISTED_FROM,
  MAX_APPEAL_MESSAGE,
  type AppealOutcome,
  type AppealsDeps,
  type Forgiven,
  type PublicStanding,
} from "./appeals.ts";
export { scenarioCategories } from "./categories.ts";
export { PeerFeeds, SIGNATURE_HEADER, type PeerFeedsDeps, type PullOutcome } from "./peers.ts";
export {
  confidenceOf,
  networkOf,
  NETWORK_SHARE,
  ReputationBook,
  type EntryView,
  type Observation,
  type Standing,
} from "./reputation-book.ts";
export {
  ReputationConfigSchema,
  type PeerConfig,
  type ReputationConfig,
} from "./reputation-config.ts";
export {
  formatCursor,
  isPublicIp,
  MAX_COMMENT,
  MAX_FEED_PAGE,
  OWN_REPORTER,
  ownReport,
  parseCursor,
  REPORT_INTERVAL_MS,
  Reputation,
  scoreDecision,
  type CheckAnswer,
  type FeedPage,
  type ReportInput,
  type ReportOutcome,
  type ReputationDeps,
} from "./reputation.ts";
export {
  loadSigner,
  parsePublicKey,
  signerFromSeed,
  verifySignature,
  type Signer,
} from "./signing.ts";
