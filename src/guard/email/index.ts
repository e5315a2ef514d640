export {
  DisposableDomains,
  parseDomainList,
  type DisposableDomainsOptions,
} from "./disposable-domains.ts";
export {
  createEmailSignals,
  EmailSignalsConfigSchema,
  type EmailSignals,
  type EmailSignalsConfig,
  type EmailSignalsConfigInput,
} from "./email-config.ts";
export { DnsMxChecker, type DnsMxCheckerOptions, type MxResolver } from "./mx-checker.ts";
export {
  asciiDomain,
  normalizeEmail,
  type EmailAddress,
  type EmailProblem,
} from "./normalize-email.ts";
