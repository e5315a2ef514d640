/**
 * Every error Rempart raises on purpose carries a stable code, documented in docs/errors.md
 * (a test fails when the two drift apart). The HTTP edge sends `{ code, message }` only.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: "the configuration file does not match the schema",
  CONFIG_UNREADABLE: "the configuration file cannot be read or is not valid YAML",
  SCENARIO_INVALID: "a scenario file does not match the scenario schema",
  EXPRESSION_INVALID: "a scenario expression does not parse or names an unknown field",
  STORAGE_FAILED: "the database refused an operation",
  STORAGE_MIGRATION_FAILED: "the database schema could not be brought up to date",
  SOURCE_UNREADABLE: "a log source cannot be opened or read",
  INPUT_INVALID: "a request or event does not match its schema",
  DECISION_REFUSED: "a decision was refused by the safety policy (allowlist, range width)",
  NOT_FOUND: "the requested object does not exist",
  WEBHOOK_SIGNATURE_INVALID: "a webhook's signature is missing, malformed, stale or wrong",
  ACCOUNT_TRANSITION_REFUSED: "the account's state has no transition for this operator action",
  APPEAL_REFUSED: "an appeal was not taken: nothing is held against the address, or one waits",
  UNAUTHORIZED: "the API key is missing or unknown",
  FORBIDDEN: "the API key's role does not allow this operation",
  RATE_LIMITED: "a public endpoint was asked too often from one address, or a report repeated",
  POW_REFUSED: "a proof of work traded for a pass is missing, invalid, used, expired or too easy",
  USAGE: "the command line is not valid",
  UNAVAILABLE: "a dependency (database, peer program) is not available",
  LISTEN_FAILED: "a server cannot listen on its address (in use, not allowed, not on this host)",
  INTERNAL: "an unexpected error inside Rempart (a bug): details are logged, never sent",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class RempartError extends Error {
  readonly code: ErrorCode;
  /** Optional hint telling the user how to fix it. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RempartError";
    this.code = code;
    this.hint = options.hint;
  }
}

export const isRempartError = (e: unknown): e is RempartError => e instanceof RempartError;

const LISTEN_CAUSES: Readonly<Record<string, string>> = {
  EADDRINUSE: "the address is in use (another Rempart, or another program?)",
  EACCES: "not allowed (a port under 1024 needs CAP_NET_BIND_SERVICE)",
  EADDRNOTAVAIL: "no interface of this host has that address",
};

/**
 * Why a server (`what`: "http", "dnsbl udp") cannot listen on `where` (host:port or a socket's
 * path), said for its operator; `key` is the setting that chooses the address.
 */
export function listenError(what: string, where: string, key: string, e: unknown): RempartError {
  const code = listenCode(e) ?? "";
  const why = LISTEN_CAUSES[code] ?? (e instanceof Error ? e.message : String(e));
  return new RempartError("LISTEN_FAILED", `${what}: cannot listen on ${where}: ${why}`, {
    cause: e,
    hint: `choose another address with ${key}`,
  });
}

/**
 * The system's reason a socket could not listen (EADDRINUSE…), from the error's code or, for an
 * error relayed from a worker as text, its message; undefined for any other failure.
 */
export function listenCode(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === "string" && code in LISTEN_CAUSES) return code;
  const m = /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL)\b/.exec(e instanceof Error ? e.message : "");
  return m?.[1];
}
