/** The `reputation` section (docs/reputation.md). */
import { z } from "zod";
import { parseDuration } from "../core/index.ts";
import { positiveDuration, uniqueNames } from "../config/schemas.ts";
import { parsePublicKey } from "./signing.ts";

const PEER_NAME = /^[a-zA-Z0-9_.-]{1,64}$/;

export const PeerSchema = z.strictObject({
  name: z.string().regex(PEER_NAME, "letters, digits, _ . - (at most 64)"),
  /** The peer's feed: `https://rempart.example.org/v1/reputation/feed`. */
  url: z
    .string()
    .regex(/^https?:\/\/\S+$/, "expected the http(s) URL of the peer's /v1/reputation/feed"),
  /** What `rempart reputation key` prints on the peer's host: `ed25519:…`. */
  public_key: z.string().refine((k) => parsePublicKey(k) !== undefined, {
    message: 'expected the peer\'s public key as "ed25519:" and 43 base64url characters',
  }),
  /** How much one of its reports weighs against one of this site's own (0–1). */
  trust: z.number().min(0).max(1).default(0.5),
  every: positiveDuration.default("5m"),
});

export const ReputationConfigSchema = z
  .strictObject({
    /** Time in which a report's weight halves. */
    half_life: positiveDuration.default("7d"),
    /** Reports older than this are deleted (personal data kept no longer than needed). */
    keep: positiveDuration.default("90d"),
    /** Addresses and networks scored in memory at most; the least suspect go first. */
    max_entries: z.number().int().min(1000).max(50_000_000).default(300_000),
    /** Weight of one report sent through the AbuseIPDB-compatible API. */
    report_weight: z.number().min(0).max(10).default(1),
    /** Serve this site's own reports, signed, at /v1/reputation/feed, to anyone. */
    publish: z.boolean().default(false),
    /** The Ed25519 key the feed is signed with; default `reputation.key` in data_dir. */
    key_file: z.string().optional(),
    peers: z.array(PeerSchema).superRefine(uniqueNames("peer")).default([]),
  })
  .refine((c) => parseDuration(c.keep)! >= parseDuration(c.half_life)!, {
    message: "keep must be at least half_life: a report deleted earlier would still count",
    path: ["keep"],
  });

export type ReputationConfig = z.infer<typeof ReputationConfigSchema>;
export type PeerConfig = z.infer<typeof PeerSchema>;
