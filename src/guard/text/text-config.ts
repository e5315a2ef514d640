/**
 * Configuration of the field fingerprints: which fields of a form make which identity, and the
 * secret mixed into the hashes. The identities belong in each form's section
 * (`guard.forms.<form>.fingerprints`); the key once for the guard (`guard.fingerprint_key`).
 */
import { z } from "zod";
import type { FingerprintIdentity } from "./fingerprint.ts";
import { FIELD_KINDS, type FieldKind } from "./normalize-text.ts";

const NAME = /^[a-zA-Z0-9_.-]{1,64}$/;

export const FingerprintIdentitySchema = z.strictObject({
  /** Form fields joined (in this order) into one value: `[first_name, last_name]`. */
  fields: z.array(z.string().regex(NAME, "a field name: letters, digits, _ . -")).min(1).max(8),
  kind: z.enum(FIELD_KINDS as [FieldKind, ...FieldKind[]]).default("generic"),
});

/** Identity name → its fields, e.g. `{ name: { fields: [first_name, last_name], kind: name } }`. */
export const FingerprintsSchema = z.record(
  z.string().regex(NAME, "an identity name: letters, digits, _ . -"),
  FingerprintIdentitySchema,
);

/** The hashes' secret: at least 16 characters, the same on every node. */
export const FingerprintKeySchema = z.string().min(16, "at least 16 characters of secret");

export type FingerprintsConfig = z.output<typeof FingerprintsSchema>;

/** A sensible default for petitions and contact forms, when a form names none. */
export const DEFAULT_FINGERPRINTS: FingerprintsConfig = Object.freeze({
  name: Object.freeze({ fields: ["first_name", "last_name", "name"], kind: "name" as const }),
  comment: Object.freeze({ fields: ["comment", "message"], kind: "text" as const }),
});

/** The checked configuration as the list `fingerprintFields` takes, frozen (compile it once). */
export function compileFingerprints(config: FingerprintsConfig): readonly FingerprintIdentity[] {
  return Object.freeze(
    Object.entries(config).map(([name, identity]) =>
      Object.freeze({ name, fields: Object.freeze([...identity.fields]), kind: identity.kind }),
    ),
  );
}
