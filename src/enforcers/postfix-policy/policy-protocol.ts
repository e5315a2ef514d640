/**
 * Postfix's SMTP access policy delegation protocol: a request is `name=value` lines ended by an
 * empty line; the answer is `action=…` and an empty line. Several requests may follow each
 * other on one connection (smtpd reuses it), and one read may hold parts of several.
 */

/** A request's attributes, as Postfix sent them (unknown ones kept, the last of a name wins). */
export interface PolicyRequest {
  /** The value of the attribute with this (ASCII) name, decoded from UTF-8; undefined if absent. */
  get(name: string): string | undefined;
}

export interface ReaderLimits {
  /** A request larger than this is refused and the connection closed. Default 64 KiB. */
  readonly maxRequestBytes?: number;
}

/** Receives each complete request, with up to five malformed lines it held (usually none). */
export type OnRequest = (request: PolicyRequest, malformed: readonly string[]) => void;

const NONE: readonly string[] = Object.freeze([]);
const EMPTY = Buffer.alloc(0);
const NL = 0x0a;
const CR = 0x0d;
const EQ = 0x3d;

/**
 * A request read in place: where each attribute's name and value lie in the bytes. A value is
 * decoded only when asked for, into a string of its own: Postfix sends some thirty attributes
 * and Rempart reads eight, and a value sliced from a decoded read would keep the whole read
 * alive for as long as detection remembers it (a queue id, an account).
 */
class RequestBytes implements PolicyRequest {
  bytes: Buffer = EMPTY;
  /** Per attribute: name start, `=`, value end (before any CR). */
  spans = new Int32Array(3 * 64);
  count = 0;

  add(start: number, eq: number, end: number): void {
    if (3 * this.count === this.spans.length) {
      const more = new Int32Array(2 * this.spans.length);
      more.set(this.spans);
      this.spans = more;
    }
    const at = 3 * this.count++;
    this.spans[at] = start;
    this.spans[at + 1] = eq;
    this.spans[at + 2] = end;
  }

  get(name: string): string | undefined {
    const { bytes, spans } = this;
    const n = name.length;
    for (let i = this.count - 1; i >= 0; i--) {
      const start = spans[3 * i]!;
      if (spans[3 * i + 1]! - start !== n) continue;
      let k = 0;
      while (k < n && bytes[start + k] === name.charCodeAt(k)) k++;
      if (k === n) return bytes.toString("utf8", start + n + 1, spans[3 * i + 2]);
    }
    return undefined;
  }
}

/**
 * Splits a connection's bytes into requests. One per connection; keeps an unfinished request's
 * bytes until the rest arrives. The request handed to `onRequest` is read in place and valid
 * only during that call: take the values needed, not the request.
 */
export class PolicyReader {
  /** The bytes of a request not yet complete (from its first line), or undefined. */
  #pending: Buffer | undefined;
  readonly #request = new RequestBytes();
  #malformed: string[] | undefined;
  readonly #max: number;

  constructor(limits: ReaderLimits = {}) {
    this.#max = limits.maxRequestBytes ?? 64 * 1024;
  }

  /**
   * Feeds a read's bytes, calling `onRequest` for each request they complete. False when a
   * request is over the size limit: the connection should be closed.
   */
  push(chunk: Buffer, onRequest: OnRequest): boolean {
    const buf = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = undefined;
    const request = this.#request;
    request.bytes = buf;
    request.count = 0;
    this.#malformed = undefined;
    let first = 0; // where the current request began
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(NL, start);
      if (nl < 0) break;
      if (nl + 1 - first > this.#max) return this.#refuse();
      const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
      if (end === start) {
        onRequest(request, this.#malformed ?? NONE);
        request.count = 0;
        this.#malformed = undefined;
        first = nl + 1;
      } else {
        let eq = start;
        while (eq < end && buf[eq] !== EQ) eq++;
        if (eq === start || eq === end) this.#malformedLine(buf, start, end);
        else request.add(start, eq, end);
      }
      start = nl + 1;
    }
    if (buf.length - first > this.#max) return this.#refuse();
    // The unfinished request is read again, whole, when its end arrives: a copy, so that the
    // read itself can go.
    if (first < buf.length) this.#pending = Buffer.from(buf.subarray(first));
    request.bytes = EMPTY;
    return true;
  }

  #refuse(): false {
    this.#pending = undefined;
    this.#request.bytes = EMPTY;
    this.#request.count = 0;
    return false;
  }

  #malformedLine(buf: Buffer, start: number, end: number): void {
    this.#malformed ??= [];
    if (this.#malformed.length < 5)
      this.#malformed.push(buf.toString("utf8", start, Math.min(end, start + 80)));
  }
}

/** The answer to a request. Newlines in the text would break the protocol: they are removed. */
export function formatAnswer(action: string): string {
  const broken = action.includes("\n") || action.includes("\r");
  return `action=${broken ? action.replace(/[\r\n]+/g, " ") : action}\n\n`;
}
