/**
 * The `guard` section: thresholds, the night, the windows, per-form rules and policies
 * (docs/guard.md). Checked without I/O; `guardOptions` compiles it (policies' expressions
 * included) once at start.
 */
import { z } from "zod";
import { duration, positiveDuration, timeZone } from "../config/schemas.ts";
import { parseDuration, RempartError } from "../core/index.ts";
import { compileFilter, fieldsRead } from "../detection/index.ts";
import { POLICY_FIELDS, type FormRules, type GuardOptions, type GuardPolicy } from "./guard.ts";

const Verdict = z.enum(["allow", "challenge", "verify", "deny"]);
const fieldName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)");
const formId = z
  .string()
  .regex(/^[A-Za-z0-9_./-]{1,128}$/, "letters, digits, _ . / - (at most 128)");

const Ramp = (from: number, full: number) =>
  z
    .strictObject({
      from: z.number().int().min(0).default(from),
      full: z.number().int().min(1).default(full),
    })
    .refine((r) => r.full > r.from, { message: "full must be greater than from" })
    .default({ from, full });

export const FormSchema = z.strictObject({
  /** What the form is: a sign-up (creates an account) or a post (a petition, a contact form). */
  kind: z.enum(["signup", "form.submit"]).default("form.submit"),
  /** Groups of fields that together name one identity: [[first_name, last_name], [comment]]. */
  identities: z.array(z.array(fieldName).min(1).max(8)).max(8).default([]),
  require_token: z.boolean().default(true),
  require_pow: z.boolean().default(true),
  /** Default: `guard.form_token.min_fill`. */
  min_fill: duration.optional(),
  /** Default: `guard.form_token.max_age`. */
  token_max_age: duration.optional(),
  /** The least a Tor exit gets. */
  tor: Verdict.default("challenge"),
  /** The least a hosting network gets at night. */
  hosting_at_night: Verdict.default("verify"),
  /** A second accepted submission with the same canonical e-mail is a duplicate. */
  unique_email: z.boolean().default(false),
  /** How much the e-mail signals (disposable, no MX, malformed) weigh: 0 ignores them. */
  email_weight: z.number().min(0).max(2).default(1),
  /** Submissions of one identity over the long window: from where it weighs, and saturates. */
  identity_limit: Ramp(8, 64),
  /** Submissions from one address over the short window: from where it weighs, and saturates. */
  address_limit: Ramp(20, 80),
});
export type FormConfig = z.infer<typeof FormSchema>;

export const GuardSectionSchema = z.strictObject({
  thresholds: z
    .strictObject({
      challenge: z.number().min(0).max(1).default(0.35),
      verify: z.number().min(0).max(1).default(0.6),
      deny: z.number().min(0).max(1).default(0.85),
    })
    .refine((t) => t.challenge <= t.verify && t.verify <= t.deny, {
      message: "thresholds must rise: challenge ≤ verify ≤ deny",
    })
    .default({ challenge: 0.35, verify: 0.6, deny: 0.85 }),
  /** The site's night, in its time zone: hours [from, to). */
  night: z
    .strictObject({
      from: z.number().int().min(0).max(23).default(0),
      to: z.number().int().min(0).max(24).default(6),
      timezone: timeZone.default("UTC"),
    })
    .default({ from: 0, to: 6, timezone: "UTC" }),
  windows: z
    .strictObject({
      short: positiveDuration.default("10m"),
      long: positiveDuration.default("1d"),
    })
    .default({ short: "10m", long: "1d" }),
  /**
   * Challenges one address may fetch from the public `GET /v1/guard/challenge` per short window;
   * past it, 429. Making one costs a key derivation: a flood must not take the daemon's CPU.
   * 0: no limit.
   */
  challenges_per_address: z.number().int().min(0).default(600),
  /** The rules of a form the configuration does not name. */
  defaults: FormSchema.default(FormSchema.parse({})),
  forms: z.record(formId, FormSchema).default({}),
  policies: z
    .array(
      z.strictObject({
        name: fieldName,
        /** An expression over the submission and its signals (docs/guard.md). */
        when: z
          .string()
          .min(1)
          .superRefine((when, ctx) => {
            const problem = policyProblem(when);
            if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
          }),
        verdict: Verdict,
      }),
    )
    .default([]),
});
export type GuardSection = z.infer<typeof GuardSectionSchema>;

/**
 * Why a policy's expression cannot be used, or undefined: it must compile, and read only the
 * signals a policy is given (a misspelt one would never match, silently).
 */
function policyProblem(when: string): string | undefined {
  const r = compileFilter(when);
  if (!r.ok) return `${r.error.message} at column ${r.error.column + 1}`;
  for (const f of fieldsRead(when)) {
    if (!f.name.startsWith("fields.")) continue;
    const name = f.name.slice("fields.".length);
    if (!(POLICY_FIELDS as readonly string[]).includes(name))
      return (
        `${f.name} at column ${f.column + 1} is not a signal a policy reads ` +
        `(fields.${POLICY_FIELDS.join(", fields.")})`
      );
  }
  return undefined;
}

/** The form token's limits that apply where a form does not set its own. */
export interface TokenLimits {
  readonly minFillMs: number;
  readonly maxAgeMs: number;
}

function formRules(f: FormConfig, token: TokenLimits): FormRules {
  return Object.freeze({
    kind: f.kind,
    identities: f.identities,
    requireToken: f.require_token,
    requirePow: f.require_pow,
    minFillMs: f.min_fill === undefined ? token.minFillMs : parseDuration(f.min_fill)!,
    tokenMaxAgeMs: f.token_max_age === undefined ? token.maxAgeMs : parseDuration(f.token_max_age)!,
    tor: f.tor,
    hostingAtNight: f.hosting_at_night,
    uniqueEmail: f.unique_email,
    emailWeight: f.email_weight,
    identityFrom: f.identity_limit.from,
    identityFull: f.identity_limit.full,
    addressFrom: f.address_limit.from,
    addressFull: f.address_limit.full,
  });
}

/** Compiles the section; a policy whose expression does not compile is a configuration error. */
export function guardOptions(
  section: GuardSection,
  token: TokenLimits = { minFillMs: 3000, maxAgeMs: 2 * 3_600_000 },
): GuardOptions {
  const policies: GuardPolicy[] = section.policies.map((p, i) => {
    const r = compileFilter(p.when);
    if (!r.ok)
      throw new RempartError(
        "CONFIG_INVALID",
        `guard.policies[${i}].when (${p.name}): ${r.error.message} at column ${r.error.column + 1}`,
        { hint: "see docs/guard.md for the fields a policy can use" },
      );
    return { name: p.name, when: r.value, verdict: p.verdict };
  });
  return {
    thresholds: section.thresholds,
    challengesPerAddress: section.challenges_per_address,
    defaults: formRules(section.defaults, token),
    forms: new Map(Object.entries(section.forms).map(([id, f]) => [id, formRules(f, token)])),
    policies,
  };
}

/**
 * Whether a time falls in the site's night. The zone's offset is looked up once per hour of
 * time seen (Intl is slow; an assessment must not pay for it each time).
 */
export function nightTest(night: GuardSection["night"]): (time: number) => boolean {
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone: night.timezone,
    hour: "numeric",
    hourCycle: "h23",
  });
  let cachedHourStart = -1;
  let cachedHour = 0;
  const inNight = (h: number): boolean =>
    night.from <= night.to ? h >= night.from && h < night.to : h >= night.from || h < night.to;
  return (time) => {
    const start = time - (time % 3_600_000);
    if (start !== cachedHourStart) {
      cachedHourStart = start;
      cachedHour = Number(format.format(start)) % 24;
    }
    return inNight(cachedHour);
  };
}
