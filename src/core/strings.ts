/**
 * A copy of `s` that does not keep alive the larger string it was cut from. V8 represents a
 * substring as a view of its parent, so one address kept from a line would pin the whole
 * megabyte of log it was read with; call this where a string starts to live long (a bucket's
 * key, a decision's value, a join table).
 */
export const detach = (s: string): string => ` ${s}`.slice(1);

/** The URL without its password, fit for a log line or an error. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

/**
 * A CSV field (RFC 4180 quoting), with a leading `'` on a text that a spreadsheet would run as
 * a formula: reasons, list names and scenario texts come from outside.
 */
export function csvField(s: string): string {
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
