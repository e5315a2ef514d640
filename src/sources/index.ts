/**
 * The parser registry: every log format Rempart reads, by id, and the guess of a file's format
 * from a sample of its lines.
 */
import type { ParserPlugin } from "../core/ports.ts";
import { JsonParserPlugin } from "./app-json/index.ts";
import { ApacheParserPlugin, NginxParserPlugin } from "./http-access/index.ts";
import { SyslogParserPlugin } from "./syslog/index.ts";

export { parseAppEvent } from "./app-json/index.ts";
export { createMessageDispatcher, MessageDispatcher } from "./syslog/index.ts";

/** Every parser plugin, in the order `sniffFormat` breaks ties. */
export const PARSER_PLUGINS: readonly ParserPlugin[] = Object.freeze([
  SyslogParserPlugin,
  NginxParserPlugin,
  ApacheParserPlugin,
  JsonParserPlugin,
]);

/** Names users may write for a plugin: Postfix and Dovecot log through syslog. */
const ALIASES: Readonly<Record<string, string>> = Object.freeze({
  postfix: "syslog",
  dovecot: "syslog",
});

/** The plugin with this id or alias, or undefined. */
export function parserPlugin(id: string): ParserPlugin | undefined {
  const real = Object.hasOwn(ALIASES, id) ? ALIASES[id] : id;
  return PARSER_PLUGINS.find((p) => p.id === real);
}

/**
 * The id of the format most sample lines look like (each plugin's `sniff` votes per line;
 * empty lines do not vote), or undefined when no plugin recognises any line. Ties go to the
 * plugin listed first, so nginx and Apache logs (the same format) read as "nginx".
 */
export function sniffFormat(sampleLines: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestVotes = 0;
  for (const plugin of PARSER_PLUGINS) {
    let votes = 0;
    for (const line of sampleLines) if (line !== "" && plugin.sniff(line)) votes++;
    if (votes > bestVotes) {
      best = plugin.id;
      bestVotes = votes;
    }
  }
  return best;
}
