export { DecisionBook, type Subject } from "./decision-book.ts";
export { DecisionFeed } from "./decision-feed.ts";
export {
  DecisionPolicy,
  DEFAULT_POLICY,
  type DecisionWish,
  type PolicyConfig,
  type PolicyOutcome,
} from "./decision-policy.ts";
