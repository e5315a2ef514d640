import type { MessageParser } from "../../core/ports.ts";
import { createDovecotParser } from "../dovecot/index.ts";
import { createPostfixParser } from "../postfix/index.ts";
import { makeSyslogPlugin, MessageDispatcher, type MessageParserFactory } from "./syslog-parser.ts";

export {
  looksLikeSyslog,
  makeSyslogPlugin,
  MessageDispatcher,
  SyslogLineParser,
  type MessageParserFactory,
} from "./syslog-parser.ts";
export { SyslogFramer } from "./syslog-framing.ts";
export { ZoneOffsets } from "./zone-offsets.ts";

/** The program parsers a syslog stream feeds, in the order they are asked. */
export const PROGRAM_PARSERS: readonly MessageParserFactory[] = Object.freeze([
  () => createPostfixParser(),
  () => createDovecotParser(),
]);

/** Syslog files (BSD, RFC 3339, RFC 5424 framing) carrying Postfix and Dovecot messages. */
export const SyslogParserPlugin = makeSyslogPlugin("syslog", PROGRAM_PARSERS);

/**
 * A dispatcher for records framed elsewhere (journald): fresh, stateful program parsers.
 * One per stream.
 */
export function createMessageDispatcher(): MessageDispatcher {
  const parsers: MessageParser[] = PROGRAM_PARSERS.map((make) => make({}));
  return new MessageDispatcher(parsers);
}
