import { err, ok, type ParseError, type Result } from "../../core/index.ts";
import { canonicalEntry, type ListEntry } from "../entry.ts";

/** What a list parser read: unique entries in file order, and what it skipped. */
export interface ParsedList {
  readonly entries: readonly ListEntry[];
  /** Entries listed more than once (counted, not kept twice). */
  readonly duplicates: number;
  /** How many lines were invalid and skipped (only with `skipInvalid`). */
  readonly skipped: number;
  /** The first few skipped lines, with their line numbers. */
  readonly problems: readonly ParseError[];
  /** What the list's header says about it (name, date, declared size…). */
  readonly meta: Readonly<Record<string, string>>;
}

export interface ListParseOptions {
  /**
   * Skip invalid lines instead of refusing the whole list. Off by default: a list with lines
   * we cannot read is more likely a wrong format or a damaged download than a list to trust.
   */
  readonly skipInvalid?: boolean;
}

/** Parses a list; never throws, whatever the input. */
export type ListParser = (text: string, options?: ListParseOptions) => Result<ParsedList>;

const KEEP_PROBLEMS = 10;

/** Collects entries for the parsers: dedupes, counts, and decides whether a bad line is fatal. */
export class ListBuilder {
  readonly #entries: ListEntry[] = [];
  readonly #seen = new Set<string>();
  readonly #problems: ParseError[] = [];
  readonly #skip: boolean;
  readonly #format: string;
  #duplicates = 0;
  #skipped = 0;
  readonly meta: Record<string, string> = {};

  constructor(format: string, options: ListParseOptions = {}) {
    this.#format = format;
    this.#skip = options.skipInvalid === true;
  }

  get count(): number {
    return this.#entries.length + this.#duplicates;
  }

  /** Invalid lines skipped so far (`skipInvalid`). */
  get skipped(): number {
    return this.#skipped;
  }

  /** Adds an address or CIDR; returns the error that ends parsing, if any. */
  add(text: string, line: number, note?: string, addressesOnly = false): ParseError | undefined {
    const value = addressesOnly && text.includes("/") ? undefined : canonicalEntry(text);
    if (value === undefined)
      return this.invalid(
        line,
        `${JSON.stringify(text.slice(0, 60))} is not ${addressesOnly ? "an IP address" : "an IP address or CIDR range"}`,
      );
    if (this.#seen.has(value)) {
      this.#duplicates++;
      return undefined;
    }
    this.#seen.add(value);
    this.#entries.push(note === undefined || note === "" ? { value } : { value, note });
    return undefined;
  }

  /** Records a bad line; returns the error when bad lines are fatal. */
  invalid(line: number, message: string): ParseError | undefined {
    const error: ParseError = {
      code: "INPUT_INVALID",
      message: `${this.#format} list, line ${line}: ${message}`,
      line,
    };
    if (!this.#skip) return error;
    this.#skipped++;
    if (this.#problems.length < KEEP_PROBLEMS) this.#problems.push(error);
    return undefined;
  }

  result(): Result<ParsedList> {
    return ok(
      Object.freeze({
        entries: Object.freeze(this.#entries),
        duplicates: this.#duplicates,
        skipped: this.#skipped,
        problems: Object.freeze(this.#problems),
        meta: Object.freeze(this.meta),
      }),
    );
  }
}

/** Splits into lines (LF or CRLF), and refuses what is plainly not a list (an HTML page). */
export function listLines(text: string, format: string): Result<string[]> {
  const lines = text.split(/\r?\n/);
  const first = lines.find((l) => l.trim() !== "");
  if (first !== undefined && /^\s*</.test(first))
    return err({
      code: "INPUT_INVALID",
      message: `${format} list, line ${lines.indexOf(first) + 1}: this looks like an HTML page, not a list (an error page or a captive portal?)`,
      line: lines.indexOf(first) + 1,
    });
  return ok(lines);
}
