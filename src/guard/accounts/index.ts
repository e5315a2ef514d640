export {
  ACCOUNT_CAUSES,
  ACCOUNT_STATES,
  CAUSE_ALIASES,
  TRANSITIONS,
  canonicalCause,
  type AccountCause,
  type AccountState,
  type TransitionRule,
} from "./account-machine.ts";
export {
  AccountBook,
  OPERATOR_ACTIONS,
  movesAccounts,
  type AccountBookOptions,
  type AccountInput,
  type AccountView,
  type Ignored,
  type IgnoredReason,
  type OperatorAction,
  type Transition,
} from "./account-book.ts";
export { AccountsConfigSchema, machineOptions, type AccountsConfig } from "./accounts-config.ts";
