import { z } from "zod";
import { duration } from "../config/schemas.ts";
import { ACTIONS, parseDuration } from "../core/index.ts";
import { LIST_FORMAT_NAMES } from "./formats/index.ts";

/** One imported list in the configuration (`lists:`). */
export const ListSourceSchema = z
  .strictObject({
    name: z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)"),
    url: z
      .string()
      .regex(/^https?:\/\/\S+$/, "expected an http:// or https:// URL")
      .optional(),
    file: z.string().min(1).optional(),
    format: z.enum(LIST_FORMAT_NAMES as [string, ...string[]]),
    action: z.enum(ACTIONS as [string, ...string[]]).default("ban"),
    duration: duration.default("24h"),
    refresh: duration.default("3h"),
    max_shrink: z.number().min(0).max(1).default(0.5),
    skip_invalid: z.boolean().default(false),
    delta: z.boolean().default(true),
  })
  .refine((l) => (l.url === undefined) !== (l.file === undefined), {
    message: "give either url or file",
  })
  .refine((l) => parseDuration(l.duration)! > parseDuration(l.refresh)!, {
    message: "duration must be longer than refresh, or entries would lapse between refreshes",
    path: ["duration"],
  });

export const ListsSchema = z
  .array(ListSourceSchema)
  .default([])
  .refine((ls) => new Set(ls.map((l) => l.name)).size === ls.length, {
    message: "two lists have the same name",
  });

export type ListSourceConfig = z.infer<typeof ListSourceSchema>;
