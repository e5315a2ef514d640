/**
 * The `guard.form_token` section. `min_fill` is the default; a form's own configuration may
 * set its own (a one-field newsletter form is filled faster than a sign-up).
 */
import { z } from "zod";
import { duration } from "../../config/schemas.ts";
import { parseDuration } from "../../core/index.ts";
import type { GuardKeys } from "../pow/index.ts";
import { FormTokens, HONEYPOT_NAMES } from "./form-tokens.ts";

export const FormTokenConfigSchema = z.strictObject({
  /** Oldest token accepted: a form left open longer must be reloaded. */
  max_age: duration.default("2h"),
  /** Shortest time between rendering the form and sending it that a person takes. */
  min_fill: duration.default("3s"),
  /** Names the honeypot field is drawn from, per token. */
  honeypot_names: z
    .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, "expected a field name"))
    .min(1)
    .default([...HONEYPOT_NAMES]),
});

export type FormTokenConfigInput = z.input<typeof FormTokenConfigSchema>;
export type FormTokenConfig = z.output<typeof FormTokenConfigSchema>;

/** The configuration's durations in ms, as FormTokens.verify takes them. */
export interface FormTokenLimits {
  readonly maxAgeMs: number;
  readonly minFillMs: number;
}

export function formTokenLimits(config: FormTokenConfig): FormTokenLimits {
  return Object.freeze({
    maxAgeMs: parseDuration(config.max_age)!,
    minFillMs: parseDuration(config.min_fill)!,
  });
}

export function createFormTokens(config: FormTokenConfig, keys: GuardKeys): FormTokens {
  return new FormTokens({ key: keys.formToken, honeypotNames: config.honeypot_names });
}
