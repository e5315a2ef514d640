/**
 * The application's client of Rempart's guard: one call per submission on the server side.
 * No dependencies: the platform's `fetch` (Node 18+, Deno, Bun). It runs on the application's
 * server, never in the page: it holds an API key with role `sensor`.
 *
 * Failure behaviour (`failOpen`, default true): when Rempart cannot answer — a timeout, a
 * network error, an HTTP 5xx — `assess` allows with the reason `rempart-unavailable`, `token`
 * answers an empty token and `event` answers false, so that an outage of the defence never takes
 * the application down. With `failOpen: false` they throw a `RempartGuardError` of kind
 * `unavailable` instead. A refusal that is the caller's mistake (bad key: 401/403, invalid
 * input: 400) always throws, whatever `failOpen` says: it would never heal by itself.
 */

export type Verdict = "allow" | "challenge" | "verify" | "deny";

/** What the application is about to accept. Never put a password in `fields`. */
export interface Submission {
  /** Your id for it; Rempart makes one when absent. */
  readonly id?: string;
  /** Default `form.submit`. */
  readonly kind?: "signup" | "form.submit";
  /** The form's id, as configured in Rempart (`petition`, `signup`). */
  readonly form: string;
  /** The client's address, as your server sees it (behind a proxy: the address it forwards). */
  readonly ip: string;
  readonly email?: string;
  readonly account?: string;
  readonly userAgent?: string;
  /** The submitted fields by name, the honeypot included: `splitForm` prepares them. */
  readonly fields?: Readonly<Record<string, string>>;
  /** The form token the page carried (field `rempart_token`). */
  readonly token?: string;
  /** The proof-of-work payload the widget put in the form (field `altcha`). */
  readonly altcha?: string;
}

export interface Assessment {
  readonly id: string;
  readonly verdict: Verdict;
  /** In [0, 1]: 0 harmless, 1 certainly abusive. */
  readonly score: number;
  readonly reasons: readonly string[];
  /** With `challenge`: a harder proof of work for the widget (`altchaWidget({ challenge })`). */
  readonly challenge?: Readonly<Record<string, unknown>>;
}

/** What the page renders with the form (`formFields`). */
export interface FormToken {
  /** Empty when Rempart was unavailable and `failOpen` let the page render without it. */
  readonly token: string;
  /** The name of the honeypot input: hidden, left empty by people. */
  readonly honeypot: string;
  /** The fill time under which a submission counts as scripted. */
  readonly minFillMs: number;
}

/**
 * An application event, in the shape of Rempart's JSON events (docs/guard-integration.md):
 * `email.confirmed`, `payment.confirmed`, `payment.failed`, … Other members are kept and read
 * as fields (`{ payment: { id: "PM1" } }` → `payment.id`).
 */
export interface AppEvent {
  readonly type: string;
  /** Default: a random id. */
  readonly id?: string;
  /** Default: now. */
  readonly time?: string | Date;
  readonly source?: { readonly ip?: string };
  readonly actor?: { readonly email?: string; readonly account?: string };
  readonly [member: string]: unknown;
}

/** An account's trust state, as `GET /v1/accounts/:id` answers it (passed through). */
export type AccountState = Readonly<Record<string, unknown>>;

export interface RempartGuardOptions {
  /** The daemon's API, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** An API key with role `sensor` (`rempart keys create shop --role sensor`). */
  readonly key: string;
  /** Per request. Default 1500 ms. */
  readonly timeoutMs?: number;
  /** Default true: see the module's comment. */
  readonly failOpen?: boolean;
  /** Another `fetch` (a proxy agent, a test double). Default the global one. */
  readonly fetch?: typeof fetch;
}

export type RempartGuardErrorKind = "unavailable" | "refused" | "invalid-answer";

export class RempartGuardError extends Error {
  /** `unavailable`: timeout, network, 5xx. `refused`: 4xx (key, input). `invalid-answer`: not the contract. */
  readonly kind: RempartGuardErrorKind;
  /** The HTTP status, when there was an answer. */
  readonly status: number | undefined;
  /** Rempart's error code (docs/errors.md), when it sent one. */
  readonly code: string | undefined;

  constructor(
    kind: RempartGuardErrorKind,
    message: string,
    extra: { status?: number; code?: string; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "RempartGuardError";
    this.kind = kind;
    this.status = extra.status;
    this.code = extra.code;
  }
}

export const UNAVAILABLE_REASON = "rempart-unavailable";

const VERDICTS: readonly string[] = ["allow", "challenge", "verify", "deny"];

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A random id, from the platform's global `crypto`; where there is none (Node 18 has it only
 * behind a flag), from node:crypto, imported then so that other platforms never need it.
 */
async function randomId(): Promise<string> {
  const global = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (typeof global?.randomUUID === "function") return global.randomUUID();
  const nodeCrypto = "node:crypto";
  const node = (await import(nodeCrypto)) as { randomUUID: () => string };
  return node.randomUUID();
}

export class RempartGuard {
  readonly #base: URL;
  readonly #key: string;
  readonly #timeoutMs: number;
  readonly #failOpen: boolean;
  readonly #fetch: typeof fetch;

  constructor(options: RempartGuardOptions) {
    const base = new URL(options.url);
    if (!base.pathname.endsWith("/")) base.pathname += "/";
    this.#base = base;
    this.#key = options.key;
    this.#timeoutMs = options.timeoutMs ?? 1500;
    this.#failOpen = options.failOpen ?? true;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Asks what to do with a submission: `POST /v1/guard/assess`. */
  async assess(submission: Submission): Promise<Assessment> {
    const id = submission.id ?? (await randomId());
    const body: Json = { id, kind: submission.kind ?? "form.submit", form: submission.form };
    body.ip = submission.ip;
    if (submission.email !== undefined) body.email = submission.email;
    if (submission.account !== undefined) body.account = submission.account;
    if (submission.userAgent !== undefined) body.user_agent = submission.userAgent;
    if (submission.fields !== undefined) body.fields = submission.fields;
    if (submission.token !== undefined && submission.token !== "") body.token = submission.token;
    if (submission.altcha !== undefined && submission.altcha !== "")
      body.altcha = submission.altcha;
    const answer = await this.#call("POST", "v1/guard/assess", body);
    if (answer === undefined)
      return Object.freeze({ id, verdict: "allow", score: 0, reasons: [UNAVAILABLE_REASON] });
    return assessmentOf(answer, id);
  }

  /**
   * A fresh form token for a page being rendered: `GET /v1/guard/token`. `fields`: the form's
   * field names, which the honeypot's name must not take.
   */
  async token(
    form: string,
    options: { readonly fields?: readonly string[] } = {},
  ): Promise<FormToken> {
    const fields = options.fields ?? [];
    const query =
      `form=${encodeURIComponent(form)}` +
      (fields.length > 0 ? `&fields=${encodeURIComponent(fields.join(","))}` : "");
    const answer = await this.#call("GET", `v1/guard/token?${query}`);
    if (answer === undefined) return Object.freeze({ token: "", honeypot: "", minFillMs: 0 });
    if (
      !isObject(answer) ||
      typeof answer.token !== "string" ||
      typeof answer.honeypot !== "string" ||
      typeof answer.min_fill_ms !== "number"
    )
      throw invalidAnswer("GET /v1/guard/token");
    return Object.freeze({
      token: answer.token,
      honeypot: answer.honeypot,
      minFillMs: answer.min_fill_ms,
    });
  }

  /**
   * A proof-of-work challenge for the page's widget, on behalf of the browser at `ip`: for a
   * server that relays the widget's `challenge` URL instead of exposing Rempart. Rempart
   * believes `ip` only when this server's address is in its `http.trusted_proxies`. Always
   * throws when Rempart is unavailable (there is no challenge to make up).
   */
  async challenge(form: string, ip: string): Promise<Readonly<Record<string, unknown>>> {
    const answer = await this.#request(
      "GET",
      `v1/guard/challenge?form=${encodeURIComponent(form)}`,
      undefined,
      { "x-forwarded-for": ip },
    );
    if (!isObject(answer)) throw invalidAnswer("GET /v1/guard/challenge");
    return answer;
  }

  /** Reports what happened (`email.confirmed`, `payment.*`): `POST /v1/events`. */
  async event(event: AppEvent): Promise<boolean> {
    const time = event.time ?? new Date();
    const wire: Json = {
      ...event,
      id: event.id ?? (await randomId()),
      time: time instanceof Date ? time.toISOString() : time,
    };
    return (await this.#call("POST", "v1/events", [wire])) !== undefined;
  }

  /**
   * An account's trust state and its transitions: `GET /v1/accounts/:id`; undefined when
   * Rempart does not know the account. Always throws when Rempart is unavailable.
   */
  async account(id: string): Promise<AccountState | undefined> {
    try {
      const answer = await this.#request("GET", `v1/accounts/${encodeURIComponent(id)}`);
      if (!isObject(answer)) throw invalidAnswer("GET /v1/accounts/:id");
      return answer;
    } catch (e) {
      if (e instanceof RempartGuardError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** The request, or undefined when Rempart is unavailable and failing open is allowed. */
  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    try {
      return await this.#request(method, path, body);
    } catch (e) {
      if (this.#failOpen && e instanceof RempartGuardError && e.kind === "unavailable")
        return undefined;
      throw e;
    }
  }

  async #request(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Readonly<Record<string, string>> = {},
  ): Promise<unknown> {
    const where = `${method} /${path.split("?")[0] ?? ""}`;
    const headers: Record<string, string> = {
      ...extraHeaders,
      accept: "application/json",
      authorization: `Bearer ${this.#key}`,
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(new URL(path, this.#base), {
        method,
        headers,
        signal: AbortSignal.timeout(this.#timeoutMs),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      // The body is read under the same deadline: a server that stalls mid-answer is down too.
      text = await res.text();
    } catch (e) {
      const timedOut = e instanceof Error && e.name === "TimeoutError";
      throw new RempartGuardError(
        "unavailable",
        `${where}: ${timedOut ? `no answer within ${this.#timeoutMs} ms` : "cannot reach Rempart"}`,
        { cause: e },
      );
    }
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    // Not Rempart's answer (a proxy's HTML page at a wrong URL): a mistake to fix, never a
    // reason to fail open. Null, not undefined, for a success without a body.
    if (res.ok && json === undefined) {
      if (text === "") return null;
      throw new RempartGuardError(
        "invalid-answer",
        `${where}: HTTP ${res.status} with a body that is not JSON (is the URL Rempart's API?)`,
        { status: res.status },
      );
    }
    if (res.status >= 500)
      throw new RempartGuardError("unavailable", `${where}: HTTP ${res.status}`, {
        status: res.status,
        ...errorCode(json),
      });
    if (!res.ok) {
      const message =
        isObject(json) && typeof json.message === "string" ? json.message : `HTTP ${res.status}`;
      throw new RempartGuardError("refused", `${where}: ${message}`, {
        status: res.status,
        ...errorCode(json),
      });
    }
    return json;
  }
}

function errorCode(json: unknown): { code?: string } {
  return isObject(json) && typeof json.code === "string" ? { code: json.code } : {};
}

function invalidAnswer(where: string): RempartGuardError {
  return new RempartGuardError("invalid-answer", `${where}: the answer is not what the API sends`);
}

function assessmentOf(answer: unknown, id: string): Assessment {
  if (
    !isObject(answer) ||
    typeof answer.verdict !== "string" ||
    !VERDICTS.includes(answer.verdict) ||
    typeof answer.score !== "number" ||
    !Array.isArray(answer.reasons) ||
    !answer.reasons.every((r) => typeof r === "string") ||
    (answer.challenge !== undefined && !isObject(answer.challenge))
  )
    throw invalidAnswer("POST /v1/guard/assess");
  return Object.freeze({
    id: typeof answer.id === "string" ? answer.id : id,
    verdict: answer.verdict as Verdict,
    score: answer.score,
    reasons: Object.freeze([...answer.reasons]),
    ...(answer.challenge === undefined ? {} : { challenge: answer.challenge }),
  });
}
