import { z } from "zod";
import { parseDuration } from "../../core/index.ts";
import type { MachineOptions } from "./account-machine.ts";

const duration = z.string().refine((s) => (parseDuration(s) ?? 0) > 0, {
  message: 'expected a duration such as "12h", "7d"',
});

/** `guard.accounts` in the configuration (docs/guard-accounts.md). */
export const AccountsConfigSchema = z.strictObject({
  /** Whether a confirmed e-mail is enough (false) or a cleared payment is needed too (true). */
  require_payment: z.boolean().default(false),
  /** How long an account may wait in pending_email before it expires. */
  pending_email_expiry: duration.default("7d"),
  /** How many `verify` verdicts on an account's submissions put it under review. */
  verify_limit: z.number().int().min(1).max(1000).default(3),
});

export type AccountsConfig = z.output<typeof AccountsConfigSchema>;

export function machineOptions(config: AccountsConfig): MachineOptions {
  return Object.freeze({
    requirePayment: config.require_payment,
    pendingEmailExpiryMs: parseDuration(config.pending_email_expiry)!,
    verifyLimit: config.verify_limit,
  });
}
