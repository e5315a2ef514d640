/** Expected failures are values; a batch never throws halfway. Bugs throw. */
export type Result<T, E = ParseError> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

/** Where and why a piece of untrusted input was refused. */
export interface ParseError {
  readonly code: string;
  readonly message: string;
  /** 1-based line, or byte offset, where known. */
  readonly line?: number;
  readonly offset?: number;
}

export const ok = <T>(value: T): { readonly ok: true; readonly value: T } => ({ ok: true, value });
export const err = <E>(error: E): { readonly ok: false; readonly error: E } => ({
  ok: false,
  error,
});
