import { parseFirehol } from "./firehol.ts";
import type { ListParser } from "./list-builder.ts";
import { parsePlain, parseTorBulk } from "./plain.ts";
import { parseSpamhausDrop, parseSpamhausJson } from "./spamhaus.ts";
import { parseTorExitAddresses } from "./tor.ts";

export type { ListParseOptions, ListParser, ParsedList } from "./list-builder.ts";

/** Every list format Rempart imports, by the name the configuration and the CLI use. */
export const LIST_FORMATS = Object.freeze({
  plain: parsePlain,
  cidr: parsePlain,
  "spamhaus-drop": parseSpamhausDrop,
  "spamhaus-json": parseSpamhausJson,
  firehol: parseFirehol,
  "tor-exit": parseTorExitAddresses,
  "tor-bulk": parseTorBulk,
} satisfies Record<string, ListParser>);

export type ListFormat = keyof typeof LIST_FORMATS;
export const LIST_FORMAT_NAMES = Object.freeze(Object.keys(LIST_FORMATS) as ListFormat[]);

export const isListFormat = (name: string): name is ListFormat => Object.hasOwn(LIST_FORMATS, name);

export {
  parseFirehol,
  parsePlain,
  parseSpamhausDrop,
  parseSpamhausJson,
  parseTorBulk,
  parseTorExitAddresses,
};
