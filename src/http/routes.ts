/**
 * The API's routes, declared as data: method, path, who may call it, the schemas of its query,
 * path parameters and body, and what it answers. The dispatcher validates requests with these
 * schemas, and the OpenAPI document and docs/api.md are generated from them, so the three
 * cannot drift apart. Handlers live in api.ts, one per route (the compiler checks that none is
 * missing).
 */
import { z } from "zod";
import {
  ABUSE_REPORT_STATUSES,
  ACTIONS,
  APPEAL_STATUSES,
  isCategory,
  MAX_CATEGORY,
  MAX_DECISION_MS,
  SCOPES,
  parseDuration,
} from "../core/index.ts";
import type { ApiRole } from "../core/ports.ts";
import { ACCOUNT_STATES } from "../guard/accounts/index.ts";
import { asciiDomain } from "../guard/email/index.ts";
import { normalizeIp, parseAsn, parseCidr } from "../net/index.ts";
import { MAX_EVENTS } from "../sources/app-json/index.ts";
import {
  MAX_APPEAL_MESSAGE,
  MAX_COMMENT,
  MAX_FEED_PAGE,
  parseCursor,
} from "../reputation/index.ts";

/**
 * Who may call a route. `public`: anyone. `metrics`: anyone, unless the API was built with
 * `metricsRequireKey`, then any valid key. A list of roles: those roles (admin may call
 * everything, so it is implied).
 */
export type Access = "public" | "metrics" | readonly ApiRole[];

export interface ResponseSpec {
  readonly description: string;
  /** The JSON body, for documentation only (responses are not validated at run time). */
  readonly schema?: z.ZodType;
  /** A body that is not JSON (Prometheus text). */
  readonly contentType?: string;
}

export interface RouteSpec {
  readonly method: "GET" | "POST" | "DELETE";
  /** `/v1/decisions/:id`: a `:name` segment is a path parameter. */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly access: Access;
  readonly query?: z.ZodType;
  readonly params?: z.ZodType;
  readonly body?: z.ZodType;
  /**
   * The body's encodings: JSON only by default; `json-or-form` takes
   * `application/x-www-form-urlencoded` too (AbuseIPDB's clients, curl's `--data`).
   */
  readonly bodyTypes?: "json" | "json-or-form";
  /** Success responses; the error responses follow from `access` and the schemas. */
  readonly responses: Readonly<Record<number, ResponseSpec>>;
}

// ── Shared pieces ──────────────────────────────────────────────────────────────────────────

/** Quotes a piece of user input for a message, cut short so that a message never echoes much. */
export function quote(value: unknown): string {
  const text = typeof value === "string" ? value : String(value);
  const cut = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return JSON.stringify(cut);
}

const ipParam = z
  .string()
  .max(64)
  .refine((v) => normalizeIp(v) !== undefined, {
    error: (iss) => `${quote(iss.input)} is not an IP address`,
  })
  .meta({ description: "An IPv4 or IPv6 address.", examples: ["203.0.113.7"] });

const accountParam = z
  .string()
  .min(1)
  .max(256)
  .meta({ description: "An account name, as the service knows it (SASL user, login)." });

const emailParam = z
  .string()
  .max(320)
  .regex(/^[^@\s]+@[^@\s]+$/, { error: (iss) => `${quote(iss.input)} is not an e-mail address` })
  .meta({ description: "An e-mail address; decisions on its domain apply too." });

const limitParam = (max: number, byDefault: number): z.ZodType<number, string> =>
  z
    .string()
    .regex(/^[0-9]{1,7}$/, { error: (iss) => `${quote(iss.input)} is not a whole number` })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(1, { error: "must be at least 1" })
        .max(max, { error: `must be at most ${max}` }),
    )
    .meta({ description: `How many items at most (1–${max}, default ${byDefault}).` });

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
export { MAX_EVENTS };

const actionSchema = z.enum(ACTIONS);
const scopeSchema = z.enum(SCOPES);

/** A decision as the API shows it. */
export const DecisionView = z.object({
  id: z.string(),
  action: actionSchema,
  scope: scopeSchema,
  value: z.string(),
  created: z.string().meta({ description: "ISO 8601 time of creation." }),
  until: z
    .string()
    .nullable()
    .meta({ description: "ISO 8601 time of expiry; null: until deleted." }),
  scenario: z.string().meta({
    description: "The scenario that raised it, the list it came from, or who made it.",
  }),
  reason: z.string(),
  origin: z.enum(["scenario", "manual", "import", "peer"]),
});

export const AlertView = z.object({
  id: z.string(),
  scenario: z.string(),
  scope: scopeSchema,
  value: z.string(),
  at: z.string().meta({ description: "ISO 8601 time at which the scenario fired." }),
  count: z.number(),
  message: z.string(),
  decisions: z.array(z.string()).meta({ description: "Ids of the decisions it led to." }),
  evidence: z.array(
    z.object({
      event: z.string(),
      time: z.string(),
      ip: z.string().optional(),
      account: z.string().optional(),
    }),
  ),
});

export const ErrorView = z.object({
  code: z.string().meta({ description: "A stable code from docs/errors.md." }),
  message: z.string().meta({ description: "What was wrong, and where." }),
});

const cidrParam = z
  .string()
  .max(64)
  .refine((v) => parseCidr(v) !== undefined, {
    error: (iss) => `${quote(iss.input)} is not a CIDR range`,
  })
  .meta({ description: "CrowdSec: a range, like 192.0.2.0/24.", examples: ["192.0.2.0/24"] });

/** A decision as CrowdSec 1.4's LAPI shows it to bouncers. */
export const CrowdsecDecisionView = z.object({
  duration: z.string().meta({ description: 'Time left, as a Go duration: "3h59m58.5s".' }),
  id: z.number().int(),
  origin: z.string(),
  scenario: z.string(),
  scope: z.enum(["Ip", "Range"]),
  type: z.enum(["ban", "captcha"]),
  value: z.string(),
});

/** Order of strength, strongest first: a check's verdict is the strongest action that applies. */
export const ACTION_STRENGTH: readonly string[] = Object.freeze([
  "ban",
  "suspend",
  "hold",
  "verify",
  "challenge",
  "throttle",
]);

const SubjectQuery = z
  .strictObject({
    ip: ipParam.optional(),
    account: accountParam.optional(),
    email: emailParam.optional(),
  })
  .refine((q) => q.ip !== undefined || q.account !== undefined || q.email !== undefined, {
    error: "give at least one of ip, account, email",
  });

const DecisionValue = z
  .strictObject({
    action: actionSchema,
    scope: scopeSchema,
    value: z
      .string()
      .min(1)
      .max(320)
      .meta({
        description:
          "As the scope reads it: an address, a CIDR range, an AS number (`64496` or " +
          "`AS64496`, kept as `64496`), an account, an e-mail address, a domain name.",
      }),
    duration: z
      .string()
      .max(20)
      .refine((d) => (parseDuration(d) ?? 0) > 0, {
        error: (iss) =>
          `${quote(iss.input)} is not a duration (write it like 30m, 4h, 7d, or null for no expiry)`,
      })
      .refine((d) => (parseDuration(d) ?? 0) <= MAX_DECISION_MS, {
        error: (iss) =>
          `${quote(iss.input)} is longer than 100 years: write null for a decision with no expiry`,
      })
      .nullable()
      .meta({ description: "How long it lasts (`30m`, `4h`, `7d`); null: until deleted." }),
    reason: z.string().min(1).max(500),
  })
  .superRefine((d, ctx) => {
    const bad =
      (d.scope === "ip" && normalizeIp(d.value) === undefined && "an IP address") ||
      (d.scope === "range" && parseCidr(d.value) === undefined && "a CIDR range") ||
      (d.scope === "email" && !/^[^@\s]+@[^@\s]+$/.test(d.value) && "an e-mail address") ||
      (d.scope === "domain" && asciiDomain(d.value) === undefined && "a domain name") ||
      (d.scope === "as" && parseAsn(d.value) < 0 && "an AS number (64496 or AS64496)");
    if (bad !== false)
      ctx.addIssue({ code: "custom", path: ["value"], message: `${quote(d.value)} is not ${bad}` });
  });

const iso8601OrDuration = z
  .string()
  .max(40)
  .refine(
    (s) =>
      parseDuration(s) !== undefined ||
      (/^\d{4}-\d\d-\d\d/.test(s) && !Number.isNaN(Date.parse(s))),
    {
      error: (iss) =>
        `${quote(iss.input)} is neither an ISO 8601 time nor a duration (like 2024-09-28T13:00:00Z or 24h)`,
    },
  )
  .meta({ description: "An ISO 8601 time, or a duration meaning that long ago (`24h`)." });

const formIdParam = z
  .string()
  .regex(/^[A-Za-z0-9_./-]{1,128}$/, {
    error: (iss) => `${quote(iss.input)} is not a form id (letters, digits, _ . / -, at most 128)`,
  })
  .meta({
    description: "The form's id, as configured under `guard.forms`.",
    examples: ["petition"],
  });

/** Most fields one submission may carry, and the longest value. */
export const MAX_GUARD_FIELDS = 64;
const MAX_FIELD_VALUE = 10_000;

const GuardSubmission = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9._:@/-]{1,200}$/, { error: "is not an id (letters, digits, . _ : @ / -)" })
    .optional()
    .meta({ description: "The application's id for the submission; one is made when absent." }),
  kind: z.enum(["signup", "form.submit"]).default("form.submit"),
  form: formIdParam,
  ip: ipParam,
  email: z.string().max(320).optional(),
  account: z.string().min(1).max(256).optional(),
  user_agent: z.string().max(1000).optional(),
  fields: z
    .record(
      z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: "is not a field name" }),
      z.string().max(MAX_FIELD_VALUE, { error: `at most ${MAX_FIELD_VALUE} characters` }),
    )
    .refine((f) => Object.keys(f).length <= MAX_GUARD_FIELDS, {
      error: `at most ${MAX_GUARD_FIELDS} fields`,
    })
    .default({}),
  token: z.string().max(2000).optional().meta({ description: "The page's `rempart_token`." }),
  altcha: z
    .string()
    .max(20_000)
    .optional()
    .meta({ description: "The ALTCHA widget's payload (the form's `altcha` field)." }),
});

// ── Accounts and webhooks (docs/guard-accounts.md) ───────────────────────────────────────

export const AccountHistoryView = z.object({
  seq: z.number().int(),
  at: z.string().meta({ description: "ISO 8601 time of the cause (or of the expiry)." }),
  event: z.string().meta({
    description:
      "The cause's id (the event's, `op:…`, `decision:…`); empty for the clock's expiry.",
  }),
  cause: z.string().meta({ description: "`signup`, `payment.confirmed`, `operator.ban`, …" }),
  from: z.enum(ACCOUNT_STATES),
  to: z.enum(ACCOUNT_STATES),
  outcome: z.enum(["applied", "ignored"]),
  reason: z.string(),
  by: z.string().meta({ description: "The service, provider, guard, clock or API key's name." }),
});

export const AccountView = z.object({
  account: z.string(),
  state: z.enum(ACCOUNT_STATES),
  since: z
    .string()
    .nullable()
    .meta({ description: "ISO 8601 time it entered this state; null while `unknown`." }),
  resume: z.enum(ACCOUNT_STATES).meta({
    description:
      "Where `restore` takes it while restricted, suspended, held or banned; in other states, " +
      "where it would go back to, and of no use until then.",
  }),
  payment_required: z.boolean(),
  expires: z
    .string()
    .nullable()
    .meta({ description: "When a `pending_email` account expires by itself; else null." }),
  history: z.array(AccountHistoryView).meta({ description: "Newest first, at most `limit`." }),
});

const WebhookSummaryView = z.object({
  received: z.number().int(),
  ingested: z.number().int(),
  duplicates: z.number().int().meta({ description: "Events whose id was seen before." }),
  unmapped: z
    .number()
    .int()
    .meta({
      description:
        "Ingested events tied to no account yet. Those that move accounts are kept for 7 days, " +
        "and applied to the account that a later event ties one of their links to.",
    }),
  tied: z
    .number()
    .int()
    .meta({
      description:
        "Events of this request or of earlier ones, kept without an account, that this " +
        "request's events tied to one (a payment's confirmation delivered before its creation).",
    }),
});

const accountIdParam = z.strictObject({
  id: z
    .string()
    .min(1)
    .max(256)
    .meta({ description: "The account's name, as the application reports it (`actor.account`)." }),
});

// ── Reputation (docs/reputation.md) ─────────────────────────────────────────────────────

const categoryList = z
  .union([z.string().max(200), z.array(z.number().int()).max(30)])
  .transform((v, ctx) => {
    const items = typeof v === "string" ? v.split(",").map((c) => c.trim()) : v.map(String);
    const out: number[] = [];
    for (const item of items) {
      const n = /^[0-9]{1,3}$/.test(item) ? Number(item) : NaN;
      if (!isCategory(n)) {
        ctx.addIssue({
          code: "custom",
          message: `${quote(item)} is not a category (a number from 1 to ${MAX_CATEGORY}, as AbuseIPDB numbers them)`,
        });
        return z.NEVER;
      }
      out.push(n);
    }
    if (out.length === 0) {
      ctx.addIssue({ code: "custom", message: "give at least one category" });
      return z.NEVER;
    }
    return out;
  })
  .meta({
    description: "AbuseIPDB's category numbers, comma-separated (`18,22`) or as a JSON array.",
    examples: ["18,22"],
  });

const ReportBody = z.strictObject({
  ip: ipParam,
  categories: categoryList,
  comment: z
    .string()
    .max(MAX_COMMENT, { error: `at most ${MAX_COMMENT} characters` })
    .default("")
    .meta({ description: "What was seen (kept here, never shared with peers)." }),
  timestamp: z
    .string()
    .max(40)
    .refine((s) => /^\d{4}-\d\d-\d\d/.test(s) && !Number.isNaN(Date.parse(s)), {
      error: (iss) => `${quote(iss.input)} is not an ISO 8601 time`,
    })
    .optional()
    .meta({ description: "When it was seen (ISO 8601); default now. Never later than now." }),
});

const wholeNumber = (name: string, min: number, max: number): z.ZodType<number, string> =>
  z
    .string()
    .regex(/^[0-9]{1,7}$/, { error: (iss) => `${quote(iss.input)} is not a whole number` })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { error: `${name} must be at least ${min}` })
        .max(max, { error: `${name} must be at most ${max}` }),
    );

/** A standing as the API shows it: the address's own score and its network's. */
const EntryView = z.object({
  score: z.number().meta({ description: "The decayed sum of report weights, now." }),
  reports: z.number().int(),
  reporters: z.number().int().meta({ description: "Distinct reporters (at most 16 counted)." }),
  first: z.string().meta({ description: "ISO 8601 time of the first report kept." }),
  last: z.string(),
  categories: z.array(z.number().int()),
});

export const ReportView = z.object({
  id: z.string(),
  time: z.string(),
  categories: z.array(z.number().int()),
  weight: z.number(),
  reporter: z.string().meta({
    description: "`rempart` (this site's decisions), `key:<name>` (an API key's), `peer:<name>`.",
  }),
  comment: z.string(),
});

const AppealBody = z.strictObject({
  ip: ipParam,
  contact: z
    .string()
    .max(320)
    .regex(/^([^@\s]+@[^@\s]+)?$/, {
      error: (iss) => `${quote(iss.input)} is not an e-mail address`,
    })
    .default("")
    .meta({ description: "How to answer the person: an e-mail address, or nothing." }),
  message: z
    .string()
    .min(1, { error: "say what happened" })
    .max(MAX_APPEAL_MESSAGE, { error: `at most ${MAX_APPEAL_MESSAGE} characters` }),
});

export const AppealView = z.object({
  id: z.string(),
  ip: z.string(),
  created: z.string(),
  status: z.enum(APPEAL_STATUSES),
  contact: z.string(),
  message: z.string(),
  sender: z.string().meta({ description: "The address the appeal came from." }),
  closed: z.string().nullable(),
  closed_by: z.string(),
  note: z.string(),
});

const PublicStandingView = z.object({
  ip: z.string(),
  listed: z.boolean(),
  decisions: z.array(
    z.object({
      action: z.string(),
      scope: z.string(),
      value: z.string(),
      since: z.string(),
      until: z.string().nullable(),
      source: z.string().meta({
        description: "The scenario, the list's name, or `operator` for a decision made by hand.",
      }),
    }),
  ),
  confidence: z.number().int(),
  appeal: z
    .object({ id: z.string(), status: z.enum(APPEAL_STATUSES), created: z.string() })
    .nullable()
    .meta({ description: "The address's latest appeal, if any." }),
});

const AppealNote = z.strictObject({
  note: z
    .string()
    .max(2000)
    .default("")
    .meta({ description: "The answer, kept with the appeal (for the person, if you reply)." }),
});

// ── The table ──────────────────────────────────────────────────────────────────────────────

export const ROUTES = {
  health: {
    method: "GET",
    path: "/v1/health",
    summary: "Whether the daemon is up",
    description: "Needs no key, for load balancers and service managers.",
    access: "public",
    responses: {
      200: {
        description: "The daemon is running.",
        schema: z.object({
          status: z.literal("ok"),
          version: z.string(),
          uptime: z.number().meta({ description: "Seconds since the daemon started." }),
          activeDecisions: z.number(),
        }),
      },
    },
  },
  check: {
    method: "GET",
    path: "/v1/check",
    summary: "What applies to an address, account or e-mail right now",
    description:
      "Answered from memory, for the hot path of applications and bouncers. Decisions on the " +
      "ranges holding the address and on the e-mail's domain apply too. The verdict is the " +
      `strongest action that applies (${ACTION_STRENGTH.join(" > ")}), or \`allow\`.`,
    access: ["sensor", "bouncer"],
    query: SubjectQuery,
    responses: {
      200: {
        description: "The decisions that apply, and the verdict.",
        schema: z.object({
          subject: z.object({
            ip: z.string().optional(),
            account: z.string().optional(),
            email: z.string().optional(),
          }),
          decisions: z.array(DecisionView),
          verdict: z.enum(["allow", ...ACTIONS]),
        }),
      },
    },
  },
  listDecisions: {
    method: "GET",
    path: "/v1/decisions",
    summary: "List decisions (Rempart's shape, or CrowdSec's for bouncers)",
    description:
      "With the key in `Authorization: Bearer`, Rempart's listing: `scope`, `value`, `action`, " +
      "`active`, `limit`. With the key in `X-Api-Key` — as CrowdSec's bouncers send it — " +
      "CrowdSec's `GET /v1/decisions`: the active address and range decisions a bouncer can " +
      "enforce, filtered by `ip` (decisions on it and on ranges holding it), `range` (with " +
      "`contains`), `scope` (`Ip`, `Range`), `value`, `type` (`ban`, `captcha`), `origins`, " +
      "`scenarios_containing`, `scenarios_not_containing`; answered as a JSON array of " +
      "CrowdSec decisions, or `null` when none. See docs/bouncers.md.",
    access: ["bouncer"],
    query: z.strictObject({
      scope: z
        .string()
        .max(20)
        .refine((s) => (SCOPES as readonly string[]).includes(s.toLowerCase()), {
          error: (iss) => `${quote(iss.input)} is not one of ${SCOPES.join(", ")}`,
        })
        .optional()
        .meta({ description: `One of ${SCOPES.join(", ")} (any case: CrowdSec writes \`Ip\`).` }),
      value: z.string().min(1).max(320).optional(),
      action: actionSchema.optional(),
      active: z
        .enum(["true", "false"])
        .optional()
        .meta({ description: "`true` (default): only decisions in force now." }),
      limit: limitParam(MAX_LIMIT, DEFAULT_LIMIT).optional(),
      ip: ipParam
        .optional()
        .meta({ description: "CrowdSec: decisions that apply to this address." }),
      range: cidrParam.optional(),
      contains: z.enum(["true", "false"]).optional().meta({
        description:
          "CrowdSec, with `range`: `true` (default) for decisions holding the range, `false` for those inside it.",
      }),
      type: z
        .string()
        .max(40)
        .optional()
        .meta({ description: "CrowdSec: `ban` or `captcha` (a Rempart `challenge`)." }),
      origins: z
        .string()
        .max(500)
        .optional()
        .meta({ description: "CrowdSec: origins, comma-separated." }),
      scenarios_containing: z.string().max(500).optional(),
      scenarios_not_containing: z.string().max(500).optional(),
    }),
    responses: {
      200: {
        description:
          "Rempart's shape: the decisions, newest first. CrowdSec's shape (key in X-Api-Key): an array, or null.",
        schema: z.union([
          z.object({ decisions: z.array(DecisionView) }),
          z.array(CrowdsecDecisionView).nullable(),
        ]),
      },
    },
  },
  crowdsecStream: {
    method: "GET",
    path: "/v1/decisions/stream",
    summary: "CrowdSec's decision stream, for bouncers in stream mode",
    description:
      "What this key's bouncer must add and delete since its last pull (the position is kept " +
      "per key). The whole active set when `startup=true`, on the first pull after the daemon " +
      "started, or when the bouncer fell too far behind: in the last two cases with the " +
      "decisions deleted since its last pull, which the database keeps. Only address and range " +
      "decisions with action `ban` (type `ban`) or `challenge` (type `captcha`) are sent. " +
      "See docs/bouncers.md.",
    access: ["bouncer"],
    query: z.strictObject({
      startup: z
        .enum(["true", "false"])
        .optional()
        .meta({ description: "`true`: send the whole active set (the bouncer just started)." }),
      scopes: z
        .string()
        .max(100)
        .optional()
        .meta({ description: "Comma-separated: `ip`, `range`." }),
      origins: z.string().max(500).optional(),
      scenarios_containing: z.string().max(500).optional(),
      scenarios_not_containing: z.string().max(500).optional(),
      // Sent by current CrowdSec clients (go-cs-bouncer) on every pull: which of CrowdSec's
      // community and extra blocklists to include. Rempart has none; taken and ignored.
      community_pull: z
        .enum(["true", "false"])
        .optional()
        .meta({ description: "CrowdSec's: taken and ignored (Rempart has no community list)." }),
      additional_pull: z
        .enum(["true", "false"])
        .optional()
        .meta({ description: "CrowdSec's: taken and ignored." }),
    }),
    responses: {
      200: {
        description: "`new` and `deleted` decisions, each an array or null.",
        schema: z.object({
          deleted: z.array(CrowdsecDecisionView).nullable(),
          new: z.array(CrowdsecDecisionView).nullable(),
        }),
      },
    },
  },
  crowdsecUsageMetrics: {
    method: "POST",
    path: "/v1/usage-metrics",
    summary: "CrowdSec's usage metrics, which current bouncers send: taken, not kept",
    description:
      "Current CrowdSec bouncers report what they blocked every 30 minutes or so. Rempart " +
      "answers as CrowdSec does (201, empty body), so that they do not log an error, and keeps " +
      "nothing: its own counts are in /metrics.",
    access: ["bouncer"],
    body: z.looseObject({
      remediation_components: z.array(z.unknown()).optional(),
      log_processors: z.array(z.unknown()).optional(),
    }),
    responses: { 201: { description: "Taken." } },
  },
  forwardAuth: {
    method: "GET",
    path: "/v1/forward-auth",
    summary: "Forward-auth for nginx auth_request, Caddy forward_auth, Traefik ForwardAuth",
    description:
      "Answers from memory whether the proxy should let a request through. The client is the " +
      "connection's peer, unless the peer is in `http.trusted_proxies`: then the rightmost " +
      "`X-Forwarded-For` hop that is not a trusted proxy, else `X-Real-IP`. Needs no key: it " +
      "only tells whether an address may pass, so keep it on loopback or a private network " +
      "the proxy reaches (see docs/forward-auth.md). The decision taken is in the " +
      "`X-Rempart-Decision` header.",
    access: "public",
    query: z.strictObject({
      redirect: z.enum(["true", "false"]).optional().meta({
        description:
          "`true`: answer a challenge with 302 to the challenge page (Caddy, Traefik) instead of 401.",
      }),
    }),
    responses: {
      200: {
        description:
          "No decision stops this client, or only `challenge` decisions and its `rempart_pass` cookie is valid: let the request through.",
      },
      401: {
        description:
          "A `challenge` applies: `Location` holds `http.challenge_url`, with `return` set to the request's `X-Original-URI` or `X-Forwarded-Uri` when it is a path (nginx: `error_page 401 = @challenge`).",
      },
      302: { description: "With `redirect=true`: a `challenge` applies; go to `Location`." },
      403: { description: "A `ban` applies: refuse the request." },
    },
  },
  challengePage: {
    method: "GET",
    path: "/v1/challenge/",
    summary: "The challenge page: a proof of work that earns a pass (forward-auth)",
    description:
      "Serve it at `http.challenge_url` through the proxy (see docs/forward-auth.md). Its widget " +
      "solves `pow`, trades the solution for a pass at `pass`, then goes back to the page in " +
      "its `return` query parameter. It reads its query in the browser only. In French when " +
      "the visitor's Accept-Language prefers French to English, else in English.",
    access: "public",
    responses: { 200: { description: "The page.", contentType: "text/html; charset=utf-8" } },
  },
  challengeScript: {
    method: "GET",
    path: "/v1/challenge/challenge.js",
    summary: "The challenge page's script",
    access: "public",
    responses: {
      200: { description: "The script.", contentType: "text/javascript; charset=utf-8" },
    },
  },
  challengeWidget: {
    method: "GET",
    path: "/v1/challenge/altcha.js",
    summary: "The ALTCHA widget the challenge page runs",
    access: "public",
    responses: {
      200: {
        description: "The widget (the altcha package).",
        contentType: "text/javascript; charset=utf-8",
      },
    },
  },
  challengeWidgetFrench: {
    method: "GET",
    path: "/v1/challenge/altcha-fr.js",
    summary: "The ALTCHA widget's French strings, which the French challenge page loads",
    access: "public",
    responses: {
      200: {
        description: "The strings (the altcha package's i18n/fr-fr).",
        contentType: "text/javascript; charset=utf-8",
      },
    },
  },
  challengePow: {
    method: "GET",
    path: "/v1/challenge/pow",
    summary: "The challenge page's proof of work",
    description:
      "An ALTCHA challenge for the client address, at least as hard as a challenged address " +
      "gets from `GET /v1/guard/challenge`. One address may fetch " +
      "`guard.challenges_per_address` per short window, counted with that route's.",
    access: "public",
    responses: { 200: { description: "An ALTCHA v2 challenge (JSON, as the widget takes it)." } },
  },
  challengePass: {
    method: "POST",
    path: "/v1/challenge/pass",
    summary: "Trade a solved challenge for a pass",
    description:
      "Sets the `rempart_pass` cookie (HttpOnly, SameSite=Lax, Secure when the proxy says " +
      "`X-Forwarded-Proto: https`) for `guard.pow.pass_duration`. With it, forward-auth lets " +
      "the client's address through `challenge` decisions, never a ban. The pass is bound to " +
      "the address (its /64 for IPv6).",
    access: "public",
    body: z.strictObject({
      altcha: z.string().max(4096).meta({
        description: "The widget's payload for a challenge of `GET /v1/challenge/pow`.",
      }),
      return: z
        .string()
        .max(4096)
        .optional()
        .meta({
          description:
            "Where the page goes next; a path on this site, else `/` is answered instead.",
          examples: ["/articles/42?page=2"],
        }),
    }),
    responses: {
      200: {
        description: "The pass is set.",
        schema: z.object({
          until: z.string().meta({ description: "ISO 8601 time at which the pass expires." }),
          return: z.string().meta({ description: "The vetted `return`: a path on this site." }),
        }),
      },
      403: { description: "The solution is not valid, was used, expired or is too easy." },
    },
  },
  addDecision: {
    method: "POST",
    path: "/v1/decisions",
    summary: "Make a decision by hand",
    description:
      "The safety policy applies as to automatic decisions: an allowlisted subject (loopback, " +
      "private ranges, the host's addresses, configured networks and accounts) or a range wider " +
      "than the limit is refused with 422 DECISION_REFUSED. An active decision of the same " +
      "action on the same subject that lasts at least as long is returned instead (200, " +
      "`merged`); one that ends sooner is replaced by the new one, and ends. A list's decisions " +
      "are its own: they are never merged into nor replaced, and hold beside yours.",
    access: ["admin"],
    body: DecisionValue,
    responses: {
      201: {
        description: "Created.",
        schema: z.object({ decision: DecisionView, merged: z.literal(false) }),
      },
      200: {
        description: "An active decision already covers it; that one is returned.",
        schema: z.object({ decision: DecisionView, merged: z.literal(true) }),
      },
    },
  },
  deleteDecision: {
    method: "DELETE",
    path: "/v1/decisions/:id",
    summary: "End a decision now",
    access: ["admin"],
    params: z.strictObject({
      id: z
        .string()
        .regex(/^[A-Za-z0-9._:-]{1,100}$/, { error: "is not a decision id" })
        .meta({ description: "The decision's id." }),
    }),
    responses: { 204: { description: "Deleted." } },
  },
  ingestEvents: {
    method: "POST",
    path: "/v1/events",
    summary: "Report application events",
    description:
      `A JSON array of events, or \`{ "events": [...] }\`, at most ${MAX_EVENTS} per request. ` +
      "All or nothing: when any event is invalid, the answer lists the first few by index and " +
      "member, and none is ingested. When it answers 202, the events and the decisions they " +
      "led to are stored. An event whose id it took lately (the last 100,000) is not counted " +
      "again: a client may retry a request it had no answer to.",
    access: ["sensor"],
    body: z.union([
      z.array(z.unknown()).max(MAX_EVENTS, { error: `at most ${MAX_EVENTS} events per request` }),
      z.strictObject({
        events: z
          .array(z.unknown(), {
            // One event sent alone lands here: say what the body must be.
            error: (iss) =>
              iss.input === undefined
                ? 'is required: the body is an array of events, or {"events": [...]}'
                : undefined,
          })
          .max(MAX_EVENTS, { error: `at most ${MAX_EVENTS} events per request` }),
      }),
    ]),
    responses: {
      202: {
        description: "Ingested.",
        schema: z.object({
          accepted: z.number().meta({ description: "Events taken now." }),
          duplicates: z.number().meta({
            description: "Events whose id it took lately: not counted again (a retry).",
          }),
        }),
      },
    },
  },
  guardAssess: {
    method: "POST",
    path: "/v1/guard/assess",
    summary: "Assess a sign-up or a form submission",
    description:
      "One call per submission, from the application's server: allow, challenge (solve the " +
      "proof of work that comes with the answer, then submit again), verify (hold it until the " +
      "e-mail is confirmed or the payment clears) or deny, with a score in [0, 1] and the " +
      "reasons. The submission is recorded as a `signup` or `form.submit` event and feeds " +
      "detection. See docs/guard.md.",
    access: ["sensor"],
    body: GuardSubmission,
    responses: {
      200: {
        description: "The verdict.",
        schema: z.object({
          id: z.string(),
          verdict: z.enum(["allow", "challenge", "verify", "deny"]),
          score: z.number(),
          reasons: z.array(z.string()),
          challenge: z
            .record(z.string(), z.unknown())
            .optional()
            .meta({ description: "With `challenge`: an ALTCHA challenge for the widget." }),
        }),
      },
    },
  },
  guardChallenge: {
    method: "GET",
    path: "/v1/guard/challenge",
    summary: "A proof-of-work challenge for the ALTCHA widget",
    description:
      "The widget's `challenge` URL (ALTCHA 3.x; `challengeurl` before): needs no key. Its work follows the client address's risk " +
      "(the connection's peer, or the forwarded address when the peer is in " +
      "`http.trusted_proxies`). Each solution is bound to its form and accepted once. One " +
      "address may fetch `guard.challenges_per_address` per short window.",
    access: "public",
    query: z.strictObject({ form: formIdParam }),
    responses: { 200: { description: "An ALTCHA v2 challenge (JSON, as the widget takes it)." } },
  },
  guardToken: {
    method: "GET",
    path: "/v1/guard/token",
    summary: "A signed form token for a page about to be rendered",
    description:
      "The application's server asks for one per page and renders it in a hidden " +
      "`rempart_token` input, with a hidden honeypot input named by `honeypot`, which people leave " +
      "empty. A submission faster than `min_fill_ms` after the token was issued is suspicious.",
    access: ["sensor"],
    query: z.strictObject({
      form: formIdParam,
      fields: z
        .string()
        .max(4096)
        .optional()
        .meta({
          description:
            "The form's field names, comma-separated (`name,email,comment`): the honeypot is " +
            "named after none of them. The form's identity fields are avoided without it.",
        }),
    }),
    responses: {
      200: {
        description: "The token.",
        schema: z.object({ token: z.string(), honeypot: z.string(), min_fill_ms: z.number() }),
      },
    },
  },
  listAlerts: {
    method: "GET",
    path: "/v1/alerts",
    summary: "List alerts",
    access: ["admin"],
    query: z.strictObject({
      scenario: z.string().min(1).max(100).optional(),
      since: iso8601OrDuration.optional(),
      limit: limitParam(MAX_LIMIT, DEFAULT_LIMIT).optional(),
    }),
    responses: {
      200: {
        description: "The alerts, newest first.",
        schema: z.object({ alerts: z.array(AlertView) }),
      },
    },
  },
  getAccount: {
    method: "GET",
    path: "/v1/accounts/:id",
    summary: "An account's trust state and history",
    description:
      "The state the account is in (unknown, pending_email, email_verified, pending_payment, " +
      "active, restricted, suspended, under_review, banned, closed, expired), since when, and its " +
      "history: every cause applied, the transition it made or why it was ignored. A " +
      "`pending_email` account past its expiry is expired on read. See docs/guard-accounts.md.",
    access: ["sensor"],
    params: accountIdParam,
    query: z.strictObject({ limit: limitParam(MAX_LIMIT, 50).optional() }),
    responses: { 200: { description: "The account.", schema: AccountView } },
  },
  accountAction: {
    method: "POST",
    path: "/v1/accounts/:id/actions",
    summary: "Review, restore, ban or close an account",
    description:
      "An operator's action, recorded in the account's history with the key's name and the " +
      "reason. `restore` takes a restricted, suspended, held or banned account back where it " +
      "was. An action the state has no transition for answers 409 ACCOUNT_TRANSITION_REFUSED " +
      "(and is recorded as ignored). Only `ban` may name an account never heard of (a name " +
      "refused before it signs up); any other action on one answers 404 and records nothing.",
    access: ["admin"],
    params: accountIdParam,
    body: z.strictObject({
      action: z.enum(["review", "restore", "ban", "close"]),
      reason: z.string().min(1).max(500),
    }),
    responses: {
      200: { description: "Applied: the account as it is now.", schema: AccountView },
      404: { description: "No such account, and the action is not `ban` (NOT_FOUND)." },
      409: { description: "No transition from its state (ACCOUNT_TRANSITION_REFUSED)." },
    },
  },
  gocardlessWebhook: {
    method: "POST",
    path: "/v1/webhooks/gocardless",
    summary: "GoCardless's webhook",
    description:
      "Needs no key: authenticated by `Webhook-Signature`, the hex HMAC-SHA256 of the raw " +
      "body with the endpoint's secret (`guard.webhooks.gocardless.secret`). The body is " +
      'GoCardless\'s `{"events": [...]}`. Each event is taken once (by id), tied to an account ' +
      "through the resource's metadata or a known link, and fed to detection and the account's " +
      "state as `<resource>.<action>` (`payment.confirmed`). An event tied to no account yet " +
      "is applied to its account when a later event ties one of its links. " +
      "See docs/guard-accounts.md.",
    access: "public",
    responses: {
      200: { description: "Taken (redeliveries too).", schema: WebhookSummaryView },
      400: { description: "The body is not GoCardless's events (INPUT_INVALID); none is taken." },
      404: { description: "No GoCardless webhook is configured (NOT_FOUND)." },
      413: { description: "The body is larger than 1 MiB (INPUT_INVALID)." },
      498: { description: "The signature is missing or wrong (WEBHOOK_SIGNATURE_INVALID)." },
    },
  },
  hmacWebhook: {
    method: "POST",
    path: "/v1/webhooks/hmac/:name",
    summary: "A generic HMAC-signed webhook carrying application events",
    description:
      "Needs no key: authenticated by an HMAC-SHA256 signature over the raw body (and a " +
      "timestamp, when configured) as `guard.webhooks.hmac.<name>` says. The body is one " +
      'application event, an array of them, or `{"events": [...]}`, in the format of ' +
      "POST /v1/events; each event is taken once (by id). See docs/guard-accounts.md.",
    access: "public",
    params: z.strictObject({
      name: z.string().regex(/^[a-z0-9_-]{1,40}$/, { error: "is not a webhook name" }),
    }),
    responses: {
      200: { description: "Taken (redeliveries too).", schema: WebhookSummaryView },
      400: {
        description: "An event is invalid, or more than 1,000 (INPUT_INVALID); none is taken.",
      },
      401: { description: "The signature is missing, stale or wrong (WEBHOOK_SIGNATURE_INVALID)." },
      404: { description: "No webhook of that name is configured (NOT_FOUND)." },
    },
  },
  openapi: {
    method: "GET",
    path: "/v1/openapi.json",
    summary: "This API's OpenAPI 3.1 document",
    access: "public",
    responses: { 200: { description: "The document." } },
  },
  metrics: {
    method: "GET",
    path: "/metrics",
    summary: "Prometheus metrics",
    description:
      "Needs no key by default: bind the API to localhost or let the reverse proxy protect this " +
      "path, or set `http.metrics_require_key` (then any valid key may read it).",
    access: "metrics",
    responses: {
      200: {
        description: "Prometheus text exposition format.",
        contentType: "text/plain; version=0.0.4; charset=utf-8",
      },
    },
  },
  reputation: {
    method: "GET",
    path: "/v1/reputation/:ip",
    summary: "Why an address is suspect: its score, its network's, the reports",
    description:
      "The address's standing now (a decaying score from this site's decisions, scripts' " +
      "reports and peers' feeds, and its /24 or /64 at a quarter), the decisions in force on " +
      "it, and the newest reports within `max_age`. See docs/reputation.md.",
    access: ["sensor", "bouncer"],
    params: z.strictObject({ ip: ipParam }),
    query: z.strictObject({
      max_age: z
        .string()
        .max(10)
        .refine((d) => (parseDuration(d) ?? 0) > 0, {
          error: (iss) => `${quote(iss.input)} is not a duration (like 30d)`,
        })
        .optional()
        .meta({ description: "How old the listed reports may be (default 30d)." }),
      limit: limitParam(MAX_LIMIT, DEFAULT_LIMIT).optional(),
    }),
    responses: {
      200: {
        description: "The standing.",
        schema: z.object({
          ip: z.string(),
          confidence: z.number().int().meta({ description: "0–100, as AbuseIPDB's." }),
          score: z.number(),
          protected: z
            .string()
            .nullable()
            .meta({ description: "Why it is never acted on (allowlists), or null." }),
          address: EntryView.nullable(),
          network: EntryView.extend({ prefix: z.string() }).nullable(),
          decisions: z.array(DecisionView),
          reports: z.array(ReportView).meta({ description: "Newest first, at most `limit`." }),
          total_reports: z.number().int().meta({ description: "Within `max_age`." }),
        }),
      },
    },
  },
  forgetReputation: {
    method: "DELETE",
    path: "/v1/reputation/:ip",
    summary: "Forget every report about an address",
    description:
      "An operator's answer to a person wrongly listed: the address's reports (this site's, " +
      "scripts', peers') are deleted and leave its score and its network's. Decisions in " +
      "force are not touched (DELETE /v1/decisions/:id). Peers that read this site's reports " +
      "keep them until they fade: the feed carries no withdrawals.",
    access: ["admin"],
    params: z.strictObject({ ip: ipParam }),
    responses: {
      200: {
        description: "How many reports were deleted.",
        schema: z.object({ ip: z.string(), forgotten: z.number().int() }),
      },
    },
  },
  lookup: {
    method: "GET",
    path: "/v1/lookup/:ip",
    summary: "What this site holds against an address, for anyone",
    description:
      "Needs no key: the decisions in force that cover the address (action, scope, since, " +
      "until, and the scenario or list: never a reason, which may name an account), its " +
      "reputation's confidence, and its latest appeal. See docs/reputation.md.",
    access: "public",
    params: z.strictObject({ ip: ipParam }),
    responses: {
      200: { description: "The address's public standing.", schema: PublicStandingView },
    },
  },
  lookupPage: {
    method: "GET",
    path: "/v1/lookup/",
    summary: "The look-up page, with a form to appeal",
    description:
      "An HTML page (English or French, by Accept-Language), for the site's proxy to publish: " +
      "what is held against `ip` (the visitor's own address by default) and, when something " +
      "is, a form that posts an appeal.",
    access: "public",
    query: z.strictObject({
      ip: z.string().max(64).optional(),
      appeal: z.enum(["sent"]).optional(),
    }),
    responses: { 200: { description: "The page.", contentType: "text/html; charset=utf-8" } },
  },
  submitAppeal: {
    method: "POST",
    path: "/v1/appeals",
    summary: "Ask for an address to be forgiven",
    description:
      "Needs no key. Taken only for an address something is held against, one open appeal " +
      "per address, five a day from one sender (409, 429). A form post (the look-up page's) " +
      "is answered with a redirection to the page, or the page with the problem.",
    access: "public",
    body: AppealBody,
    bodyTypes: "json-or-form",
    responses: {
      201: {
        description: "Received.",
        schema: z.object({
          appeal: z.object({ id: z.string(), status: z.literal("open"), created: z.string() }),
        }),
      },
      303: { description: "A form's post: back to the look-up page." },
    },
  },
  listAppeals: {
    method: "GET",
    path: "/v1/appeals",
    summary: "The appeals, newest first",
    access: ["admin"],
    query: z.strictObject({
      status: z
        .enum([...APPEAL_STATUSES, "all"])
        .optional()
        .meta({ description: "`open` (default), `forgiven`, `refused` or `all`." }),
      limit: limitParam(MAX_LIMIT, DEFAULT_LIMIT).optional(),
    }),
    responses: {
      200: { description: "The appeals.", schema: z.object({ appeals: z.array(AppealView) }) },
    },
  },
  forgiveAppeal: {
    method: "POST",
    path: "/v1/appeals/:id/forgive",
    summary: "Grant an appeal: lift the address's own decisions, forget its reports",
    description:
      "Decisions on the address itself are lifted everywhere; those on a range, an AS or from " +
      "a list stay (they are about more than one person) and are listed. 404 when no open " +
      "appeal has this id.",
    access: ["admin"],
    params: z.strictObject({ id: z.string().min(1).max(100) }),
    body: AppealNote,
    responses: {
      200: {
        description: "Granted.",
        schema: z.object({
          appeal: AppealView,
          lifted: z.number().int(),
          forgotten: z.number().int(),
          remaining: z.array(DecisionView),
        }),
      },
    },
  },
  refuseAppeal: {
    method: "POST",
    path: "/v1/appeals/:id/refuse",
    summary: "Refuse an appeal",
    description: "404 when no open appeal has this id.",
    access: ["admin"],
    params: z.strictObject({ id: z.string().min(1).max(100) }),
    body: AppealNote,
    responses: {
      200: { description: "Refused.", schema: z.object({ appeal: AppealView }) },
    },
  },
  listAbuseReports: {
    method: "GET",
    path: "/v1/abuse-reports",
    summary: "The reports to abuse desks, newest first",
    description:
      "What was queued for, sent to, or given up on the abuse desks of the attacking " +
      "networks (docs/abuse-reports.md). 404 when abuse_reports is not enabled.",
    access: ["admin"],
    query: z.strictObject({
      status: z.enum(ABUSE_REPORT_STATUSES).optional(),
      limit: limitParam(MAX_LIMIT, DEFAULT_LIMIT).optional(),
    }),
    responses: {
      200: {
        description: "The reports.",
        schema: z.object({
          reports: z.array(
            z.object({
              id: z.string().meta({ description: "The decision's id." }),
              ip: z.string(),
              created: z.string(),
              scenario: z.string(),
              reason: z.string(),
              categories: z.array(z.number().int()),
              status: z.enum(ABUSE_REPORT_STATUSES),
              contact: z.string(),
              attempts: z.number().int(),
              sent: z.string().nullable(),
              note: z.string().meta({ description: "The server's answer, or the last error." }),
            }),
          ),
        }),
      },
    },
  },
  sendAbuseReports: {
    method: "POST",
    path: "/v1/abuse-reports/send",
    summary: "Send the queued reports now, without waiting for the next round",
    access: ["admin"],
    responses: {
      200: {
        description: "What the round did.",
        schema: z.object({
          sent: z.number().int(),
          messages: z.number().int(),
          no_contact: z.number().int(),
          waiting: z.number().int(),
          failed: z.number().int(),
        }),
      },
    },
  },
  reputationFeed: {
    method: "GET",
    path: "/v1/reputation/feed",
    summary: "This site's own reports, signed, for peers",
    description:
      "Only with `reputation.publish: true` (404 otherwise); needs no key. Pages of this " +
      "site's own reports (its decisions on addresses and its scripts' reports; never a " +
      "peer's, never a comment), oldest first, after the cursor `after` (the previous page's " +
      "`next`). The exact bytes of the body are signed with the site's Ed25519 key, in " +
      "`Rempart-Signature: ed25519=<base64>`; peers pin the key (`rempart reputation key`).",
    access: "public",
    query: z.strictObject({
      after: z
        .string()
        .max(256)
        .refine((c) => parseCursor(c) !== undefined, {
          error: (iss) => `${quote(iss.input)} is not a cursor (the \`next\` of a page)`,
        })
        .optional(),
      limit: limitParam(MAX_FEED_PAGE, MAX_FEED_PAGE).optional(),
    }),
    responses: {
      200: {
        description: "A page of reports.",
        schema: z.object({
          site: z.string(),
          key: z.string().meta({ description: "The public key that signs it: `ed25519:…`." }),
          generated: z.string(),
          reports: z.array(
            z.object({
              id: z.string(),
              time: z.number().int().meta({ description: "ms since the epoch." }),
              ip: z.string(),
              categories: z.array(z.number().int()),
              weight: z.number(),
            }),
          ),
          next: z
            .string()
            .nullable()
            .meta({ description: "Pass it as `after` for the next page; null: nothing yet." }),
        }),
      },
    },
  },
  abuseipdbReport: {
    method: "POST",
    path: "/api/v2/report",
    summary: "AbuseIPDB-compatible: report an address",
    description:
      "AbuseIPDB's API v2 `report`, so that fail2ban's `abuseipdb` action and scripts written " +
      "for AbuseIPDB report to this site. The key may come in AbuseIPDB's `Key` header. Form " +
      "or JSON body. One reporter (key) may report one address once in 15 minutes (429). " +
      "Errors come in AbuseIPDB's shape, `{errors: [{detail, status}]}`.",
    access: ["sensor"],
    body: ReportBody,
    bodyTypes: "json-or-form",
    responses: {
      200: {
        description: "Reported.",
        schema: z.object({
          data: z.object({ ipAddress: z.string(), abuseConfidenceScore: z.number().int() }),
        }),
      },
    },
  },
  abuseipdbCheck: {
    method: "GET",
    path: "/api/v2/check",
    summary: "AbuseIPDB-compatible: what is known of an address",
    description:
      "AbuseIPDB's API v2 `check`, answered from this site's reputation. `countryCode` and " +
      "`domain` are null (no geolocation is kept); `isp` and `usageType` come from the AS data " +
      "when the guard's is loaded.",
    access: ["sensor", "bouncer"],
    query: z.strictObject({
      ipAddress: ipParam,
      maxAgeInDays: wholeNumber("maxAgeInDays", 1, 365)
        .optional()
        .meta({ description: "Reports counted and listed from the last N days (default 30)." }),
      verbose: z
        .string()
        .max(5)
        .optional()
        .meta({ description: "Present (any value): the reports are listed." }),
    }),
    responses: {
      200: {
        description: "The address's record.",
        schema: z.object({ data: z.record(z.string(), z.unknown()) }),
      },
    },
  },
  abuseipdbBlacklist: {
    method: "GET",
    path: "/api/v2/blacklist",
    summary: "AbuseIPDB-compatible: the addresses above a confidence",
    description:
      "AbuseIPDB's API v2 `blacklist`, from this site's reputation, most suspect first. " +
      "`confidenceMinimum` defaults to 75 (AbuseIPDB's is 100: here 100 needs about fifteen " +
      "recent reports). With `plaintext`, or `Accept: text/plain`, one address per line.",
    access: ["sensor", "bouncer"],
    query: z.strictObject({
      confidenceMinimum: wholeNumber("confidenceMinimum", 25, 100).optional(),
      limit: wholeNumber("limit", 1, 500_000).optional().meta({ description: "Default 10,000." }),
      plaintext: z.string().max(5).optional(),
    }),
    responses: {
      200: {
        description: "The addresses.",
        schema: z.object({
          meta: z.object({ generatedAt: z.string() }),
          data: z.array(
            z.object({
              ipAddress: z.string(),
              abuseConfidenceScore: z.number().int(),
              lastReportedAt: z.string(),
            }),
          ),
        }),
      },
    },
  },
} as const satisfies Readonly<Record<string, RouteSpec>>;

export type Routes = typeof ROUTES;
export type RouteName = keyof Routes;

/** What a route's schema yields after validation (`undefined` when it has none). */
export type Parsed<R, K extends "query" | "params" | "body"> =
  R extends Readonly<Record<K, infer S>>
    ? S extends z.ZodType
      ? z.output<S>
      : undefined
    : undefined;
