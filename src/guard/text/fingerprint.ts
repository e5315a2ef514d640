/**
 * Short keys for the counters: the normalised value hashed, never the value itself. With a
 * secret key the hash cannot be reversed by hashing a dictionary of names; without one it is
 * only a plain SHA-256 and a common name is easy to guess back. Nodes sharing counters (Redis)
 * must share the key, and replay must use the live key to reach the live counts.
 */
import { hash } from "node:crypto";
import { normalizeText, type FieldKind } from "./normalize-text.ts";

/** 16 base64url characters = 12 bytes = 96 bits: no accidental collision in any petition. */
const FINGERPRINT_CHARS = 16;

export interface FingerprintOptions {
  readonly kind?: FieldKind;
  /** Secret mixed into the hash; the same on every node. */
  readonly key?: string;
}

/**
 * The fingerprint of `value` as the field (or identity) named `field`: stable across restarts
 * and nodes, different for the same value under another field name. `undefined` when nothing
 * is left after normalisation (an empty or all-punctuation value counts as absent).
 */
export function fingerprint(
  field: string,
  value: string,
  options: FingerprintOptions = {},
): string | undefined {
  const normal = normalizeText(value, options.kind ?? "generic");
  return normal === "" ? undefined : digest(options.key ?? "", field, normal);
}

// SHA-256 over key ‖ field ‖ value, truncated: the truncation rules out length extension, so
// the secret prefix is a sound keyed hash here, at a quarter of the cost of an HMAC.
const digest = (key: string, field: string, normal: string): string =>
  hash("sha256", `${key}\u0000${field}\u0000${normal}`, "base64url").slice(0, FINGERPRINT_CHARS);

/** Several fields of a form fingerprinted as one identity (first and last name as a name). */
export interface FingerprintIdentity {
  /** The identity's name, part of the counter key: `name`, `comment`. */
  readonly name: string;
  /** The form fields whose values, joined by a space, make the identity. */
  readonly fields: readonly string[];
  readonly kind: FieldKind;
}

export interface FieldFingerprint {
  readonly identity: string;
  readonly fingerprint: string;
}

/**
 * The fingerprints of a submission's configured identities, in the identities' order; an
 * identity whose fields are all absent or empty after normalisation is left out.
 */
export function fingerprintFields(
  fields: Readonly<Record<string, string>>,
  identities: readonly FingerprintIdentity[],
  key = "",
): readonly FieldFingerprint[] {
  const out: FieldFingerprint[] = [];
  for (const identity of identities) {
    let joined = "";
    for (const f of identity.fields) {
      const v = Object.hasOwn(fields, f) ? fields[f] : undefined;
      if (typeof v === "string" && v !== "") joined = joined === "" ? v : `${joined} ${v}`;
    }
    if (joined === "") continue;
    const normal = normalizeText(joined, identity.kind);
    if (normal !== "") {
      out.push({ identity: identity.name, fingerprint: digest(key, identity.name, normal) });
    }
  }
  return out;
}

const NAME_FIELD =
  /^(?:(?:first|last|given|family|full|middle|sur|maiden|display)?[_.-]?name|nom|pr[eé]nom|surname|firstname|lastname|fname|lname|forename)$/i;
const TEXT_FIELD =
  /^(?:comments?|message|msg|text|body|content|description|motivation|remarks?|notes?|subject|bio|about|commentaire|texte)$/i;

/**
 * The kind a field's name suggests: name-like fields (`first_name`, `nom`) are names, prose
 * fields (`comment`, `message`) are text, anything else generic.
 */
export function fieldKind(field: string): FieldKind {
  if (NAME_FIELD.test(field)) return "name";
  return TEXT_FIELD.test(field) ? "text" : "generic";
}

/**
 * A fingerprint function for an identity named by its fields joined with "+"
 * (`first_name+last_name`): a name when every field is a name, text when any field is prose,
 * generic otherwise. Kinds are remembered per identity name.
 */
export function createFingerprint(
  key = "",
): (identity: string, value: string) => string | undefined {
  const kinds = new Map<string, FieldKind>();
  return (identity, value) => {
    let kind = kinds.get(identity);
    if (kind === undefined) {
      const ks = identity.split("+").map(fieldKind);
      kind = ks.every((k) => k === "name") ? "name" : ks.includes("text") ? "text" : "generic";
      if (kinds.size < 10_000) kinds.set(identity, kind);
    }
    const normal = normalizeText(value, kind);
    return normal === "" ? undefined : digest(key, identity, normal);
  };
}
