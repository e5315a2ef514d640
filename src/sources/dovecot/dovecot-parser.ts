import type { Event, FieldValue } from "../../core/event.ts";
import type { LineOrigin, MessageParser, SyslogRecord } from "../../core/ports.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { normalizeIp } from "../../net/ip.ts";
import { digitsEnd, recordEvent, NOTHING, parseUint } from "../scan.ts";

const SERVICE = "dovecot";

type Events = Result<readonly Event[]>;

const SEVERITIES = ["Info: ", "Error: ", "Warning: ", "Fatal: ", "Panic: ", "Debug: "];

/** Reasons of a passdb line that mean the password or the user was refused. */
const PASSDB_FAILURE =
  /unknown user|mismatch|failed|failure|not found|not known|invalid|disabled|expired|denied/i;

const failure = (message: string): Events => err({ code: "DOVECOT_UNREADABLE", message });

/**
 * Reads Dovecot's messages: the login processes (`imap-login`, `pop3-login`,
 * `submission-login`, `managesieve-login`) and the auth processes (`auth`, `auth-worker(N)`).
 *
 * A failed login is counted once, from the login process's summary line (`auth failed, N
 * attempts`). The passdb lines that explain it become `auth.failure.detail`, visible in
 * `explain` but not counted by the failure scenarios.
 */
export class DovecotParser implements MessageParser {
  readonly id = "dovecot";

  accepts(program: string): boolean {
    return (
      program.startsWith("dovecot") ||
      program.endsWith("-login") ||
      program === "auth" ||
      program.startsWith("auth-worker")
    );
  }

  parse(record: SyslogRecord, origin: LineOrigin): Events {
    const msg = record.message;
    const program = record.program;
    let p = 0;
    let process: string;
    if (program.startsWith("dovecot/")) process = program.slice(8);
    else {
      if (msg.startsWith("dovecot: ")) p = 9;
      const end = processEnd(msg, p);
      if (end > 0) {
        const paren = msg.indexOf("(", p);
        process = msg.slice(p, paren > p && paren < end ? paren : end);
        p = end + 2;
      } else process = program === "dovecot-auth" ? "auth" : program;
    }
    for (const s of SEVERITIES) {
      if (msg.startsWith(s, p)) {
        p += s.length;
        break;
      }
    }
    if (process.endsWith("-login")) return this.#login(record, origin, p, process.slice(0, -6));
    if (process.startsWith("auth") || process.startsWith("dovecot")) {
      return this.#passdb(record, origin, p);
    }
    return NOTHING;
  }

  #login(record: SyslogRecord, origin: LineOrigin, p: number, protocol: string): Events {
    const msg = record.message;
    if (msg.startsWith("Login: ", p)) {
      const ip = this.#remoteIp(msg, p);
      if (ip === undefined) return failure("login line without rip=");
      const fields = { protocol, method: this.#method(msg, p) };
      return ok([event(origin, "auth.success", record, ip, this.#user(msg, p), fields)]);
    }
    const f = msg.indexOf("(auth failed, ", p);
    if (f < 0) return NOTHING;
    const n = digitsEnd(msg, f + 14);
    const attempts = parseUint(msg, f + 14, n);
    if (attempts < 0 || !msg.startsWith(" attempt", n)) return failure("unreadable auth failed");
    const ip = this.#remoteIp(msg, n);
    if (ip === undefined) return failure("failed login line without rip=");
    const fields = { protocol, method: this.#method(msg, n), attempts };
    return ok([event(origin, "auth.failure", record, ip, this.#user(msg, n), fields)]);
  }

  // Results of #remoteIp, read by #user and #method (the user may hold ", rip=": look after it).
  #ripAt = -1;

  /** `rip=1.2.3.4` (the last one: a user name is the client's to choose). */
  #remoteIp(msg: string, from: number): string | undefined {
    const r = msg.lastIndexOf("rip=");
    this.#ripAt = r;
    if (r < from) return undefined;
    const c = msg.charCodeAt(r - 1);
    if (c !== 32 && c !== 58) return undefined;
    let end = msg.indexOf(",", r + 4);
    if (end < 0) end = msg.length;
    return normalizeIp(msg.slice(r + 4, end));
  }

  /** `user=<name>` before rip=, or undefined when absent or empty. */
  #user(msg: string, from: number): string | undefined {
    const u = msg.indexOf("user=<", from);
    if (u < 0 || u > this.#ripAt) return undefined;
    const end = msg.lastIndexOf(">,", this.#ripAt);
    if (end <= u + 6) return undefined;
    return msg.slice(u + 6, end);
  }

  /** `method=PLAIN` between the user and rip=, or null. */
  #method(msg: string, from: number): string | null {
    const userEnd = msg.lastIndexOf(">,", this.#ripAt);
    const m = msg.indexOf("method=", Math.max(from, userEnd));
    if (m < 0 || m > this.#ripAt) return null;
    const end = msg.indexOf(",", m + 7);
    return msg.slice(m + 7, end < 0 ? msg.length : end);
  }

  /**
   * `passwd-file(user,1.2.3.4[,<session>]): unknown user`,
   * `pam(user,1.2.3.4): pam_authenticate() failed: …`, or the PAM module's own
   * `pam_unix(dovecot:auth): authentication failure; … ruser=u rhost=1.2.3.4[  user=u]`.
   */
  #passdb(record: SyslogRecord, origin: LineOrigin, p: number): Events {
    const msg = record.message;
    if (msg.startsWith("pam_unix(dovecot", p)) return this.#pamUnix(record, origin, p);
    let i = p;
    for (; i < msg.length; i++) {
      const c = msg.charCodeAt(i);
      if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95)) break;
    }
    if (i === p || msg.charCodeAt(i) !== 40 /* ( */) return NOTHING;
    const driver = msg.slice(p, i);
    let close = msg.indexOf("): ", i);
    const sessionClose = msg.indexOf(")<", i);
    let reasonAt = close + 3;
    if (sessionClose >= 0 && (close < 0 || sessionClose < close)) {
      close = sessionClose;
      const s = msg.indexOf(">: ", sessionClose);
      if (s < 0) return NOTHING;
      reasonAt = s + 3;
    }
    if (close < 0) return NOTHING;
    const reason = msg.slice(reasonAt);
    if (!PASSDB_FAILURE.test(reason)) return NOTHING;
    let argsEnd = close;
    if (msg.charCodeAt(close - 1) === 62 /* > */) {
      const s = msg.lastIndexOf(",<", close);
      if (s > i) argsEnd = s;
    }
    const comma = msg.lastIndexOf(",", argsEnd - 1);
    let ip: string | undefined;
    let account: string | undefined;
    if (comma > i) {
      ip = normalizeIp(msg.slice(comma + 1, argsEnd));
      if (comma > i + 1) account = msg.slice(i + 1, comma);
    } else if (argsEnd > i + 1) account = msg.slice(i + 1, argsEnd);
    const fields = { driver, reason };
    return ok([event(origin, "auth.failure.detail", record, ip, account, fields)]);
  }

  #pamUnix(record: SyslogRecord, origin: LineOrigin, p: number): Events {
    const msg = record.message;
    if (msg.indexOf("): authentication failure;", p) < 0) return NOTHING;
    const ru = msg.indexOf(" ruser=", p);
    let rhost = -1;
    let account: string | undefined;
    // The user name is the client's: `ruser=X rhost=IP  user=X`; find rhost right after X.
    const u = msg.lastIndexOf("  user=");
    if (ru >= 0 && u > ru) {
      const name = msg.slice(u + 7);
      if (msg.startsWith(" rhost=", ru + 7 + name.length)) {
        rhost = ru + 7 + name.length + 7;
        if (name !== "") account = name;
      }
    }
    if (rhost < 0) {
      const r = msg.lastIndexOf(" rhost=");
      if (r < 0) return failure("pam_unix line without rhost=");
      rhost = r + 7;
      if (ru >= 0 && ru < r) {
        const name = msg.slice(ru + 7, r);
        if (name !== "") account = name;
      }
    }
    let end = msg.indexOf(" ", rhost);
    if (end < 0) end = msg.length;
    const ip = normalizeIp(msg.slice(rhost, end));
    const fields = { driver: "pam_unix", reason: "authentication failure" };
    return ok([event(origin, "auth.failure.detail", record, ip, account, fields)]);
  }
}

/**
 * The end of a process prefix at `p` (`imap-login`, `auth-worker(123)`, `imap(user)<1><s>`),
 * i.e. the index of the ':' of its `: `, or -1.
 */
function processEnd(msg: string, p: number): number {
  let i = p;
  for (; i < msg.length; i++) {
    const c = msg.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45)) break;
  }
  if (i === p) return -1;
  if (msg.charCodeAt(i) === 40 /* ( */) {
    i = msg.indexOf(")", i);
    if (i < 0) return -1;
    i++;
  }
  while (msg.charCodeAt(i) === 60 /* < */) {
    i = msg.indexOf(">", i);
    if (i < 0) return -1;
    i++;
  }
  return msg.charCodeAt(i) === 58 && msg.charCodeAt(i + 1) === 32 ? i : -1;
}

const event = (
  origin: LineOrigin,
  type: string,
  record: SyslogRecord,
  ip: string | undefined,
  account: string | undefined,
  fields: Readonly<Record<string, FieldValue>>,
): Event => recordEvent(origin, type, record, SERVICE, ip, account, undefined, fields);

export function createDovecotParser(): DovecotParser {
  return new DovecotParser();
}
