/**
 * The HTTP API as a pure function: a request (method, path, query, headers, body bytes) in, a
 * response (status, headers, body) out. No socket here — tests call `handle` in-process, and
 * http-server.ts adapts it to node:http.
 */
import {
  formatTime,
  isRempartError,
  parseDuration,
  RecentKeys,
  type Alert,
  type Decision,
  type Scope,
  type Event,
  type ParseError,
} from "../core/index.ts";
import type { RuntimeCounters, Runtime } from "../daemon/runtime.ts";
import { DecisionPolicy } from "../decisions/index.ts";
import {
  BouncerCursors,
  covers,
  crowdsecJson,
  crowdsecList,
  CrowdsecIds,
  passes,
  type CrowdsecFilter,
} from "./crowdsec.ts";
import { TrustedProxies } from "./forward-auth.ts";
import { ChallengePage, originalPath, passCookie, sitePath, withReturn } from "./challenge-page.ts";
import { normalizeIp, parseCidr } from "../net/index.ts";
import { parseAppEvent } from "../sources/app-json/index.ts";
import type { AccountView as AccountState } from "../guard/accounts/index.ts";
import type { AccountHistoryRecord, AppealRecord, ReportRecord } from "../core/ports.ts";
import { lookupPage } from "./lookup-page.ts";
import {
  MAX_FEED_PAGE,
  parseCursor,
  SIGNATURE_HEADER,
  type EntryView,
} from "../reputation/index.ts";
import type { WebhookOutcome } from "../guard/webhooks/index.ts";
import type { GuardService } from "../guard/index.ts";
import { cookieValues, PASS_COOKIE } from "../guard/pow/index.ts";
import {
  ApiKeyVerifier,
  keyFromHeaders,
  type ApiKeyVerifierOptions,
  type Caller,
} from "./api-keys.ts";
import { createMetrics, type ApiMetrics } from "./metrics.ts";
import { openApiDocument } from "./openapi.ts";
import {
  ACTION_STRENGTH,
  DEFAULT_LIMIT,
  ROUTES,
  quote,
  type Parsed,
  type RouteName,
  type RouteSpec,
  type Routes,
} from "./routes.ts";
import {
  guardSubmission,
  HttpError,
  invalid,
  jsonBody,
  jsonOrFormBody,
  validate,
  type ApiRequest,
  type ApiResponse,
} from "./requests.ts";

export type { ApiRequest, ApiResponse, HeaderValue, PreparedRequest } from "./requests.ts";

export interface ApiOptions {
  /** Reported by /v1/health and in the OpenAPI document. */
  readonly version?: string;
  /** Whether GET /metrics needs a key (any valid one). Default false: bind to localhost instead. */
  readonly metricsRequireKey?: boolean;
  readonly keyCache?: ApiKeyVerifierOptions;
  /** Networks of reverse proxies whose forwarding headers are believed (forward-auth). */
  readonly trustedProxies?: readonly string[];
  /** Where forward-auth sends a client that a `challenge` decision applies to. */
  readonly challengeUrl?: string;
  /** Where unexpected errors go (never to the client). Default: stderr. */
  readonly logError?: (context: string, error: unknown) => void;
}

export interface Api {
  handle(request: ApiRequest): Promise<ApiResponse>;
  /** The key verifier, to `forget` a key deleted by this process. */
  readonly keys: ApiKeyVerifier;
  /** /metrics' sources added after the API was made (the API threads). */
  readonly metrics: Pick<ApiMetrics, "threads">;
}

// ── Responses ──────────────────────────────────────────────────────────────────────────────

const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
});

const json = (status: number, value: unknown): ApiResponse => ({
  status,
  headers: JSON_HEADERS,
  body: JSON.stringify(value),
});

const STATUS_OF: Readonly<Record<string, number>> = {
  INPUT_INVALID: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  DECISION_REFUSED: 422,
  APPEAL_REFUSED: 409,
};

function guardOf(runtime: Runtime): GuardService {
  if (runtime.guard === undefined)
    throw new HttpError(503, "UNAVAILABLE", "the guard is not running on this node");
  return runtime.guard;
}

/** An address past `guard.challenges_per_address`. */
const tooManyChallenges = (): HttpError =>
  new HttpError(
    429,
    "RATE_LIMITED",
    "too many challenges asked from this address; try again later",
    {
      "retry-after": "30",
    },
  );

function errorResponse(e: HttpError): ApiResponse {
  return {
    status: e.status,
    headers: e.headers === undefined ? JSON_HEADERS : { ...JSON_HEADERS, ...e.headers },
    body: JSON.stringify({ code: e.code, message: e.message }),
  };
}

// ── Views ──────────────────────────────────────────────────────────────────────────────────

const decisionView = (d: Decision) => ({
  id: d.id,
  action: d.action,
  scope: d.scope,
  value: d.value,
  created: formatTime(d.createdAt, d.tzOffset),
  until: d.expiresAt === null ? null : formatTime(d.expiresAt, d.tzOffset),
  scenario: d.scenario,
  reason: d.reason,
  origin: d.origin,
});

// Decisions are immutable and a hot one is checked again and again: serialise it once. The book
// keeps the objects of the decisions it made last, so a hot one keeps its entry here.
const decisionJsonCache = new WeakMap<Decision, string>();
function decisionJson(d: Decision): string {
  let text = decisionJsonCache.get(d);
  if (text === undefined) {
    text = JSON.stringify(decisionView(d));
    decisionJsonCache.set(d, text);
  }
  return text;
}

const alertView = (a: Alert) => ({
  id: a.id,
  scenario: a.scenario,
  scope: a.scope,
  value: a.value,
  at: formatTime(a.at, a.tzOffset),
  count: a.count,
  message: a.message,
  decisions: a.decisions,
  evidence: a.evidence.map((e) => ({ ...e, time: formatTime(e.time, a.tzOffset) })),
});

function verdict(decisions: readonly Decision[]): string {
  let best = ACTION_STRENGTH.length;
  for (const d of decisions) {
    const i = ACTION_STRENGTH.indexOf(d.action);
    if (i >= 0 && i < best) best = i;
  }
  return ACTION_STRENGTH[best] ?? "allow";
}

// ── Handlers ───────────────────────────────────────────────────────────────────────────────

interface Context<R> {
  readonly query: Parsed<R, "query">;
  readonly params: Parsed<R, "params">;
  readonly body: Parsed<R, "body">;
  /** Undefined on public routes. */
  readonly caller: Caller | undefined;
  readonly now: number;
  readonly request: ApiRequest;
}

type Handlers = {
  readonly [K in RouteName]: (ctx: Context<Routes[K]>) => ApiResponse | Promise<ApiResponse>;
};

/** How many invalid events a refusal lists. */
const SHOWN_BAD_EVENTS = 5;

interface HandlerDeps {
  readonly runtime: Runtime;
  readonly version: string;
  readonly openapi: () => string;
  readonly metrics: () => Promise<ApiResponse>;
  readonly proxies: TrustedProxies;
  readonly challengeUrl: string | undefined;
}

const CROWDSEC_ONLY = [
  "ip",
  "range",
  "contains",
  "type",
  "origins",
  "scenarios_containing",
  "scenarios_not_containing",
] as const;
const REMPART_ONLY = ["action", "active", "limit"] as const;

/** CrowdSec's protocol sends the key as X-Api-Key; Rempart's clients as a bearer token. */
const speaksCrowdsec = (request: ApiRequest): boolean =>
  request.headers?.["x-api-key"] !== undefined && request.headers.authorization === undefined;

const commaList = (s: string | undefined): string[] | undefined =>
  s === undefined
    ? undefined
    : s
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x !== "");

const FORWARD_HEADERS = (decision: string): Record<string, string> => ({
  "content-type": "text/plain; charset=utf-8",
  "cache-control": "no-store",
  "x-rempart-decision": decision,
});

function handlers(deps: HandlerDeps): Handlers {
  const { runtime, version, openapi, metrics, proxies, challengeUrl } = deps;
  const cursors = new BouncerCursors(runtime.feed, runtime.storage);
  const challengePage = new ChallengePage();
  /** The client a public route answers (the forwarded address from a trusted proxy). */
  const clientOf = (request: ApiRequest): string => {
    const ip = proxies.clientAddress(request.remoteAddress, request.headers ?? {});
    if (ip === undefined)
      throw invalid("the client address is unknown, or a forwarding header is not an address");
    return ip;
  };
  const ids = new CrowdsecIds();
  /** Ids of the events POST /v1/events took lately (a retry's are not counted twice). */
  const recentEvents = new RecentKeys(100_000);
  let assessments = 0;
  const crowdsecArray = (decisions: readonly Decision[], now: number): string =>
    crowdsecList(decisions.map((d) => crowdsecJson(d, ids.of(d), now)));
  // Another active decision with the same subject and action: its deletion must not be sent.
  const stillHeld = (gone: Decision): boolean => runtime.heldByAnother(gone);

  function crowdsecDecisions(
    query: Parsed<Routes["listDecisions"], "query">,
    now: number,
  ): ApiResponse {
    for (const k of REMPART_ONLY)
      if (query[k] !== undefined)
        throw invalid(
          `query.${k}: is a parameter of Rempart's listing; send the key as Authorization: Bearer to use it`,
        );
    const scope = query.scope?.toLowerCase();
    const type = query.type?.toLowerCase();
    const range = query.range === undefined ? undefined : parseCidr(query.range);
    const filter: CrowdsecFilter = {
      contains: query.contains !== "false",
      ...(range !== undefined && { range }),
      ...(scope === "ip" || scope === "range" ? { scope } : {}),
      ...(query.value !== undefined && {
        value:
          scope === "ip" || scope === "range"
            ? DecisionPolicy.normalize(scope, query.value)
            : query.value,
      }),
      ...(type === "ban" || type === "captcha" ? { type } : {}),
      ...(query.origins !== undefined && { origins: commaList(query.origins)! }),
      ...(query.scenarios_containing !== undefined && {
        scenariosContaining: commaList(query.scenarios_containing)!,
      }),
      ...(query.scenarios_not_containing !== undefined && {
        scenariosNotContaining: commaList(query.scenarios_not_containing)!,
      }),
    };
    // A scope or type a bouncer is never sent matches nothing, as in CrowdSec.
    const nothing =
      (scope !== undefined && scope !== "ip" && scope !== "range") ||
      (type !== undefined && type !== "ban" && type !== "captcha");
    let found: readonly Decision[];
    if (nothing) found = [];
    else if (query.ip !== undefined) {
      const ip = normalizeIp(query.ip) ?? query.ip;
      found = runtime.check({ ip }).filter((d) => covers(d, ip) && passes(d, filter));
    } else if (filter.scope === "ip" && filter.value !== undefined) {
      const ip = filter.value;
      found = runtime.check({ ip }).filter((d) => d.scope === "ip" && passes(d, filter));
    } else found = runtime.activeDecisions().filter((d) => passes(d, filter));
    return { status: 200, headers: JSON_HEADERS, body: crowdsecArray(found, now) };
  }

  return {
    health: ({ now }) => {
      const c: RuntimeCounters = runtime.counters();
      return json(200, {
        status: "ok",
        version,
        uptime: Math.max(0, Math.floor((now - c.startedAt) / 1000)),
        activeDecisions: c.activeDecisions,
      });
    },

    check: ({ query }) => {
      const subject: { ip?: string; account?: string; email?: string } = {};
      if (query.ip !== undefined) subject.ip = normalizeIp(query.ip) ?? query.ip;
      if (query.account !== undefined) subject.account = query.account;
      if (query.email !== undefined) subject.email = query.email.toLowerCase();
      const decisions = runtime.check(subject);
      let list = "";
      for (const d of decisions) list += list === "" ? decisionJson(d) : `,${decisionJson(d)}`;
      return {
        status: 200,
        headers: JSON_HEADERS,
        body: `{"subject":${JSON.stringify(subject)},"decisions":[${list}],"verdict":"${verdict(decisions)}"}`,
      };
    },

    listDecisions: async ({ query, now, request }) => {
      if (speaksCrowdsec(request)) return crowdsecDecisions(query, now);
      for (const k of CROWDSEC_ONLY)
        if (query[k] !== undefined)
          throw invalid(
            `query.${k}: is a parameter of CrowdSec's GET /v1/decisions; send the key as X-Api-Key to use it`,
          );
      if (query.scope !== undefined && query.scope !== query.scope.toLowerCase())
        throw invalid(`query.scope: write it in lower case (${quote(query.scope.toLowerCase())})`);
      const scope = query.scope as Scope | undefined;
      const value =
        query.value === undefined
          ? undefined
          : scope === undefined
            ? query.value
            : DecisionPolicy.normalize(scope, query.value);
      const decisions = await runtime.listDecisions({
        ...(scope !== undefined && { scope }),
        ...(value !== undefined && { value }),
        ...(query.action !== undefined && { action: query.action }),
        ...(query.active !== "false" && { activeAt: now }),
        limit: query.limit ?? DEFAULT_LIMIT,
      });
      return json(200, { decisions: decisions.map(decisionView) });
    },

    addDecision: async ({ body, caller }) => {
      const outcome = await runtime.addDecision({
        action: body.action,
        scope: body.scope,
        value: body.value,
        durationMs: body.duration === null ? null : (parseDuration(body.duration) ?? 0),
        reason: body.reason,
        author: caller?.name ?? "api",
        origin: "manual",
      });
      switch (outcome.kind) {
        case "created":
          return json(201, { decision: decisionView(outcome.decision), merged: false });
        case "merged":
          return json(200, { decision: decisionView(outcome.decision), merged: true });
        case "refused":
          throw new HttpError(422, "DECISION_REFUSED", outcome.reason);
      }
    },

    deleteDecision: async ({ params }) => {
      if (!(await runtime.deleteDecision(params.id)))
        throw new HttpError(404, "NOT_FOUND", `no active decision has the id ${quote(params.id)}`);
      return { status: 204, headers: { "cache-control": "no-store" } };
    },

    ingestEvents: async ({ body }) => {
      const items = Array.isArray(body) ? body : body.events;
      const events: Event[] = [];
      const bad: string[] = [];
      let badCount = 0;
      for (let i = 0; i < items.length; i++) {
        const r = parseAppEvent(items[i], `body${Array.isArray(body) ? "" : ".events"}[${i}]`);
        if (r.ok) events.push(r.value);
        else if (++badCount <= SHOWN_BAD_EVENTS) bad.push(eventProblem(r.error));
      }
      if (badCount > 0) {
        const more = badCount > SHOWN_BAD_EVENTS ? `; and ${badCount - SHOWN_BAD_EVENTS} more` : "";
        throw invalid(
          `${badCount} of ${items.length} events are invalid, none was ingested: ${bad.join("; ")}${more}`,
        );
      }
      // An event sent again (a client retrying a request it had no answer to) is not counted
      // twice by detection: its id is remembered. Claimed before ingesting, so that two
      // requests at once cannot both take it, and given back if the ingest fails.
      const fresh = events.filter((e) => recentEvents.add(e.id));
      try {
        if (fresh.length > 0) await runtime.ingest(fresh);
      } catch (e) {
        for (const f of fresh) recentEvents.delete(f.id);
        throw e;
      }
      return json(202, { accepted: fresh.length, duplicates: events.length - fresh.length });
    },

    guardAssess: async ({ body, now, request }) => {
      const guard = guardOf(runtime);
      // An API thread read the request, and checked the stateless signals at its own time.
      const prepared = request.prepared?.guard;
      const time = prepared?.time ?? now;
      const id = body.id ?? `g-${time.toString(36)}-${(++assessments).toString(36)}`;
      const s = guardSubmission(body, id, time);
      const a = await guard.assess(s, prepared?.signals);
      return json(200, { id: s.id, ...a });
    },

    guardChallenge: async ({ query, request, now }) => {
      const ip = clientOf(request);
      const challenge = await guardOf(runtime).challenge(query.form, ip, now);
      if (challenge === undefined) throw tooManyChallenges();
      return { status: 200, headers: JSON_HEADERS, body: JSON.stringify(challenge) };
    },

    guardToken: ({ query, now }) => {
      const fields = (query.fields ?? "")
        .split(",")
        .map((f) => f.trim())
        .filter(Boolean);
      const t = guardOf(runtime).token(query.form, now, fields);
      return json(200, { token: t.token, honeypot: t.honeypot, min_fill_ms: t.minFillMs });
    },

    listAlerts: async ({ query, now }) => {
      let since: number | undefined;
      if (query.since !== undefined) {
        const ago = parseDuration(query.since);
        since = ago === undefined ? Date.parse(query.since) : now - ago;
      }
      const alerts = await runtime.listAlerts({
        ...(query.scenario !== undefined && { scenario: query.scenario }),
        ...(since !== undefined && { since }),
        limit: query.limit ?? DEFAULT_LIMIT,
      });
      return json(200, { alerts: alerts.map(alertView) });
    },

    crowdsecStream: async ({ query, caller, now }) => {
      const scopes = commaList(query.scopes?.toLowerCase());
      const filter: CrowdsecFilter = {
        contains: true,
        ...(query.origins !== undefined && { origins: commaList(query.origins)! }),
        ...(query.scenarios_containing !== undefined && {
          scenariosContaining: commaList(query.scenarios_containing)!,
        }),
        ...(query.scenarios_not_containing !== undefined && {
          scenariosNotContaining: commaList(query.scenarios_not_containing)!,
        }),
      };
      const wanted = (d: Decision): boolean =>
        passes(d, filter) && (scopes === undefined || scopes.includes(d.scope));
      // Keyed routes always have a caller; the key's id is the bouncer's identity.
      const { added, deleted } = await cursors.pull(
        caller!.id,
        query.startup === "true",
        now,
        () => runtime.activeDecisions(),
        stillHeld,
      );
      return {
        status: 200,
        headers: JSON_HEADERS,
        body: `{"deleted":${crowdsecArray(deleted.filter(wanted), now)},"new":${crowdsecArray(added.filter(wanted), now)}}`,
      };
    },

    crowdsecUsageMetrics: () => ({ status: 201, headers: { "cache-control": "no-store" } }),

    forwardAuth: ({ query, request, now }) => {
      const ip = clientOf(request);
      const decisions = runtime.check({ ip });
      let ban = false;
      let challenge = false;
      for (const d of decisions) {
        if (d.action === "ban") ban = true;
        else if (d.action === "challenge") challenge = true;
      }
      if (ban) return { status: 403, headers: FORWARD_HEADERS("ban"), body: "Forbidden\n" };
      if (challenge) {
        // Solved on the challenge page: a pass answers challenges, never a ban.
        const passes = cookieValues(request.headers?.cookie, PASS_COOKIE);
        if (passes.length > 0 && runtime.guard?.hasPass(passes, ip, now) === true)
          return { status: 200, headers: FORWARD_HEADERS("pass"), body: "" };
        const headers = FORWARD_HEADERS("challenge");
        if (challengeUrl !== undefined)
          headers.location = withReturn(challengeUrl, originalPath(request.headers));
        return query.redirect === "true" && challengeUrl !== undefined
          ? { status: 302, headers, body: "" }
          : { status: 401, headers, body: "Challenge required\n" };
      }
      return { status: 200, headers: FORWARD_HEADERS("allow"), body: "" };
    },

    challengePage: ({ request }) => {
      const accept = request.headers?.["accept-language"];
      return challengePage.page(typeof accept === "string" ? accept : undefined);
    },
    challengeScript: () => challengePage.script("script"),
    challengeWidget: () => challengePage.script("widget"),
    challengeWidgetFrench: () => challengePage.script("widget-fr"),

    challengePow: async ({ request, now }) => {
      const ip = clientOf(request);
      const challenge = await guardOf(runtime).passChallenge(ip, now);
      if (challenge === undefined) throw tooManyChallenges();
      return { status: 200, headers: JSON_HEADERS, body: JSON.stringify(challenge) };
    },

    challengePass: async ({ body, request, now }) => {
      const ip = clientOf(request);
      const earned = await guardOf(runtime).earnPass(body.altcha, ip, now);
      if (!earned.ok)
        throw new HttpError(
          403,
          "POW_REFUSED",
          `the proof of work was refused (${earned.reason}): solve a new challenge`,
        );
      return {
        status: 200,
        headers: {
          ...JSON_HEADERS,
          "set-cookie": passCookie(earned.value, earned.expiresAt - now, request.headers),
        },
        body: JSON.stringify({
          until: new Date(earned.expiresAt).toISOString(),
          return: sitePath(body.return) ?? "/",
        }),
      };
    },

    getAccount: async ({ params, query, now }) => {
      const accounts = accountsOf(runtime);
      const account = await accounts.get(params.id, now);
      if (account === undefined)
        throw new HttpError(404, "NOT_FOUND", `no account ${quote(params.id)} is known`);
      return json(200, accountView(account, await accounts.history(params.id, query.limit ?? 50)));
    },

    accountAction: async ({ params, body, caller, now }) => {
      const accounts = accountsOf(runtime);
      // Only a ban may name an account never heard of (a name to refuse before it signs up):
      // any other action on it is a typo, and leaves nothing behind.
      if (body.action !== "ban" && (await accounts.get(params.id, now)) === undefined)
        throw new HttpError(404, "NOT_FOUND", `no account ${quote(params.id)} is known`);
      const outcome = await accounts.apply({
        kind: "operator",
        account: params.id,
        action: body.action,
        time: now,
        by: caller?.name ?? "api",
        reason: body.reason,
      });
      if (outcome.kind === "ignored")
        throw new HttpError(409, "ACCOUNT_TRANSITION_REFUSED", outcome.message);
      const account = await accounts.get(params.id, now);
      return json(200, accountView(account!, await accounts.history(params.id, 50)));
    },

    gocardlessWebhook: async ({ request, now }) =>
      webhookResponse(
        await webhooksOf(runtime).gocardless(
          request.body ?? new Uint8Array(),
          headerOf(request),
          now,
        ),
      ),

    hmacWebhook: async ({ params, request, now }) =>
      webhookResponse(
        await webhooksOf(runtime).hmac(
          params.name,
          request.body ?? new Uint8Array(),
          headerOf(request),
          now,
        ),
      ),

    reputation: async ({ params, query, now }) => {
      const reputation = reputationOf(runtime);
      const ip = normalizeIp(params.ip)!;
      const maxAge = parseDuration(query.max_age ?? "30d")!;
      const answer = await reputation.check(ip, now, maxAge, query.limit ?? DEFAULT_LIMIT);
      const { standing } = answer;
      const entry = (e: EntryView | undefined) =>
        e === undefined
          ? null
          : {
              score: round3(e.score),
              reports: e.reports,
              reporters: e.reporters,
              first: formatTime(e.first, 0),
              last: formatTime(e.last, 0),
              categories: e.categories,
            };
      return json(200, {
        ip,
        confidence: standing.confidence,
        score: round3(standing.score),
        protected: answer.protection ?? null,
        address: entry(standing.address),
        network:
          standing.network === undefined
            ? null
            : { prefix: standing.network.prefix, ...entry(standing.network) },
        decisions: runtime.check({ ip }).map(decisionView),
        reports: answer.reports.map(reportView),
        total_reports: answer.total,
      });
    },

    forgetReputation: async ({ params }) => {
      const ip = normalizeIp(params.ip)!;
      return json(200, { ip, forgotten: await reputationOf(runtime).forget(ip) });
    },

    lookup: async ({ params, now }) =>
      json(200, await appealsOf(runtime).lookup(normalizeIp(params.ip)!, now)),

    lookupPage: async ({ query, request, now }) => {
      const appeals = appealsOf(runtime);
      const acceptLanguage = headerOf(request)("accept-language");
      const asked = query.ip === undefined ? undefined : normalizeIp(query.ip.trim());
      const ip = asked ?? clientOf(request);
      return lookupPage({
        acceptLanguage,
        standing: await appeals.lookup(ip, now),
        ip,
        sent: query.appeal === "sent",
        ...(query.ip !== undefined && asked === undefined
          ? { problem: `${quote(query.ip)} is not an IP address`, status: 400 }
          : {}),
      });
    },

    submitAppeal: async ({ body, request, now }) => {
      const appeals = appealsOf(runtime);
      const ip = normalizeIp(body.ip)!;
      const outcome = await appeals.submit(
        { ip, contact: body.contact, message: body.message, sender: clientOf(request) },
        now,
      );
      const fromForm = !(headerOf(request)("content-type") ?? "").startsWith("application/json");
      if (!outcome.ok) {
        const status = outcome.reason === "too-many" ? 429 : 409;
        if (fromForm)
          return lookupPage({
            acceptLanguage: headerOf(request)("accept-language"),
            standing: await appeals.lookup(ip, now),
            ip,
            sent: false,
            problem: outcome.message,
            status,
          });
        throw new HttpError(
          status,
          status === 429 ? "RATE_LIMITED" : "APPEAL_REFUSED",
          outcome.message,
          outcome.retryAfterMs === undefined
            ? {}
            : { "retry-after": String(Math.ceil(outcome.retryAfterMs / 1000)) },
        );
      }
      if (fromForm)
        return {
          status: 303,
          headers: {
            location: `lookup/?ip=${encodeURIComponent(ip)}&appeal=sent`,
            "cache-control": "no-store",
          },
          body: "",
        };
      const a = outcome.appeal;
      return json(201, {
        appeal: { id: a.id, status: a.status, created: formatTime(a.createdAt, 0) },
      });
    },

    listAppeals: async ({ query }) => {
      const status = query.status ?? "open";
      const list = await appealsOf(runtime).list({
        ...(status === "all" ? {} : { status }),
        limit: query.limit ?? DEFAULT_LIMIT,
      });
      return json(200, { appeals: list.map(appealView) });
    },

    forgiveAppeal: async ({ params, body, caller, now }) => {
      const done = await appealsOf(runtime).forgive(
        params.id,
        caller?.name ?? "api",
        body.note,
        now,
      );
      if (done === undefined) throw noOpenAppeal(params.id);
      return json(200, {
        appeal: appealView(done.appeal),
        lifted: done.decisions,
        forgotten: done.reports,
        remaining: done.remaining.map(decisionView),
      });
    },

    refuseAppeal: async ({ params, body, caller, now }) => {
      const appeal = await appealsOf(runtime).refuse(
        params.id,
        caller?.name ?? "api",
        body.note,
        now,
      );
      if (appeal === undefined) throw noOpenAppeal(params.id);
      return json(200, { appeal: appealView(appeal) });
    },

    listAbuseReports: async ({ query }) => {
      abuseReportsOf(runtime);
      const list = await runtime.storage.listAbuseReports({
        ...(query.status === undefined ? {} : { status: query.status }),
        limit: query.limit ?? DEFAULT_LIMIT,
      });
      return json(200, {
        reports: list.map((r) => ({
          id: r.id,
          ip: r.ip,
          created: formatTime(r.createdAt, 0),
          scenario: r.scenario,
          reason: r.reason,
          categories: r.categories,
          status: r.status,
          contact: r.contact,
          attempts: r.attempts,
          sent: r.sentAt === null ? null : formatTime(r.sentAt, 0),
          note: r.note,
        })),
      });
    },

    sendAbuseReports: async ({ now }) => {
      const o = await abuseReportsOf(runtime).run(now);
      return json(200, {
        sent: o.sent,
        messages: o.messages,
        no_contact: o.noContact,
        waiting: o.waiting,
        failed: o.failed,
      });
    },

    reputationFeed: async ({ query, now }) => {
      const reputation = runtime.reputation;
      if (reputation?.publishing !== true)
        throw new HttpError(
          404,
          "NOT_FOUND",
          "this site publishes no reputation feed (reputation.publish)",
        );
      const after = query.after === undefined ? undefined : parseCursor(query.after);
      const page = await reputation.feed(after, query.limit ?? MAX_FEED_PAGE, now);
      return {
        status: 200,
        headers: { ...JSON_HEADERS, [SIGNATURE_HEADER]: `ed25519=${page.signature}` },
        body: page.body,
      };
    },

    abuseipdbReport: async ({ body, caller, now }) => {
      const reputation = reputationOf(runtime);
      let time = now;
      if (body.timestamp !== undefined) {
        time = Date.parse(body.timestamp);
        if (time > now + 60_000) throw invalid("body.timestamp: is in the future");
      }
      const outcome = await reputation.report({
        ip: body.ip,
        categories: body.categories,
        comment: body.comment,
        time,
        reporter: `key:${caller?.name ?? "unknown"}`,
      });
      if (!outcome.ok) {
        if (outcome.reason === "protected")
          throw new HttpError(422, "INPUT_INVALID", outcome.message);
        const seconds = Math.ceil(outcome.retryAfterMs / 1000);
        throw new HttpError(
          429,
          "RATE_LIMITED",
          `You can only report the same IP address (\`${normalizeIp(body.ip)!}\`) once in 15 minutes.`,
          { "retry-after": String(seconds) },
        );
      }
      return json(200, {
        data: { ipAddress: outcome.report.ip, abuseConfidenceScore: outcome.confidence },
      });
    },

    abuseipdbCheck: async ({ query, now }) => {
      const reputation = reputationOf(runtime);
      const ip = normalizeIp(query.ipAddress)!;
      const days = query.maxAgeInDays ?? 30;
      const answer = await reputation.check(ip, now, days * DAY_MS, 10_000);
      const network = runtime.networkOf?.(ip);
      const last = answer.reports[0];
      return json(200, {
        data: {
          ipAddress: ip,
          isPublic: answer.isPublic,
          ipVersion: ip.includes(":") ? 6 : 4,
          isWhitelisted: answer.protection !== undefined,
          abuseConfidenceScore: answer.standing.confidence,
          countryCode: null,
          usageType:
            network?.as === undefined
              ? null
              : network.as.hosting
                ? "Data Center/Web Hosting/Transit"
                : null,
          isp: network?.as?.name ?? null,
          domain: null,
          hostnames: [],
          isTor: network?.tor ?? false,
          totalReports: answer.total,
          numDistinctUsers: answer.reporters,
          lastReportedAt: last === undefined ? null : abuseipdbTime(last.time),
          ...(query.verbose === undefined
            ? {}
            : {
                reports: answer.reports.map((r) => ({
                  reportedAt: abuseipdbTime(r.time),
                  comment: r.comment,
                  categories: r.categories,
                  reporterId: r.reporter,
                  reporterCountryCode: null,
                  reporterCountryName: null,
                })),
              }),
        },
      });
    },

    abuseipdbBlacklist: ({ query, request, now }) => {
      const reputation = reputationOf(runtime);
      const minimum = query.confidenceMinimum ?? 75;
      const limit = query.limit ?? 10_000;
      const listed = [...reputation.book.listed(minimum, now)];
      listed.sort((a, b) => b.confidence - a.confidence || b.last - a.last);
      const shown = listed.slice(0, limit);
      const accept = request.headers?.accept;
      if (
        query.plaintext !== undefined ||
        (typeof accept === "string" && accept.startsWith("text/plain"))
      )
        return {
          status: 200,
          headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
          body: shown.map((l) => `${l.ip}\n`).join(""),
        };
      return json(200, {
        meta: { generatedAt: abuseipdbTime(now) },
        data: shown.map((l) => ({
          ipAddress: l.ip,
          abuseConfidenceScore: l.confidence,
          lastReportedAt: abuseipdbTime(l.last),
        })),
      });
    },

    openapi: () => ({ status: 200, headers: JSON_HEADERS, body: openapi() }),

    metrics: () => metrics(),
  };
}

const eventProblem = (e: ParseError): string => e.message;

// ── Accounts and webhooks ──────────────────────────────────────────────────────────────────

const accountView = (a: AccountState, history: readonly AccountHistoryRecord[]) => ({
  account: a.id,
  state: a.state,
  // An account heard of, never signed up, has not entered a state at any time.
  since: a.state === "unknown" ? null : formatTime(a.since, 0),
  resume: a.resume,
  payment_required: a.paymentRequired,
  expires: a.expiresAt === undefined ? null : formatTime(a.expiresAt, 0),
  history: history.map((h) => ({
    seq: h.seq,
    at: formatTime(h.at, 0),
    event: h.event,
    cause: h.cause,
    from: h.from,
    to: h.to,
    outcome: h.outcome,
    reason: h.reason,
    by: h.by,
  })),
});

// ── Reputation ─────────────────────────────────────────────────────────────────────────────

const DAY_MS = 86_400_000;
const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/** AbuseIPDB's time format: ISO 8601 with an explicit +00:00. */
const abuseipdbTime = (t: number): string =>
  new Date(t).toISOString().replace(/\.\d{3}Z$/, "+00:00");

const reportView = (r: ReportRecord) => ({
  id: r.id,
  time: formatTime(r.time, 0),
  categories: r.categories,
  weight: r.weight,
  reporter: r.reporter,
  comment: r.comment,
});

function abuseReportsOf(runtime: Runtime): NonNullable<Runtime["abuseReports"]> {
  if (runtime.abuseReports === undefined)
    throw new HttpError(404, "NOT_FOUND", "abuse reports are not enabled (abuse_reports.enabled)");
  return runtime.abuseReports;
}

function appealsOf(runtime: Runtime): NonNullable<Runtime["appeals"]> {
  if (runtime.appeals === undefined)
    throw new HttpError(503, "UNAVAILABLE", "appeals are not taken on this node");
  return runtime.appeals;
}

const noOpenAppeal = (id: string): HttpError =>
  new HttpError(404, "NOT_FOUND", `no open appeal has the id ${quote(id)}`);

const appealView = (a: AppealRecord) => ({
  id: a.id,
  ip: a.ip,
  created: formatTime(a.createdAt, 0),
  status: a.status,
  contact: a.contact,
  message: a.message,
  sender: a.sender,
  closed: a.closedAt === null ? null : formatTime(a.closedAt, 0),
  closed_by: a.closedBy,
  note: a.note,
});

function reputationOf(runtime: Runtime): NonNullable<Runtime["reputation"]> {
  if (runtime.reputation === undefined)
    throw new HttpError(503, "UNAVAILABLE", "reputation is not kept on this node");
  return runtime.reputation;
}

function accountsOf(runtime: Runtime): NonNullable<Runtime["accounts"]> {
  if (runtime.accounts === undefined)
    throw new HttpError(503, "UNAVAILABLE", "accounts are not kept on this node");
  return runtime.accounts;
}

function webhooksOf(runtime: Runtime): NonNullable<Runtime["webhooks"]> {
  if (runtime.webhooks === undefined)
    throw new HttpError(404, "NOT_FOUND", "no webhook is configured (guard.webhooks)");
  return runtime.webhooks;
}

const headerOf =
  (request: ApiRequest) =>
  (name: string): string | undefined => {
    // Node gives header names in lower case.
    const v = request.headers?.[name.toLowerCase()];
    return typeof v === "string" ? v : v?.[0];
  };

function webhookResponse(outcome: WebhookOutcome): ApiResponse {
  if (outcome.ok) return json(200, outcome.summary);
  throw new HttpError(outcome.status, outcome.code, outcome.message);
}

// ── Dispatch ───────────────────────────────────────────────────────────────────────────────

interface Compiled {
  readonly name: RouteName;
  readonly spec: RouteSpec;
  /** Path segments; a `:name` segment matches anything and is captured. */
  readonly segments: readonly string[] | undefined;
  readonly handle: (ctx: Context<RouteSpec>) => ApiResponse | Promise<ApiResponse>;
}

export function createApi(runtime: Runtime, options: ApiOptions = {}): Api {
  const version = options.version ?? "0.0.0";
  const keys = new ApiKeyVerifier(runtime.storage, options.keyCache);
  const metricsRegistry = createMetrics(() => runtime.counters());
  const metricsRequireKey = options.metricsRequireKey ?? false;
  const logError =
    options.logError ??
    ((context: string, error: unknown) => {
      console.error(`rempart http: ${context}:`, error);
    });

  let openapiText: string | undefined;
  const openapi = (): string =>
    (openapiText ??= JSON.stringify(openApiDocument(ROUTES, { version, metricsRequireKey })));
  const metrics = async (): Promise<ApiResponse> => ({
    status: 200,
    headers: { "content-type": metricsRegistry.registry.contentType, "cache-control": "no-store" },
    body: await metricsRegistry.registry.metrics(),
  });

  const proxies = new TrustedProxies(options.trustedProxies ?? []);
  const table = handlers({
    runtime,
    version,
    openapi,
    metrics,
    proxies,
    challengeUrl: options.challengeUrl,
  });
  const exact = new Map<string, Compiled>();
  const patterned: Compiled[] = [];
  const methodsByPath = new Map<string, string[]>();
  for (const name of Object.keys(ROUTES) as RouteName[]) {
    const spec: RouteSpec = ROUTES[name];
    const dynamic = spec.path.includes("/:");
    const c: Compiled = {
      name,
      spec,
      segments: dynamic ? spec.path.split("/") : undefined,
      handle: table[name],
    };
    if (dynamic) patterned.push(c);
    else exact.set(`${spec.method} ${spec.path}`, c);
    methodsByPath.set(spec.path, [...(methodsByPath.get(spec.path) ?? []), spec.method]);
  }

  function find(
    requested: string,
    path: string,
  ): { route: Compiled; params: Record<string, string> } {
    // HEAD is GET without the body (node:http leaves it out): a load balancer's health check.
    const method = requested === "HEAD" ? "GET" : requested;
    const hit = exact.get(`${method} ${path}`);
    if (hit) return { route: hit, params: {} };
    const parts = path.split("/");
    const allowed: string[] = [];
    for (const c of patterned) {
      const segs = c.segments!;
      if (segs.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let matches = true;
      for (let i = 0; i < segs.length && matches; i++) {
        const s = segs[i]!;
        const p = parts[i]!;
        if (s.startsWith(":") && p !== "") params[s.slice(1)] = decodeSegment(p);
        else matches = s === p;
      }
      if (!matches) continue;
      if (c.spec.method === method) return { route: c, params };
      allowed.push(c.spec.method);
    }
    allowed.push(...(methodsByPath.get(path) ?? []));
    if (allowed.length > 0)
      throw new HttpError(
        405,
        "NOT_FOUND",
        `${quote(requested)} is not allowed on this path; use ${allowed.join(" or ")}`,
        { allow: (allowed.includes("GET") ? [...allowed, "HEAD"] : allowed).join(", ") },
      );
    throw new HttpError(404, "NOT_FOUND", `no route for ${quote(requested)} ${quote(path)}`);
  }

  function authenticate(
    spec: RouteSpec,
    request: ApiRequest,
  ): Caller | undefined | Promise<Caller | undefined> {
    if (spec.access === "public" || (spec.access === "metrics" && !metricsRequireKey))
      return undefined;
    const text = keyFromHeaders(request.headers ?? {});
    if (text === undefined || text === "")
      throw new HttpError(
        401,
        "UNAUTHORIZED",
        "an API key is required: send it as Authorization: Bearer <key> or X-Api-Key: <key>",
        { "www-authenticate": 'Bearer realm="rempart"' },
      );
    const verified = keys.verify(text, request.connection);
    return verified instanceof Promise
      ? verified.then((caller) => authorize(spec, caller))
      : authorize(spec, verified);
  }

  function authorize(spec: RouteSpec, caller: Caller | undefined): Caller {
    if (caller === undefined)
      throw new HttpError(401, "UNAUTHORIZED", "the API key is unknown or wrong", {
        "www-authenticate": 'Bearer realm="rempart", error="invalid_token"',
      });
    if (
      spec.access !== "metrics" &&
      caller.role !== "admin" &&
      !(spec.access as readonly string[]).includes(caller.role)
    )
      throw new HttpError(
        403,
        "FORBIDDEN",
        `a ${caller.role} key may not call ${spec.method} ${spec.path}`,
      );
    return caller;
  }

  // Synchronous until a handler or an uncached key needs to wait: the look-up path stays
  // free of promise hops.
  function dispatch(
    request: ApiRequest,
    route: Compiled,
    params: Record<string, string>,
  ): ApiResponse | Promise<ApiResponse> {
    const caller = authenticate(route.spec, request);
    return caller instanceof Promise
      ? caller.then((c) => run(request, route, params, c))
      : run(request, route, params, caller);
  }

  function run(
    request: ApiRequest,
    route: Compiled,
    params: Record<string, string>,
    caller: Caller | undefined,
  ): ApiResponse | Promise<ApiResponse> {
    const spec = route.spec;
    const query =
      spec.query === undefined
        ? undefined
        : validate(spec.query, "query", queryObject(request.query));
    const parsedParams =
      spec.params === undefined ? undefined : validate(spec.params, "params", params);
    const body =
      spec.body === undefined
        ? undefined
        : request.prepared?.route === route.name
          ? request.prepared.body
          : validate(
              spec.body,
              "body",
              spec.bodyTypes === "json-or-form" ? jsonOrFormBody(request) : jsonBody(request),
            );
    return route.handle({
      query,
      params: parsedParams,
      body,
      caller,
      now: runtime.clock.now(),
      request,
    } as Context<RouteSpec>);
  }

  return {
    keys,
    metrics: metricsRegistry,
    async handle(request) {
      let name = "unmatched";
      let response: ApiResponse;
      try {
        const { route, params } = find(request.method, request.path);
        name = route.name;
        response = await dispatch(request, route, params);
      } catch (e) {
        response = failure(e, `${request.method} ${request.path.slice(0, 100)}`, logError);
        if (request.path.startsWith(ABUSEIPDB_PREFIX)) response = abuseipdbError(response);
      }
      metricsRegistry.request(name, response.status);
      return response;
    },
  };
}

function failure(
  e: unknown,
  context: string,
  logError: (c: string, e: unknown) => void,
): ApiResponse {
  if (e instanceof HttpError) return errorResponse(e);
  if (isRempartError(e)) {
    const status = STATUS_OF[e.code];
    if (status !== undefined) return errorResponse(new HttpError(status, e.code, e.message));
  }
  // Anything else may carry internals (paths, SQL): log it, and send a stable code only.
  logError(context, e);
  const code = isRempartError(e) ? e.code : "INTERNAL";
  return errorResponse(
    new HttpError(
      code === "UNAVAILABLE" ? 503 : 500,
      code,
      "internal error; the daemon's log has the details",
    ),
  );
}

/** The routes that speak AbuseIPDB's API v2, errors included. */
const ABUSEIPDB_PREFIX = "/api/v2/";

/**
 * An error in AbuseIPDB's shape, `{errors: [{detail, status}]}`, where its clients look for
 * it; an invalid parameter is its 422, not a 400.
 */
function abuseipdbError(r: ApiResponse): ApiResponse {
  let detail = "error";
  try {
    detail = (JSON.parse(String(r.body)) as { message?: string }).message ?? detail;
  } catch {
    // Not JSON: the generic word stays.
  }
  const status = r.status === 400 ? 422 : r.status;
  return { status, headers: r.headers, body: JSON.stringify({ errors: [{ detail, status }] }) };
}

function queryObject(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined || raw === "") return out;
  // By hand rather than URLSearchParams: this runs on every look-up.
  for (const pair of raw.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const k = decodeQuery(eq < 0 ? pair : pair.slice(0, eq));
    const v = eq < 0 ? "" : decodeQuery(pair.slice(eq + 1));
    if (Object.hasOwn(out, k)) throw invalid(`query.${k.slice(0, 40)}: given more than once`);
    out[k] = v;
  }
  return out;
}

function decodeQuery(s: string): string {
  if (!s.includes("%") && !s.includes("+")) return s;
  try {
    return decodeURIComponent(s.replaceAll("+", " "));
  } catch {
    throw invalid(`query: ${quote(s)} is not valid percent-encoding`);
  }
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalid(`path: ${quote(s)} is not valid percent-encoding`);
  }
}
