export {
  GOCARDLESS_BAD_SIGNATURE,
  WebhookReceiver,
  type HeaderReader,
  type WebhookOutcome,
  type WebhookReceiverOptions,
  type WebhookSummary,
} from "./webhook-receiver.ts";
export { parseGocardlessBody, toEvent, type GocardlessEvent } from "./gocardless.ts";
export { hmacSha256, signatureMatches } from "./signature.ts";
export {
  HmacWebhookSchema,
  WebhooksConfigSchema,
  type HmacWebhookConfig,
  type WebhooksConfig,
} from "./webhooks-config.ts";
