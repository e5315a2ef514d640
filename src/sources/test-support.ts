/** Helpers for the parsers' fixture tests (imported by tests only). */
import { readFileSync } from "node:fs";
import type { Event, FieldValue } from "../core/event.ts";
import type { LineParser } from "../core/ports.ts";

export function fixtureLines(url: URL): string[] {
  return readFileSync(url, "utf8")
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"));
}

export interface Expected {
  readonly type: string;
  readonly ip?: string;
  readonly account?: string;
  readonly email?: string;
  readonly fields: Readonly<Record<string, FieldValue>>;
}

/** Parses every line (offsets are 1-based line numbers) and returns the events per line. */
export function parseAll(parser: LineParser, source: string, lines: readonly string[]): Event[][] {
  return lines.map((line, i) => {
    const r = parser.parse(line, { source, offset: i + 1 });
    if (!r.ok) throw new Error(`line ${i + 1} refused: ${r.error.message}\n${line}`);
    return [...r.value];
  });
}

/** The full event a fixture line should give. */
export function expectEvent(
  source: string,
  line: number,
  service: string,
  time: number,
  tzOffset: number,
  e: Expected,
): Event {
  return { id: `${source}:${line}`, time, tzOffset, service, ...e };
}
