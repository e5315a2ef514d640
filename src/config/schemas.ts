/** Schema pieces shared by every configuration section (the daemon's and the plugins'). */
import { z } from "zod";
import { parseDuration } from "../core/index.ts";
import { parseCidr } from "../net/index.ts";

/** A duration such as "30s", "10m", "4h", "7d" (kept as text; parse with `parseDuration`). */
export const duration = z.string().refine((s) => parseDuration(s) !== undefined, {
  message: 'expected a duration such as "30s", "10m", "4h", "7d"',
});

export const cidr = z.string().refine((s) => parseCidr(s) !== undefined, {
  message: "expected an address or a CIDR range such as 192.0.2.0/24",
});
