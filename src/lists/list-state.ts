import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { canonicalEntry, type ListEntry } from "./entry.ts";
import type { Validators } from "./fetch-list.ts";

/**
 * What survives a restart for one list, in `<data_dir>/lists/<name>.json`: the validators of
 * the version held and its entries (the base of the next difference).
 */
export interface ListState {
  readonly source: string;
  readonly format: string;
  readonly validators: Validators;
  readonly entries: readonly ListEntry[];
  /** Fingerprint of a version held back for shrinking too much, until a download confirms it. */
  readonly held?: string;
  readonly checkedAt?: number;
}

export const EMPTY_STATE: ListState = Object.freeze({
  source: "",
  format: "",
  validators: {},
  entries: [],
});

export const stateFile = (dir: string, name: string): string => join(dir, `${name}.json`);

/** Reads a list's state; an absent or damaged file is an empty state (the list is fetched whole). */
export async function loadState(dir: string, name: string): Promise<ListState> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(stateFile(dir, name), "utf8"));
  } catch {
    return EMPTY_STATE;
  }
  const s = raw as Partial<Record<keyof ListState, unknown>>;
  if (typeof s !== "object" || s === null || !Array.isArray(s.entries)) return EMPTY_STATE;
  const entries: ListEntry[] = [];
  for (const e of s.entries as unknown[]) {
    const [v, note] = Array.isArray(e) ? (e as unknown[]) : [];
    const value = typeof v === "string" ? canonicalEntry(v) : undefined;
    if (value === undefined) return EMPTY_STATE;
    entries.push(typeof note === "string" ? { value, note } : { value });
  }
  const val = (s.validators ?? {}) as Record<string, unknown>;
  return {
    source: typeof s.source === "string" ? s.source : "",
    format: typeof s.format === "string" ? s.format : "",
    validators: {
      ...(typeof val.etag === "string" ? { etag: val.etag } : {}),
      ...(typeof val.lastModified === "string" ? { lastModified: val.lastModified } : {}),
    },
    entries,
    ...(typeof s.held === "string" ? { held: s.held } : {}),
    ...(typeof s.checkedAt === "number" ? { checkedAt: s.checkedAt } : {}),
  };
}

/** Writes a list's state atomically (a crash leaves the old file or the new one). */
export async function saveState(dir: string, name: string, state: ListState): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = stateFile(dir, name);
  const json = JSON.stringify({
    ...state,
    entries: state.entries.map((e) => (e.note === undefined ? [e.value] : [e.value, e.note])),
  });
  await writeFile(`${file}.tmp`, json);
  await rename(`${file}.tmp`, file);
}
