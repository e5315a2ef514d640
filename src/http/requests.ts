/**
 * A request as the API takes it, and what reading one involves: its JSON body, validated
 * against a route's schema, and the guard's submission made of it. Shared by the API
 * (api.ts) and by the API threads that read requests before the daemon's thread answers them
 * (api-threads.ts), so that both accept exactly the same bodies.
 */
import type { ZodType } from "zod";
import type { Prepared } from "../guard/guard.ts";
import type { Submission } from "../guard/ports.ts";
import { normalizeIp } from "../net/index.ts";
import type { Parsed, RouteName, Routes } from "./routes.ts";
import { describeIssues, requiredMessage } from "./validation.ts";

export type HeaderValue = string | readonly string[] | undefined;

export interface ApiRequest {
  readonly method: string;
  /** The path without the query string: `/v1/check`. */
  readonly path: string;
  /** The raw query string without `?`: `ip=203.0.113.7`. */
  readonly query?: string;
  /** Lower-case names, as node:http gives them. */
  readonly headers?: Readonly<Record<string, HeaderValue>>;
  readonly body?: Uint8Array;
  /** The connection's peer address, as the socket gives it (forward-auth needs it). */
  readonly remoteAddress?: string;
  /** Stands for the transport connection (the socket): requests on one connection share it. */
  readonly connection?: object;
  /** What an API thread already did with the request, if one read it. */
  readonly prepared?: PreparedRequest;
}

/**
 * A request's body already parsed and validated against `route`'s schema by an API thread,
 * and for the guard's assessment its stateless signals, computed at `time`. The API still
 * checks the key first, as for any request.
 */
export interface PreparedRequest {
  readonly route: RouteName;
  readonly body: unknown;
  readonly guard?: { readonly time: number; readonly signals: Prepared };
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

/** An expected failure, sent as `{ code, message }`. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>> | undefined;
  constructor(status: number, code: string, message: string, headers?: Record<string, string>) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export const invalid = (message: string): HttpError => new HttpError(400, "INPUT_INVALID", message);

const JSON_TYPE = /^application\/json\s*(;|$)/i;

/** `value` checked against `schema`; a 400 that says what and where otherwise. */
export function validate(schema: ZodType, where: string, value: unknown): unknown {
  const r = schema.safeParse(value, { error: requiredMessage });
  if (!r.success) throw invalid(describeIssues(where, r.error.issues));
  return r.data;
}

/** The body as JSON: 415 without a JSON content type, 400 when empty or not JSON. */
export function jsonBody(request: ApiRequest): unknown {
  const type = request.headers?.["content-type"];
  if (typeof type !== "string" || !JSON_TYPE.test(type))
    throw new HttpError(
      415,
      "INPUT_INVALID",
      "body: send it as JSON with Content-Type: application/json",
    );
  if (request.body === undefined || request.body.length === 0) throw invalid("body: is required");
  try {
    return JSON.parse(
      Buffer.from(request.body.buffer, request.body.byteOffset, request.body.length).toString(
        "utf8",
      ),
    );
  } catch {
    throw invalid("body: is not valid JSON");
  }
}

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/**
 * The body of a route that takes forms too (AbuseIPDB's clients post forms): a form's fields
 * as strings, each given once, or the JSON body.
 */
export function jsonOrFormBody(request: ApiRequest): unknown {
  const type = request.headers?.["content-type"];
  if (typeof type !== "string" || !FORM_TYPE.test(type)) {
    if (typeof type === "string" && JSON_TYPE.test(type)) return jsonBody(request);
    throw new HttpError(
      415,
      "INPUT_INVALID",
      "body: send it as JSON (Content-Type: application/json) or as a form (application/x-www-form-urlencoded)",
    );
  }
  const text = Buffer.from(request.body ?? new Uint8Array()).toString("utf8");
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    if (Object.hasOwn(out, k)) throw invalid(`body.${k.slice(0, 40)}: given more than once`);
    out[k] = v;
  }
  return out;
}

/** The submission an assessment's body describes, received at `time`. */
export function guardSubmission(
  body: Parsed<Routes["guardAssess"], "body">,
  id: string,
  time: number,
): Submission {
  const s: { -readonly [K in keyof Submission]: Submission[K] } = {
    id,
    kind: body.kind,
    form: body.form,
    time,
    // The schema accepts only addresses that parse.
    ip: normalizeIp(body.ip)!,
    fields: body.fields,
  };
  if (body.email !== undefined) s.email = body.email.toLowerCase();
  if (body.account !== undefined) s.account = body.account;
  if (body.user_agent !== undefined) s.userAgent = body.user_agent;
  if (body.token !== undefined) s.token = body.token;
  if (body.altcha !== undefined) s.altcha = body.altcha;
  return s;
}
