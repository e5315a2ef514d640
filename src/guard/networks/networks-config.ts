/**
 * The guard's `networks` section: where the AS data and the Tor exit list come from, how often
 * they are refreshed, and the operator's corrections to the hosting classification. Checked
 * without I/O.
 */
import { z } from "zod";
import { duration } from "../../config/schemas.ts";

const asn = z
  .number()
  .int()
  .min(1, "AS numbers start at 1")
  .max(0xffffffff, "AS numbers are 32-bit");

export const AsConfigSchema = z
  .strictObject({
    /** CSV file(s) in ip-location-db's format; the `@ip-location-db/asn` package's by default. */
    file: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** ASes to count as hosting beyond the curated list and the name heuristic. */
    hosting_asns: z.array(asn).default([]),
    /** ASes never to count as hosting, whatever the list or their name says. */
    not_hosting_asns: z.array(asn).default([]),
    /** How often to check whether the file changed (and load it again if so). */
    refresh: duration.default("1d"),
  })
  .refine((c) => !c.hosting_asns.some((a) => c.not_hosting_asns.includes(a)), {
    message: "an AS number is in both hosting_asns and not_hosting_asns",
    path: ["not_hosting_asns"],
  });

export const TOR_FORMATS = ["auto", "tor-bulk", "tor-exit"] as const;

export const TorConfigSchema = z
  .strictObject({
    /** A local copy of the list (kept up to date by something else). */
    file: z.string().min(1).optional(),
    /** Where to download it, e.g. https://check.torproject.org/torbulkexitlist */
    url: z
      .string()
      .regex(/^https?:\/\/\S+$/, "expected an http:// or https:// URL")
      .optional(),
    /** `tor-bulk` (one address a line), `tor-exit` (`exit-addresses`), or `auto` (either). */
    format: z.enum(TOR_FORMATS).default("auto"),
    refresh: duration.default("6h"),
  })
  .refine((c) => c.file === undefined || c.url === undefined, {
    message: "give file or url, not both",
  });

export const NetworksConfigSchema = z.strictObject({
  as: AsConfigSchema.prefault({}),
  /** Without file and url the Tor signal is off. */
  tor: TorConfigSchema.prefault({}),
});

export type AsConfig = z.infer<typeof AsConfigSchema>;
export type TorConfig = z.infer<typeof TorConfigSchema>;
export type NetworksConfig = z.infer<typeof NetworksConfigSchema>;
