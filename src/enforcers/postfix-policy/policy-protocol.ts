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

/** Splits a connection's bytes into requests. One per connection; keeps partial input. */
export class PolicyReader {
  #buffer = "";
  #attrs: Record<string, string> = Object.create(null) as Record<string, string>;
  #malformed: string[] = [];
  #size = 0;
  readonly #max: number;

  constructor(limits: ReaderLimits = {}) {
    this.#max = limits.maxRequestBytes ?? 64 * 1024;
  }

  /** Feeds bytes (decoded as UTF-8 text); returns the requests they complete. */
  push(text: string, out: ReadOutcome[]): void {
    this.#buffer += text;
    let start = 0;
    for (;;) {
      const nl = this.#buffer.indexOf("\n", start);
      if (nl < 0) break;
      let line = this.#buffer.slice(start, nl);
      start = nl + 1;
      if (line.endsWith("\r")) line = line.slice(0, -1);
      this.#size += line.length + 1;
      if (this.#size > this.#max) {
        out.push({ kind: "too-large" });
        this.#reset();
        this.#buffer = "";
        return;
      }
      if (line === "") {
        out.push({
          kind: "request",
          request: Object.freeze(this.#attrs),
          malformed: this.#malformed,
        });
        this.#reset();
        continue;
      }
      const eq = line.indexOf("=");
      if (eq <= 0) {
        if (this.#malformed.length < 5) this.#malformed.push(line.slice(0, 80));
        continue;
      }
      this.#attrs[line.slice(0, eq)] = line.slice(eq + 1);
    }
    this.#buffer = this.#buffer.slice(start);
    if (this.#buffer.length + this.#size > this.#max) {
      out.push({ kind: "too-large" });
      this.#reset();
      this.#buffer = "";
    }
  }

  #reset(): void {
    this.#attrs = Object.create(null) as Record<string, string>;
    this.#malformed = [];
    this.#size = 0;
  }
}

/** The answer to a request. Newlines in the text would break the protocol: they are removed. */
export function formatAnswer(action: string): string {
  return `action=${action.replace(/[\r\n]+/g, " ")}\n\n`;
}
