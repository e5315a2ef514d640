import { z } from "zod";
import { parseDuration } from "../../core/index.ts";

const duration = z.string().refine((s) => (parseDuration(s) ?? 0) > 0, {
  message: 'expected a duration such as "30s", "5m"',
});

// Short secrets can be guessed offline from one signed body.
const secret = z
  .string()
  .min(16, { message: "at least 16 characters; make one with `openssl rand -hex 32`" });

// Kept as written, for messages; looked up without case, as HTTP compares header names.
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,64}$/, { message: "an HTTP header name, like X-Signature" });

export const HmacWebhookSchema = z.strictObject({
  secret,
  /** The header carrying the signature. */
  header: headerName.default("X-Signature"),
  encoding: z.enum(["hex", "base64"]).default("hex"),
  /** Text before the signature in the header, like GitHub's `sha256=`. */
  prefix: z.string().max(32).default(""),
  /**
   * A header carrying the time of sending, in seconds since the epoch. When set, the signature
   * covers `<timestamp>.<body>` and a request older or newer than `tolerance` is refused.
   */
  timestamp_header: headerName.optional(),
  tolerance: duration.default("5m"),
});

/** `guard.webhooks` in the configuration (docs/guard-accounts.md). */
export const WebhooksConfigSchema = z.strictObject({
  gocardless: z
    .strictObject({
      /** The webhook endpoint's secret, from GoCardless's dashboard. */
      secret,
      /** The metadata key under which the application stores the account's name. */
      metadata_key: z.string().min(1).max(50).default("account"),
    })
    .optional(),
  hmac: z
    .record(
      z.string().regex(/^[a-z0-9_-]{1,40}$/, { message: "lower-case letters, digits, _ -" }),
      HmacWebhookSchema,
    )
    .default({}),
});

export type WebhooksConfig = z.output<typeof WebhooksConfigSchema>;
export type HmacWebhookConfig = z.output<typeof HmacWebhookSchema>;
