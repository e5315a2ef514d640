import type { Event } from "../../core/event.ts";
import type {
  LineOrigin,
  LineParser,
  MessageParser,
  ParserOptions,
  ParserPlugin,
  SyslogRecord,
} from "../../core/ports.ts";
import { err, type Result } from "../../core/result.ts";
import { monthAt, NOTHING } from "../scan.ts";
import { SyslogFramer } from "./syslog-framing.ts";

export type MessageParserFactory = (options: ParserOptions) => MessageParser;

/**
 * Hands a framed syslog record to the first program parser that accepts its tag. Records of
 * other programs are understood and ignored (`ok([])`). The journald source calls this with
 * records it framed itself.
 */
export class MessageDispatcher {
  readonly #parsers: readonly MessageParser[];

  constructor(parsers: readonly MessageParser[]) {
    this.#parsers = parsers;
  }

  accepts(program: string): boolean {
    for (const p of this.#parsers) if (p.accepts(program)) return true;
    return false;
  }

  dispatch(record: SyslogRecord, origin: LineOrigin): Result<readonly Event[]> {
    for (const p of this.#parsers) if (p.accepts(record.program)) return p.parse(record, origin);
    return NOTHING;
  }
}

/** Frames each line, then dispatches the record. One instance per stream (it keeps state). */
export class SyslogLineParser implements LineParser {
  readonly id: string;
  readonly #framer: SyslogFramer;
  readonly #dispatcher: MessageDispatcher;

  constructor(id: string, framer: SyslogFramer, dispatcher: MessageDispatcher) {
    this.id = id;
    this.#framer = framer;
    this.#dispatcher = dispatcher;
  }

  parse(line: string, origin: LineOrigin): Result<readonly Event[]> {
    const record = this.#framer.frame(line);
    if (record === null) {
      return err({ code: "SYSLOG_FRAMING", message: this.#framer.error, offset: origin.offset });
    }
    return this.#dispatcher.dispatch(record, origin);
  }
}

const RFC3339_START = /^(?:<\d{1,3}>(?:\d )?)?\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d/;

/** Cheap guess for `--type auto`: a BSD or RFC 3339/5424 syslog header. */
export function looksLikeSyslog(line: string): boolean {
  let p = 0;
  if (line.charCodeAt(0) === 60) {
    const close = line.indexOf(">", 1);
    if (close < 2 || close > 4) return false;
    p = close + 1;
  }
  if (monthAt(line, p) >= 0) {
    return line.charCodeAt(p + 3) === 32 && line.charCodeAt(p + 9) === 58;
  }
  return RFC3339_START.test(line);
}

/** A syslog parser plugin that feeds the given program parsers (fresh instances per stream). */
export function makeSyslogPlugin(
  id: string,
  programs: readonly MessageParserFactory[],
): ParserPlugin {
  return Object.freeze({
    id,
    sniff: looksLikeSyslog,
    create(options: ParserOptions): LineParser {
      const dispatcher = new MessageDispatcher(programs.map((make) => make(options)));
      return new SyslogLineParser(id, new SyslogFramer(options), dispatcher);
    },
  });
}
