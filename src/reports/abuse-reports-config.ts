/** The `abuse_reports` section (docs/abuse-reports.md). */
import { z } from "zod";
import { ACTIONS } from "../core/index.ts";
import { cidr, positiveDuration } from "../config/schemas.ts";

const email = z
  .string()
  .max(320)
  .regex(/^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/, "expected an e-mail address");

export const AbuseReportsConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** The sender of the reports: an address of the site that can receive the answers. */
    from: email.optional(),
    /** Who reports, as the message signs it: "Association X, mail server mx.example.org". */
    reporter: z.string().max(200).default(""),
    /** A copy of each report, for the operator. */
    bcc: email.optional(),
    /** How often the queued reports are sent: one message per abuse desk each time. */
    every: positiveDuration.default("1h"),
    /** The decisions reported: their actions, and their scenarios (empty: every scenario). */
    actions: z.array(z.enum(ACTIONS)).min(1).default(["ban"]),
    scenarios: z.array(z.string().min(1)).default([]),
    smtp: z
      .strictObject({
        host: z.string().min(1).default("127.0.0.1"),
        port: z.number().int().min(1).max(65535).default(25),
        /** Implicit TLS (port 465); otherwise STARTTLS when the server offers it. */
        secure: z.boolean().default(false),
        user: z.string().optional(),
        password: z.string().optional(),
      })
      .prefault({}),
    rdap: z
      .strictObject({
        /** Where IANA's RDAP bootstrap files are (`ipv4.json`, `ipv6.json`). */
        bootstrap: z
          .string()
          .regex(/^https?:\/\/\S+\/$/, "expected an http(s) URL ending with /")
          .default("https://data.iana.org/rdap/"),
        timeout: positiveDuration.default("10s"),
      })
      .prefault({}),
    /** Abuse contacts known without RDAP, by network: `{ "203.0.113.0/24": abuse@example.net }`. */
    contacts: z.record(cidr, email).default({}),
    /** How long a contact RDAP gave is kept before it is asked again. */
    contact_ttl: positiveDuration.default("7d"),
    /** Most addresses listed in one message. */
    max_per_message: z.number().int().min(1).max(10_000).default(500),
    /** Reports sent (or given up) are deleted after this. */
    keep: positiveDuration.default("30d"),
  })
  .refine((c) => !c.enabled || c.from !== undefined, {
    message: "from is required when abuse reports are enabled: the address answers come back to",
    path: ["from"],
  });

export type AbuseReportsConfig = z.infer<typeof AbuseReportsConfigSchema>;
