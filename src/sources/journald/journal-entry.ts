import type { SyslogRecord } from "../../core/ports.ts";
import { err, ok, type Result } from "../../core/result.ts";

/** A journal entry as a syslog record, with what locates it in the journal. */
export interface JournalRecord extends SyslogRecord {
  /** The entry's cursor: reading resumes after it. */
  readonly cursor: string;
  /** `_SYSTEMD_UNIT`, when the entry came from a service. */
  readonly unit?: string;
}

const decoder = new TextDecoder("utf-8");

/**
 * Reads one line of `journalctl -o json`. Field values are strings, but journalctl writes a
 * value that is not valid UTF-8 as an array of bytes, a value it left out (too large without
 * `--all`) as null, and a field present several times as an array of such values.
 */
export const parseJournalEntry = (line: string): Result<JournalRecord> => {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return err({ code: "journal.json", message: "not a JSON object" });
  }
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    return err({ code: "journal.json", message: "not a JSON object" });
  }
  const fields = entry as Record<string, unknown>;
  const cursor = text(fields.__CURSOR);
  if (cursor === undefined || cursor === "") {
    return err({ code: "journal.cursor", message: "entry without __CURSOR" });
  }
  const micros = text(fields.__REALTIME_TIMESTAMP);
  if (micros === undefined || !/^\d{1,19}$/.test(micros)) {
    return err({ code: "journal.time", message: "entry without a valid __REALTIME_TIMESTAMP" });
  }
  const time = Math.floor(Number(micros) / 1000);
  const pid = integer(text(fields.SYSLOG_PID) ?? text(fields._PID));
  const unit = text(fields._SYSTEMD_UNIT);
  return ok({
    time,
    // Journal times are absolute; render them in the host's zone, as journalctl does.
    tzOffset: -new Date(time).getTimezoneOffset(),
    host: text(fields._HOSTNAME) ?? "",
    program: text(fields.SYSLOG_IDENTIFIER) ?? text(fields._COMM) ?? "",
    ...(pid === undefined ? {} : { pid }),
    message: text(fields.MESSAGE) ?? "",
    cursor,
    ...(unit === undefined ? {} : { unit }),
  });
};

/** A field's value as text: a string, bytes, or the first of repeated values. */
const text = (value: unknown): string | undefined => {
  if (typeof value === "string") return value;
  if (!Array.isArray(value) || value.length === 0) return undefined;
  if (value.every((b): b is number => typeof b === "number" && b >= 0 && b <= 255 && b % 1 === 0)) {
    return decoder.decode(Uint8Array.from(value));
  }
  return text(value[0]);
};

const integer = (value: string | undefined): number | undefined => {
  if (value === undefined || !/^\d{1,10}$/.test(value)) return undefined;
  return Number(value);
};
