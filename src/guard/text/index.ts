export {
  createFingerprint,
  fieldKind,
  fingerprint,
  fingerprintFields,
  type FieldFingerprint,
  type FingerprintIdentity,
  type FingerprintOptions,
} from "./fingerprint.ts";
export { FIELD_KINDS, MAX_INPUT, normalizeText, type FieldKind } from "./normalize-text.ts";
export {
  compileFingerprints,
  DEFAULT_FINGERPRINTS,
  FingerprintIdentitySchema,
  FingerprintKeySchema,
  FingerprintsSchema,
  type FingerprintsConfig,
} from "./text-config.ts";
