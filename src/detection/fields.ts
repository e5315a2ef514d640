import type { Event, FieldValue } from "../core/index.ts";
import { ipPrefix } from "../net/index.ts";

/** Reads one named value of an event: a stored member, or one derived from it. */
export type Accessor = (e: Event) => FieldValue | undefined;

const domainOf = (email: string | undefined): string | undefined => {
  if (email === undefined) return undefined;
  const at = email.lastIndexOf("@");
  return at < 0 ? undefined : email.slice(at + 1);
};

const prefixOf =
  (v4: number, v6: number): Accessor =>
  (e) =>
    e.ip === undefined ? undefined : ipPrefix(e.ip, e.ip.includes(":") ? v6 : v4);

/**
 * The names scenarios may use, besides `fields.<name>`. The derived ones are what DESIGN.md
 * asks keys to aggregate by: IPv4 /24 where IPv6 uses /64 and /48.
 */
export const BUILTIN_FIELDS: Readonly<
  Record<string, { readonly doc: string; readonly get: Accessor }>
> = Object.freeze({
  id: { doc: "the event's id", get: (e) => e.id },
  type: { doc: "the event type (auth.failure, mail.submitted, …)", get: (e) => e.type },
  service: { doc: "the service that saw it (postfix, dovecot, nginx, app)", get: (e) => e.service },
  time: { doc: "event time, ms since the epoch", get: (e) => e.time },
  hour: {
    doc: "hour of day (0-23) in the event's own offset",
    get: (e) => Math.floor(((e.time + e.tzOffset * 60_000) % 86_400_000) / 3_600_000),
  },
  ip: { doc: "the client address", get: (e) => e.ip },
  ip24: {
    doc: "the address's IPv4 /24 (undefined for IPv6)",
    get: (e) => (e.ip && !e.ip.includes(":") ? ipPrefix(e.ip, 24) : undefined),
  },
  ip64: {
    doc: "the address's IPv6 /64 (undefined for IPv4)",
    get: (e) => (e.ip?.includes(":") ? ipPrefix(e.ip, 64) : undefined),
  },
  ip48: {
    doc: "the address's IPv6 /48 (undefined for IPv4)",
    get: (e) => (e.ip?.includes(":") ? ipPrefix(e.ip, 48) : undefined),
  },
  prefix: { doc: "IPv4 /24 or IPv6 /64 of the address", get: prefixOf(24, 64) },
  wide_prefix: { doc: "IPv4 /16 or IPv6 /48 of the address", get: prefixOf(16, 48) },
  account: { doc: "the account name", get: (e) => e.account },
  email: { doc: "the e-mail address", get: (e) => e.email },
  domain: { doc: "the e-mail address's domain", get: (e) => domainOf(e.email) },
  global: { doc: "one key for everything", get: () => "*" },
});

/** Resolves a field name to an accessor, or undefined when the name is unknown. */
export function accessor(name: string): Accessor | undefined {
  const builtin = BUILTIN_FIELDS[name];
  if (builtin) return builtin.get;
  if (name.startsWith("fields.") && name.length > 7) {
    const member = name.slice(7);
    return (e) => e.fields[member];
  }
  return undefined;
}
