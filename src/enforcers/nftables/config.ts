/** The `enforcers.nftables` section: what to drop, where, and how nft is run. */
import { z } from "zod";
import { ACTIONS } from "../../core/index.ts";

const NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,31}$/;

export const NftablesConfigSchema = z.strictObject({
  /** Rempart's own table (family inet); nothing outside it is ever touched. */
  table: z
    .string()
    .regex(NAME, "a letter, then letters, digits or _ (at most 32)")
    .default("rempart"),
  /** The nft program, with any prefix (`[ip, netns, exec, ns1, nft]`); `-f -` is appended. */
  command: z.array(z.string().min(1)).min(1).default(["nft"]),
  hook: z.enum(["prerouting", "input", "forward"]).default("input"),
  /** Lower runs first: -10 runs before the usual filter chains (priority 0). */
  priority: z.number().int().min(-1000).max(1000).default(-10),
  /** `all`, or the TCP and UDP destination ports to close to banned sources. */
  ports: z
    .union(
      [z.literal("all"), z.array(z.number().int().min(1).max(65535)).min(1)],
      // One message for both shapes: `ports: "25,465"` is neither.
      { error: "expected all, or a list of ports such as [25, 465, 587]" },
    )
    .default("all"),
  verdict: z.enum(["drop", "reject"]).default("drop"),
  /** The decision actions this enforcer applies. */
  actions: z.array(z.enum(ACTIONS)).min(1).default(["ban"]),
  /** Changes arriving within this window go into one transaction. */
  batch_ms: z.number().int().min(0).max(60_000).default(50),
});

export type NftablesConfig = z.infer<typeof NftablesConfigSchema>;
