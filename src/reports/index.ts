export {
  AbuseReporter,
  LOOKUPS_PER_ROUND,
  MAX_ATTEMPTS,
  type AbuseMessage,
  type AbuseReporterDeps,
  type RoundOutcome,
} from "./abuse-reports.ts";
export { AbuseReportsConfigSchema, type AbuseReportsConfig } from "./abuse-reports-config.ts";
export { createMailer, type Mailer } from "./mailer.ts";
export { abuseContactOf, parseBootstrap, RdapClient, type AbuseContact } from "./rdap.ts";
