/**
 * One observation, typed, with its own time. Parsers turn log lines into events; applications
 * send them as JSON. Flat on purpose: detection reads `ip`, `account`, `type` on every event and
 * a flat object keeps that cheap.
 */
export type EventType =
  | "auth.failure"
  | "auth.success"
  | "mail.submitted"
  | "mail.delivery"
  | "mail.rejected"
  | "smtp.connect"
  | "http.request"
  | "signup"
  | "login"
  | "form.submit"
  | "email.confirmed"
  | (string & {});

/** A service-specific field value; kept scalar so events serialise and compare cheaply. */
export type FieldValue = string | number | boolean | null;

export interface Event {
  /** Stable identity: the application's id, or `<source>:<offset>` for a log line. */
  readonly id: string;
  readonly type: EventType;
  /** The event's own time, ms since the epoch (UTC). */
  readonly time: number;
  /** The offset from UTC, in minutes, the event's time was written in (for rendering `at`). */
  readonly tzOffset: number;
  /** Which service saw it: "postfix", "dovecot", "nginx", "apache", "app", … */
  readonly service: string;
  /** The client's address, normalised (IPv4 dotted, IPv6 compressed lower-case). */
  readonly ip?: string;
  /** The account name, as the service knows it (SASL user, login). */
  readonly account?: string;
  /** An e-mail address tied to the actor (sender, sign-up address), lower-cased. */
  readonly email?: string;
  /** Everything else the service said, by name. Unknown members of JSON events are kept here. */
  readonly fields: Readonly<Record<string, FieldValue>>;
}

/** An event while it is being built: parsers set its optional members one by one. */
export type EventDraft = { -readonly [K in keyof Event]: Event[K] };

/** Renders an epoch time with the given offset as ISO 8601 (`2024-09-28T13:01:40+02:00`). */
export function formatTime(time: number, tzOffset: number): string {
  const shifted = new Date(time + tzOffset * 60_000);
  const iso = shifted.toISOString(); // always ends with .sssZ
  const ms = iso.slice(19, 23) === ".000" ? "" : iso.slice(19, 23);
  const sign = tzOffset < 0 ? "-" : "+";
  const abs = Math.abs(tzOffset);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${iso.slice(0, 19)}${ms}${sign}${hh}:${mm}`;
}
