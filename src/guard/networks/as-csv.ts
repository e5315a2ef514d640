import { createReadStream } from "node:fs";
import {
  newAddressWords,
  parseAddressWords,
  parseAsn,
  unmapIPv4,
  type AddressWords,
} from "../../net/index.ts";

/**
 * The CSV of ip-location-db's `asn` package (and of any source in its format):
 * `ip_range_start,ip_range_end,autonomous_system_number,autonomous_system_organization`, the
 * range inclusive, the addresses as text (`1.0.0.0`, `2001:200::`) or as decimal numbers (the
 * `-num` files; a number below 2^32 is IPv4). Fields may be quoted, `""` inside quotes is one `"`.
 */
export interface AsCsvRow {
  readonly family: 4 | 6;
  /** The first and last address: IPv4 in word 0, IPv6 most significant word first. */
  readonly start: AddressWords;
  readonly end: AddressWords;
  readonly asn: number;
  readonly name: string;
}

/** Reused across calls: a row's words are only valid until the next line is parsed. */
export class AsCsvLineParser {
  readonly #start = newAddressWords();
  readonly #end = newAddressWords();
  readonly #fields: string[] = [];

  /**
   * Parses one line. Answers the row, `undefined` for a line without data (blank, `#`
   * comment), or a message saying what is wrong with it.
   */
  parse(line: string): AsCsvRow | undefined | string {
    const c0 = line.charCodeAt(0);
    if (line.length === 0 || c0 === 35 /* # */ || (c0 <= 32 && line.trim() === ""))
      return undefined;
    const fields = this.#split(line);
    if (typeof fields === "string") return fields;
    if (fields.length < 3)
      return `expected start,end,asn,name; got ${fields.length} field${fields.length === 1 ? "" : "s"}`;
    const family = parseBound(fields[0]!, this.#start);
    if (family === 0) return `${quote(fields[0]!)} is not an address`;
    const endFamily = parseBound(fields[1]!, this.#end);
    if (endFamily === 0) return `${quote(fields[1]!)} is not an address`;
    if (endFamily !== family) return "the range starts and ends in different address families";
    if (compareWords(this.#start, this.#end) > 0) return "the range ends before it starts";
    const asn = parseAsn(fields[2]!);
    if (asn < 0) return `${quote(fields[2]!)} is not an AS number`;
    return { family, start: this.#start, end: this.#end, asn, name: (fields[3] ?? "").trim() };
  }

  #split(line: string): string[] | string {
    const out = this.#fields;
    out.length = 0;
    let i = 0;
    for (;;) {
      if (line.charCodeAt(i) === 34 /* " */) {
        let value = "";
        let j = i + 1;
        for (;;) {
          const q = line.indexOf('"', j);
          if (q < 0) return "a quoted field is not closed";
          value += line.slice(j, q);
          if (line.charCodeAt(q + 1) === 34) {
            value += '"';
            j = q + 2;
            continue;
          }
          i = q + 1;
          break;
        }
        out.push(value);
        if (i < line.length && line.charCodeAt(i) !== 44 /* , */)
          return "a quoted field is followed by something other than a comma";
      } else {
        const comma = line.indexOf(",", i);
        out.push(line.slice(i, comma < 0 ? line.length : comma));
        i = comma < 0 ? line.length : comma;
      }
      if (i >= line.length) return out;
      i++; // the comma
    }
  }
}

const quote = (s: string): string => JSON.stringify(s.slice(0, 60));

/** Whether `s` is 1 to 39 decimal digits (a `-num` file's address). */
function isDecimal(s: string): boolean {
  if (s.length === 0 || s.length > 39) return false;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
  }
  return true;
}

const TWO_32 = 4294967296n;

/** An address as text or as a decimal number, into `out`; its family, or 0. */
function parseBound(text: string, out: AddressWords): 0 | 4 | 6 {
  const s = text.trim();
  if (!isDecimal(s)) return parseAddressWords(s, out);
  if (s.length <= 10) {
    const n = Number(s);
    if (n < 2 ** 32) {
      out[0] = n;
      out[1] = 0;
      out[2] = 0;
      out[3] = 0;
      return 4;
    }
  }
  let n = BigInt(s);
  if (n >> 128n !== 0n) return 0;
  for (let k = 3; k >= 0; k--) {
    out[k] = Number(n % TWO_32);
    n /= TWO_32;
  }
  return unmapIPv4(out);
}

/** Compares two addresses of the same family word by word. */
function compareWords(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let k = 0; k < 4; k++) {
    const d = a[k]! - b[k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Where reading stopped, for the message: the file, the 1-based line and why. */
export interface AsCsvProblem {
  readonly file: string;
  readonly line?: number;
  readonly message: string;
}

/**
 * Streams a CSV file line by line (never the whole file as one string) and hands each row to
 * `onRow`. Stops at the first bad line: a file with lines we cannot read is more likely the
 * wrong file or a damaged download than data to trust. The first line may be a header.
 */
export async function readAsCsv(
  file: string,
  onRow: (row: AsCsvRow) => void,
): Promise<AsCsvProblem | undefined> {
  const parser = new AsCsvLineParser();
  let line = 0;
  let carry = "";
  const take = (text: string): AsCsvProblem | undefined => {
    line++;
    const r = parser.parse(text.endsWith("\r") ? text.slice(0, -1) : text);
    if (typeof r === "string") {
      if (line === 1 && !/^\s*"?[\d:a-f]/i.test(text)) return undefined; // a header
      return { file, line, message: r };
    }
    if (r !== undefined) onRow(r);
    return undefined;
  };
  try {
    const stream = createReadStream(file, { encoding: "utf8", highWaterMark: 1 << 20 });
    for await (const chunk of stream as AsyncIterable<string>) {
      let from = 0;
      for (let nl = chunk.indexOf("\n"); nl >= 0; nl = chunk.indexOf("\n", from)) {
        const text = carry === "" ? chunk.slice(from, nl) : carry + chunk.slice(from, nl);
        carry = "";
        from = nl + 1;
        const problem = take(text);
        if (problem) {
          stream.destroy();
          return problem;
        }
      }
      carry += chunk.slice(from);
    }
  } catch (e) {
    return { file, message: `cannot read it: ${(e as Error).message}` };
  }
  return carry === "" ? undefined : take(carry);
}
