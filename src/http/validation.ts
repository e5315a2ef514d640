/** Turns zod's issues into the API's messages: where (`query.ip`, `body.events[3].type`) and what. */
import type { z } from "zod";

type Issue = z.core.$ZodIssue;

/** `body`, `["events", 3, "type"]` → `body.events[3].type`. */
export function issuePath(where: string, path: readonly PropertyKey[]): string {
  let out = where;
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else {
      const s = String(p);
      out += /^[A-Za-z_$][\w$]*$/.test(s)
        ? `${out === "" ? "" : "."}${s}`
        : `[${JSON.stringify(s.slice(0, 40))}]`;
    }
  }
  return out;
}

/** One issue as `where.path: message`, looking into the branch of a union that got furthest. */
export function describeIssue(where: string, issue: Issue): string {
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    const branches = issue.errors;
    const furthest = branches.find(
      (b) => !(b.length === 1 && b[0]?.code === "invalid_type" && b[0].path.length === 0),
    );
    if (furthest?.[0] !== undefined)
      return describeIssue(issuePath(where, issue.path), furthest[0]);
    const expected = branches.flatMap((b) =>
      b[0]?.code === "invalid_type" ? [b[0].expected] : [],
    );
    if (expected.length > 0)
      return `${issuePath(where, issue.path)}: expected ${[...new Set(expected)].join(" or ")}`;
  }
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.slice(0, 3).map((k) => JSON.stringify(k.slice(0, 40)));
    return `${issuePath(where, issue.path)}: unknown ${keys.length > 1 ? "members" : "member"} ${keys.join(", ")}`;
  }
  return `${issuePath(where, issue.path)}: ${issue.message}`;
}

/** The first few issues, joined; enough to fix the request without echoing all of it. */
export function describeIssues(where: string, issues: readonly Issue[], max = 3): string {
  const shown = issues.slice(0, max).map((i) => describeIssue(where, i));
  const more = issues.length > max ? ` (and ${issues.length - max} more)` : "";
  return shown.join("; ") + more;
}

/** Per-parse error map: a missing member is "required", not "expected string, received undefined". */
export const requiredMessage = (iss: { code: string; input?: unknown }): string | undefined =>
  iss.code === "invalid_type" && iss.input === undefined ? "is required" : undefined;
