import type { Event, FieldValue } from "../../core/event.ts";
import type { LineOrigin, MessageParser, SyslogRecord } from "../../core/ports.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { detach } from "../../core/strings.ts";
import { normalizeIp } from "../../net/ip.ts";
import { digitsEnd, recordEvent, NOTHING, parseUint } from "../scan.ts";

const SERVICE = "postfix";
const DAY = 86_400_000;

export interface PostfixParserOptions {
  /** How many queue ids of authenticated submissions to remember (oldest dropped first). */
  readonly maxQueueEntries?: number;
  /** How long, in event time, a queue id is remembered without being removed. */
  readonly maxQueueAgeMs?: number;
}

/** What the smtpd `client=` line told about a queue id, until qmgr says `removed`. */
interface QueueEntry {
  readonly ip: string | undefined;
  readonly account: string;
  readonly mechanism: string | null;
  readonly time: number;
  /** qmgr logs `from=` again each time a deferred message is retried: count it once. */
  submitted: boolean;
}

type Events = Result<readonly Event[]>;

const DELIVERY_STATUS = new Set(["sent", "deferred", "bounced", "expired"]);

/** Postscreen verdicts that reject a client, by the keyword that starts the line. */
const POSTSCREEN_VERDICTS: readonly (readonly [string, string])[] = [
  ["PREGREET ", "pregreet"],
  ["DNSBL rank ", "dnsbl"],
  ["COMMAND PIPELINING ", "pipelining"],
  ["HANGUP ", "hangup"],
  ["NON-SMTP COMMAND ", "non-smtp"],
  ["BARE NEWLINE ", "bare-newline"],
  ["COMMAND TIME LIMIT ", "command-limit"],
  ["COMMAND COUNT LIMIT ", "command-limit"],
  ["COMMAND LENGTH LIMIT ", "command-limit"],
  ["DENYLISTED ", "denylisted"],
  ["BLACKLISTED ", "denylisted"],
];

const failure = (message: string): Events => err({ code: "POSTFIX_UNREADABLE", message });

/**
 * Reads Postfix's messages (every daemon, every instance: `postfix/smtpd`,
 * `postfix/submission/smtpd`, `postfix-out/qmgr`, `postfix/postscreen`, …).
 *
 * Stateful: the smtpd `client=… sasl_username=` line of a queue id is remembered so that the
 * later qmgr `from=` and delivery `to=` lines of the same message carry the account and IP that
 * submitted it. The table is bounded by size and by event-time age.
 */
export class PostfixParser implements MessageParser {
  readonly id = "postfix";
  readonly #queue = new Map<string, QueueEntry>();
  readonly #maxEntries: number;
  readonly #maxAge: number;
  // Results of #client, to return three values without allocating.
  #ip: string | undefined;
  #ipText = "";

  constructor(options: PostfixParserOptions = {}) {
    this.#maxEntries = options.maxQueueEntries ?? 200_000;
    this.#maxAge = options.maxQueueAgeMs ?? 5 * DAY;
  }

  /** How many queue ids are remembered (for tests and metrics). */
  get queueSize(): number {
    return this.#queue.size;
  }

  accepts(program: string): boolean {
    if (!program.startsWith("postfix")) return false;
    if (program.length === 7) return true;
    const c = program.charCodeAt(7);
    return c === 47 /* / */ || c === 45; /* - (multi-instance) */
  }

  parse(record: SyslogRecord, origin: LineOrigin): Events {
    const msg = record.message;
    const program = record.program;
    const c0 = msg.charCodeAt(0);
    if (program.endsWith("/postscreen")) return this.#postscreen(record, origin);
    if (c0 === 119 /* w */ && msg.startsWith("warning: ")) return this.#warning(record, origin);
    if (c0 === 78 /* N */ && msg.startsWith("NOQUEUE: ")) {
      if (msg.startsWith("reject: ", 9)) return this.#reject(record, origin, 17, null, false);
      return NOTHING;
    }
    if (c0 === 100 /* d */ && msg.startsWith("disconnect from ")) {
      return this.#disconnect(record, origin, 16, "disconnect", null);
    }
    if (c0 === 108 /* l */ && msg.startsWith("lost connection after ")) {
      return this.#lost(record, origin, 22, "lost");
    }
    if (c0 === 116 /* t */ && msg.startsWith("timeout after ")) {
      return this.#lost(record, origin, 14, "timeout");
    }
    const q = queueIdEnd(msg);
    if (q < 0) return NOTHING;
    const p = q + 2;
    switch (msg.charCodeAt(p)) {
      case 99: // c
        if (msg.startsWith("client=", p)) return this.#client(record, origin, q);
        return NOTHING;
      case 102: // f
        if (msg.startsWith("from=<", p)) return this.#from(record, origin, q);
        return NOTHING;
      case 116: // t
        if (msg.startsWith("to=<", p)) return this.#to(record, origin, q);
        return NOTHING;
      case 114: // r
        if (msg.length === p + 7 && msg.startsWith("removed", p)) {
          this.#queue.delete(msg.slice(0, q));
          return NOTHING;
        }
        if (msg.startsWith("reject: ", p)) {
          return this.#reject(record, origin, p + 8, msg.slice(0, q), false);
        }
        return NOTHING;
      case 109: // m
        if (msg.startsWith("milter-reject: ", p)) {
          return this.#reject(record, origin, p + 15, msg.slice(0, q), false);
        }
        return NOTHING;
      default:
        return NOTHING;
    }
  }

  /** smtpd: `QID: client=host[ip][:port], sasl_method=PLAIN, sasl_username=u@x[, …]`. */
  #client(record: SyslogRecord, origin: LineOrigin, q: number): Events {
    const msg = record.message;
    const end = this.#clientAt(msg, q + 9);
    if (end < 0) return failure("unreadable client= line");
    const m = msg.indexOf(", sasl_username=", end);
    if (m < 0) return NOTHING; // not an authenticated submission
    let e = msg.indexOf(", ", m + 16);
    if (e < 0) e = msg.length;
    const account = msg.slice(m + 16, e);
    if (account === "") return NOTHING;
    let mechanism: string | null = null;
    const k = msg.indexOf(", sasl_method=", end);
    if (k >= 0 && k < m) mechanism = msg.slice(k + 14, m);
    const queueId = msg.slice(0, q);
    const ip = this.#ip;
    // Detached: a join entry outlives the line, and must not pin the chunk it was read from.
    this.#remember(detach(queueId), {
      ip: ip === undefined ? undefined : detach(ip),
      account: detach(account),
      mechanism: mechanism === null ? null : detach(mechanism),
      time: record.time,
      submitted: false,
    });
    const fields = { queue_id: queueId, mechanism, program: record.program };
    return ok([event(origin, "auth.success", record, ip, account, undefined, fields)]);
  }

  #remember(queueId: string, entry: QueueEntry): void {
    const queue = this.#queue;
    queue.delete(queueId);
    queue.set(queueId, entry);
    if (queue.size > this.#maxEntries) {
      const oldest = queue.keys().next();
      if (oldest.done !== true) queue.delete(oldest.value);
    }
    const horizon = entry.time - this.#maxAge;
    for (const [id, e] of queue) {
      if (e.time >= horizon) break;
      queue.delete(id);
    }
  }

  /** qmgr: `QID: from=<a@b>, size=1234, nrcpt=3 (queue active)`. */
  #from(record: SyslogRecord, origin: LineOrigin, q: number): Events {
    const msg = record.message;
    const entry = this.#queue.get(msg.slice(0, q));
    if (entry === undefined || entry.submitted) return NOTHING;
    if (!msg.endsWith(" (queue active)")) return NOTHING;
    const s = msg.lastIndexOf(">, size=");
    const start = q + 8;
    if (s < start) return failure("unreadable qmgr from= line");
    const sizeEnd = digitsEnd(msg, s + 8);
    const size = parseUint(msg, s + 8, sizeEnd);
    if (size < 0 || !msg.startsWith(", nrcpt=", sizeEnd)) return failure("unreadable qmgr line");
    const nrcpt = parseUint(msg, sizeEnd + 8, digitsEnd(msg, sizeEnd + 8));
    if (nrcpt < 0) return failure("unreadable qmgr nrcpt");
    entry.submitted = true;
    const sender = msg.slice(start, s).toLowerCase();
    const fields = { queue_id: msg.slice(0, q), size, nrcpt, sender };
    const email = sender === "" ? undefined : sender;
    return ok([event(origin, "mail.submitted", record, entry.ip, entry.account, email, fields)]);
  }

  /** Delivery agents: `QID: to=<x@y>, [orig_to=<…>, ]relay=…, delay=…, dsn=2.0.0, status=sent (…)`. */
  #to(record: SyslogRecord, origin: LineOrigin, q: number): Events {
    const msg = record.message;
    const start = q + 6;
    const relayAt = msg.indexOf(", relay=", start);
    if (relayAt < 0) return NOTHING;
    let toEnd = msg.indexOf(">, orig_to=<", start);
    if (toEnd < 0 || toEnd > relayAt) toEnd = relayAt - 1;
    if (msg.charCodeAt(toEnd) !== 62 /* > */) return failure("unreadable to= line");
    const statusAt = msg.indexOf(", status=", relayAt);
    if (statusAt < 0) return NOTHING;
    let statusEnd = msg.indexOf(" ", statusAt + 9);
    if (statusEnd < 0) statusEnd = msg.length;
    const status = msg.slice(statusAt + 9, statusEnd);
    if (!DELIVERY_STATUS.has(status)) return NOTHING;
    let relayEnd = msg.indexOf(", ", relayAt + 8);
    if (relayEnd < 0) relayEnd = statusAt;
    const dsnAt = msg.indexOf(", dsn=", relayEnd);
    let dsn: string | null = null;
    if (dsnAt >= 0 && dsnAt < statusAt) dsn = msg.slice(dsnAt + 6, msg.indexOf(", ", dsnAt + 6));
    const queueId = msg.slice(0, q);
    const entry = this.#queue.get(queueId);
    const fields = {
      queue_id: queueId,
      recipient: msg.slice(start, toEnd).toLowerCase(),
      status,
      dsn,
      relay: msg.slice(relayAt + 8, relayEnd),
    };
    return ok([
      event(origin, "mail.delivery", record, entry?.ip, entry?.account, undefined, fields),
    ]);
  }

  /** `warning: host[ip]: SASL LOGIN authentication failed: reason[, sasl_username=u]`. */
  #warning(record: SyslogRecord, origin: LineOrigin): Events {
    const msg = record.message;
    const end = this.#clientAt(msg, 9);
    if (end < 0 || !msg.startsWith(": SASL ", end)) return NOTHING;
    let m = end + 7;
    let mechanism: string | null = null;
    if (!msg.startsWith("authentication failed", m)) {
      const sp = msg.indexOf(" ", m);
      if (sp < 0 || !msg.startsWith("authentication failed", sp + 1)) return NOTHING;
      mechanism = msg.slice(m, sp);
      m = sp + 1;
    }
    m += 21;
    let reasonEnd = msg.length;
    let account: string | undefined;
    const u = msg.lastIndexOf(", sasl_username=");
    if (u >= m) {
      reasonEnd = u;
      const name = msg.slice(u + 16);
      if (name !== "") account = name;
    }
    const reason = msg.startsWith(": ", m) ? msg.slice(m + 2, reasonEnd) : "";
    // The server's own fault, not the client's: counting it would lock out honest users.
    if (reason.startsWith("Connection lost to authentication server")) return NOTHING;
    if (this.#ip === undefined) return failure("SASL failure without a client address");
    const fields = { program: record.program, mechanism, reason };
    return ok([event(origin, "auth.failure", record, this.#ip, account, undefined, fields)]);
  }

  /** `disconnect from host[ip] ehlo=1 auth=0/1 quit=1 commands=2/3`. */
  #disconnect(
    record: SyslogRecord,
    origin: LineOrigin,
    at: number,
    reason: string,
    after: string | null,
  ): Events {
    const msg = record.message;
    const end = this.#clientAt(msg, at);
    if (end < 0 || this.#ip === undefined) return failure("unreadable disconnect line");
    let authFailed = 0;
    let commands: string | null = null;
    if (reason === "disconnect") {
      const a = msg.indexOf(" auth=", end);
      if (a >= 0) {
        const okEnd = digitsEnd(msg, a + 6);
        const good = parseUint(msg, a + 6, okEnd);
        if (msg.charCodeAt(okEnd) === 47 /* / */) {
          const tried = parseUint(msg, okEnd + 1, digitsEnd(msg, okEnd + 1));
          if (good >= 0 && tried > good) authFailed = tried - good;
        }
      }
      const c = msg.indexOf(" commands=", end);
      if (c >= 0) {
        const sp = msg.indexOf(" ", c + 10);
        commands = msg.slice(c + 10, sp < 0 ? msg.length : sp);
      }
    }
    const fields = { program: record.program, reason, after, auth_failed: authFailed, commands };
    return ok([event(origin, "smtp.disconnect", record, this.#ip, undefined, undefined, fields)]);
  }

  /** `lost connection after AUTH from host[ip]`, `timeout after DATA (123 bytes) from …`. */
  #lost(record: SyslogRecord, origin: LineOrigin, at: number, reason: string): Events {
    const msg = record.message;
    const from = msg.indexOf(" from ", at);
    if (from < 0) return failure("unreadable lost connection line");
    let stageEnd = msg.indexOf(" ", at);
    if (stageEnd > from) stageEnd = from;
    return this.#disconnect(record, origin, from + 6, reason, msg.slice(at, stageEnd));
  }

  /**
   * `STAGE from host[ip][:port]: [550 ][5.7.1 ]text[; from=<a> to=<b> proto=ESMTP helo=<h>]`
   * starting at `p`, after `reject: ` or `milter-reject: `.
   */
  #reject(
    record: SyslogRecord,
    origin: LineOrigin,
    p: number,
    queueId: string | null,
    postscreen: boolean,
  ): Events {
    const msg = record.message;
    const from = msg.indexOf(" from ", p);
    if (from < 0 || from - p > 20) return failure("unreadable reject line");
    const stage = msg.slice(p, from);
    const end = this.#clientAt(msg, from + 6);
    if (end < 0 || msg.charCodeAt(end) !== 58 /* : */) return failure("unreadable reject client");
    if (this.#ip === undefined) return failure("reject line without a client address");
    const ip = this.#ip;
    let t = end + 2;
    let code: number | null = null;
    const c = digitsEnd(msg, t);
    if (c === t + 3 && msg.charCodeAt(c) === 32) {
      code = parseUint(msg, t, c);
      t = c + 1;
    }
    let dsn: string | null = null;
    const d = dsnEnd(msg, t);
    if (d > 0) {
      dsn = msg.slice(t, d);
      t = d + 1;
    }
    // The trailer; the text before it may itself contain "; " (DNSBL replies).
    let tr = msg.lastIndexOf("; from=<");
    if (tr < t) tr = msg.lastIndexOf("; proto=");
    if (tr < t) tr = msg.length;
    // Drop the address the check was about: "<x@y>: Relay access denied", ": Helo command …"
    if (msg.charCodeAt(t) === 60 /* < */) {
      const close = msg.indexOf(">: ", t);
      if (close >= 0 && close < tr) t = close + 3;
    } else if (msg.startsWith(": ", t)) t += 2;
    let reason = msg.slice(t, tr);
    const sender = trailerValue(msg, tr, "from=<");
    const recipient = trailerValue(msg, tr, " to=<");
    let helo = trailerValue(msg, tr, " helo=<");
    if (helo === null) {
      const h = msg.indexOf(" helo=", tr);
      if (h >= 0) helo = msg.slice(h + 6);
    }
    const email = sender === null || sender === "" ? undefined : sender.toLowerCase();
    const fields: Record<string, FieldValue> = {
      stage: postscreen ? "postscreen" : stage,
      code,
      dsn,
      reason,
      recipient: recipient === null ? null : recipient.toLowerCase(),
      helo,
      program: record.program,
    };
    if (postscreen) {
      const b = reason.indexOf(" blocked using ");
      if (b >= 0) {
        const listEnd = reason.indexOf(";", b + 15);
        fields["list"] = reason.slice(b + 15, listEnd < 0 ? reason.length : listEnd);
        reason = "dnsbl";
        fields["reason"] = reason;
      }
    }
    if (queueId !== null) fields["queue_id"] = queueId;
    return ok([event(origin, "mail.rejected", record, ip, undefined, email, fields)]);
  }

  #postscreen(record: SyslogRecord, origin: LineOrigin): Events {
    const msg = record.message;
    if (msg.startsWith("NOQUEUE: reject: ")) return this.#reject(record, origin, 17, null, true);
    for (const [keyword, reason] of POSTSCREEN_VERDICTS) {
      if (!msg.startsWith(keyword)) continue;
      const open = msg.indexOf("[", keyword.length);
      if (open < 0 || this.#clientAt(msg, open) < 0 || this.#ip === undefined) {
        return failure("postscreen verdict without a client address");
      }
      const fields: Record<string, FieldValue> = {
        stage: "postscreen",
        reason,
        program: record.program,
      };
      if (reason === "dnsbl") fields["rank"] = parseUint(msg, 11, digitsEnd(msg, 11));
      return ok([event(origin, "mail.rejected", record, this.#ip, undefined, undefined, fields)]);
    }
    return NOTHING;
  }

  /**
   * `name[ip]` or `name[ip]:port` at `p` (name may be empty; ip may read `IPv6:…`). Sets #ip
   * (normalised, or undefined when not an address) and returns the index after it, or -1.
   */
  #clientAt(msg: string, p: number): number {
    const open = msg.indexOf("[", p);
    if (open < 0) return -1;
    const close = msg.indexOf("]", open + 1);
    if (close < 0) return -1;
    // The name never holds a space or ':'; a mismatch means this is not a client.
    for (let i = p; i < open; i++) {
      const c = msg.charCodeAt(i);
      if (c === 32 || c === 58) return -1;
    }
    let start = open + 1;
    if (msg.startsWith("IPv6:", start)) start += 5;
    const text = msg.slice(start, close);
    if (text !== this.#ipText) {
      this.#ipText = text;
      this.#ip = normalizeIp(text);
    }
    let end = close + 1;
    if (msg.charCodeAt(end) === 58 /* : */) {
      const portEnd = digitsEnd(msg, end + 1);
      if (portEnd > end + 1) end = portEnd;
    }
    return end;
  }
}

/**
 * Where a queue id at the start of a message ends (the index of its ':'), or -1. Short ids are
 * upper-case hex (`3F1A2B4C5D`), long ones base-52ish (`4Xyz1234abcdEFG`).
 */
function queueIdEnd(msg: string): number {
  let i = 0;
  for (; i < msg.length && i <= 20; i++) {
    const c = msg.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122))) break;
  }
  if (i < 5 || i > 20 || msg.charCodeAt(i) !== 58 || msg.charCodeAt(i + 1) !== 32) return -1;
  return i;
}

/** An enhanced status code `5.7.1 ` at `t`: returns the index of the space after it, or -1. */
function dsnEnd(msg: string, t: number): number {
  const c = msg.charCodeAt(t);
  if (c < 50 || c > 53 || msg.charCodeAt(t + 1) !== 46) return -1;
  const a = digitsEnd(msg, t + 2);
  if (a === t + 2 || a > t + 5 || msg.charCodeAt(a) !== 46) return -1;
  const b = digitsEnd(msg, a + 1);
  if (b === a + 1 || b > a + 4 || msg.charCodeAt(b) !== 32) return -1;
  return b;
}

/** `key<value>` in the trailer that starts at `tr`, or null. */
function trailerValue(msg: string, tr: number, key: string): string | null {
  if (tr >= msg.length) return null;
  const k = msg.indexOf(key, tr);
  if (k < 0) return null;
  const start = k + key.length;
  const close = msg.indexOf(">", start);
  return close < 0 ? null : msg.slice(start, close);
}

const event = (
  origin: LineOrigin,
  type: string,
  record: SyslogRecord,
  ip: string | undefined,
  account: string | undefined,
  email: string | undefined,
  fields: Readonly<Record<string, FieldValue>>,
): Event => recordEvent(origin, type, record, SERVICE, ip, account, email, fields);

export function createPostfixParser(options: PostfixParserOptions = {}): PostfixParser {
  return new PostfixParser(options);
}
