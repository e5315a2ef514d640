/**
 * Reads YAML against a strict schema and reports every problem with its file, line and key
 * path, so a user's mistake says what was wrong, where, and how to fix it.
 */
import { readFile } from "node:fs/promises";
import { LineCounter, parseAllDocuments, isMap, isNode, isScalar, type Document } from "yaml";
import type { z } from "zod";

export interface Problem {
  readonly file: string;
  readonly line: number | undefined;
  readonly path: string;
  readonly message: string;
}

export const formatProblem = (p: Problem): string =>
  `${p.file}${p.line === undefined ? "" : `:${p.line}`}: ${p.path === "" ? "" : `${p.path}: `}${p.message}`;

export interface LoadedValue<T> {
  readonly value: T;
  /** The line the document starts on. */
  readonly line: number;
  /** The line of a key path within the document (the closest that exists). */
  readonly lineAt: (path: readonly PropertyKey[]) => number;
}

export type Loaded<T> =
  | { readonly ok: true; readonly values: readonly LoadedValue<T>[] }
  | { readonly ok: false; readonly problems: readonly Problem[] };

/**
 * The line of `path` in `doc`: where its key is written (a block's value starts on the line
 * after its key), else the closest enclosing node that exists.
 */
function lineOf(
  doc: Document,
  counter: LineCounter,
  path: readonly PropertyKey[],
): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    if (depth > 0) {
      const parent = doc.getIn(path.slice(0, depth - 1) as (string | number)[], true);
      if (isMap(parent)) {
        const pair = parent.items.find(
          (p) => isScalar(p.key) && String(p.key.value) === String(path[depth - 1]),
        );
        if (pair !== undefined && isNode(pair.key) && pair.key.range)
          return counter.linePos(pair.key.range[0]).line;
      }
    }
    const node = doc.getIn(path.slice(0, depth) as (string | number)[], true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

const pathText = (path: readonly PropertyKey[]): string =>
  path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
    .join("");

/** Parses every YAML document of `text` with `schema`; collects all problems, not just the first. */
export function parseYaml<T>(text: string, file: string, schema: z.ZodType<T>): Loaded<T> {
  const counter = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter: counter,
    prettyErrors: false,
    uniqueKeys: true,
  });
  const problems: Problem[] = [];
  const values: LoadedValue<T>[] = [];
  if (!Array.isArray(docs)) return { ok: true, values };
  for (const doc of docs) {
    for (const e of doc.errors) {
      problems.push({
        file,
        line: counter.linePos(e.pos[0]).line,
        path: "",
        message: e.message.split("\n")[0]!,
      });
    }
    if (doc.errors.length > 0) continue;
    const raw: unknown = doc.toJS();
    if (raw === null || raw === undefined) continue;
    const r = schema.safeParse(raw);
    if (r.success) {
      const line = doc.range[0] === 0 ? 1 : counter.linePos(doc.range[0]).line;
      values.push({
        value: r.data,
        line,
        lineAt: (path) => lineOf(doc, counter, path) ?? line,
      });
      continue;
    }
    const first = problems.length;
    for (const found of r.error.issues) {
      const issue = innermost(found);
      // An unknown key is reported on its own line, not on its parent's.
      const at =
        issue.code === "unrecognized_keys" && issue.keys.length > 0
          ? [...issue.path, issue.keys[0]!]
          : issue.path;
      problems.push({
        file,
        line: lineOf(doc, counter, at),
        path: pathText(issue.path),
        message: messageOf(issue),
      });
    }
    // In the order of the file, as the reader goes through it.
    const mine = problems.splice(first).sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    problems.push(...mine);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, values };
}

export async function loadYamlFile<T>(file: string, schema: z.ZodType<T>): Promise<Loaded<T>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    return {
      ok: false,
      problems: [{ file, line: undefined, path: "", message: `cannot read the file (${code})` }],
    };
  }
  return parseYaml(text, file, schema);
}

/**
 * For a value that matches none of a union's shapes (a file source or a journald one), the
 * problem within the shape it came closest to: `sources[0].from: Invalid option`, not
 * `sources[0]: Invalid input`. The closest is the one that did not refuse the value's own keys.
 */
function innermost(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return issue;
  // A union that says what it takes, in its own words, is told as it is.
  if (issue.message !== "Invalid input") return issue;
  const fits = (branch: readonly z.core.$ZodIssue[]): boolean =>
    !branch.some(
      (i) => (i.code === "unrecognized_keys" || i.code === "invalid_type") && i.path.length === 0,
    );
  const branch = issue.errors.find(fits);
  const first = branch?.[0];
  if (first === undefined) return issue;
  return innermost({ ...first, path: [...issue.path, ...first.path] });
}

/** An issue's message; for a key a record refuses, why the key is refused (not "Invalid key"). */
function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_key" && issue.issues.length > 0)
    return `the key is refused: ${issue.issues[0]!.message}`;
  return issue.message;
}
