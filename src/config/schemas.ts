/** Schema pieces shared by every configuration section (the daemon's and the plugins'). */
import { z } from "zod";
import { parseDuration } from "../core/index.ts";
import { parseCidr } from "../net/index.ts";

/** A duration such as "30s", "10m", "4h", "7d" (kept as text; parse with `parseDuration`). */
export const duration = z.string().refine((s) => parseDuration(s) !== undefined, {
  message: 'expected a duration such as "30s", "10m", "4h", "7d"',
});

/** A duration that must be longer than zero: a window, an interval, a polling period. */
export const positiveDuration = z.string().refine((s) => (parseDuration(s) ?? 0) > 0, {
  message: 'expected a duration longer than zero, such as "30s", "10m", "4h"',
});

/** An IANA time zone name, such as Europe/Paris or UTC. */
export const timeZone = z.string().refine(validZone, {
  message: "unknown time zone: use an IANA name such as Europe/Paris or UTC",
});

export function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const cidr = z.string().refine((s) => parseCidr(s) !== undefined, {
  message: "expected an address or a CIDR range such as 192.0.2.0/24",
});

/**
 * A refinement for a list of named items (sources, peers): each name once, or an issue on the
 * repeated one's `name`, saying what the items are (`source`, `peer`).
 */
export const uniqueNames =
  (what: string) =>
  (items: readonly { readonly name: string }[], ctx: z.RefinementCtx): void => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item.name))
        ctx.addIssue({
          code: "custom",
          path: [i, "name"],
          message: `another ${what} is named "${item.name}": each needs its own name`,
        });
      seen.add(item.name);
    });
  };
