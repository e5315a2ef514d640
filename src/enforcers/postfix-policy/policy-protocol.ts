/**
 * Postfix's SMTP access policy delegation protocol: a request is `name=value` lines ended by an
 * empty line; the answer is `action=…` and an empty line. Several requests may follow each
 * other on one connection (smtpd reuses it), and one read may hold parts of several.
 */

/** A request's attributes, as Postfix sent them (unknown ones kept). */
export type PolicyRequest = Readonly<Record<string, string>>;

export interface ReaderLimits {
  /** A request larger than this is refused and the connection closed. Default 64 KiB. */
  readonly maxRequestBytes?: number;
}

export type ReadOutcome =
  | {
      readonly kind: "request";
      readonly request: PolicyRequest;
      readonly malformed: readonly string[];
    }
  | { readonly kind: "too-large" };

const NONE: readonly string[] = Object.freeze([]);
const TOO_LARGE: ReadOutcome = Object.freeze({ kind: "too-large" });
const NL = 0x0a;
const CR = 0x0d;
const EQ = 0x3d;

/**
 * Splits a connection's bytes into requests. One per connection; keeps a partial line.
 *
 * Works on the bytes, not on decoded text: each value is decoded on its own into a string that
 * owns its characters. A value sliced from a decoded read would keep that whole read alive for
 * as long as detection remembers the value (a queue id, an account), which at tens of thousands
 * of requests a second fills the old generation and brings long collections.
 */
export class PolicyReader {
  #pending: Buffer | undefined;
  #attrs: Record<string, string> = {};
  #malformed: string[] | undefined;
  #size = 0;
  readonly #max: number;

  constructor(limits: ReaderLimits = {}) {
    this.#max = limits.maxRequestBytes ?? 64 * 1024;
  }

  /** Feeds a read's bytes; returns the requests they complete. */
  push(chunk: Buffer, out: ReadOutcome[]): void {
    let buf = chunk;
    if (this.#pending !== undefined) {
      buf = Buffer.concat([this.#pending, chunk]);
      this.#pending = undefined;
    }
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(NL, start);
      if (nl < 0) break;
      const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
      this.#size += end - start + 1;
      if (this.#size > this.#max) {
        out.push(TOO_LARGE);
        this.#reset();
        return;
      }
      if (end === start) {
        out.push({ kind: "request", request: this.#attrs, malformed: this.#malformed ?? NONE });
        this.#reset();
      } else {
        let eq = start;
        while (eq < end && buf[eq] !== EQ) eq++;
        if (eq === start || eq === end) this.#malformedLine(buf, start, end);
        else {
          const name = buf.toString("utf8", start, eq);
          // A plain object keeps Postfix's fixed order of attributes on one shape; the one name
          // that would reach its prototype is kept out.
          if (name !== "__proto__") this.#attrs[name] = buf.toString("utf8", eq + 1, end);
        }
      }
      start = nl + 1;
    }
    if (start < buf.length) {
      if (buf.length - start + this.#size > this.#max) {
        out.push(TOO_LARGE);
        this.#reset();
        return;
      }
      this.#pending = Buffer.from(buf.subarray(start)); // a copy: the read itself can go
    }
  }

  #malformedLine(buf: Buffer, start: number, end: number): void {
    this.#malformed ??= [];
    if (this.#malformed.length < 5)
      this.#malformed.push(buf.toString("utf8", start, Math.min(end, start + 80)));
  }

  #reset(): void {
    this.#attrs = {};
    this.#malformed = undefined;
    this.#size = 0;
  }
}

/** The answer to a request. Newlines in the text would break the protocol: they are removed. */
export function formatAnswer(action: string): string {
  const broken = action.includes("\n") || action.includes("\r");
  return `action=${broken ? action.replace(/[\r\n]+/g, " ") : action}\n\n`;
}
