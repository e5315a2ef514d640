/**
 * The site's signing key for its reputation feed: Ed25519, from 32 random bytes kept in a file
 * (mode 0600, created on first use, as the guard's secret). Peers pin the public key, written
 * `ed25519:<43 base64url characters>`; a feed whose signature does not verify under the pinned
 * key is refused whole. Ed25519 because signatures are small and quick to check, keys are
 * one short line to paste into a peer's configuration, and Node signs it without a library.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign,
  verify,
  type KeyObject,
} from "node:crypto";
import { loadOrCreateSecret } from "../guard/pow/index.ts";

const PREFIX = "ed25519:";
// A PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): the DER header, then the 32 bytes.
const PKCS8_SEED_HEADER = Buffer.from("302e020100300506032b657004220420", "hex");
// An SPKI wrapping of a raw Ed25519 public key: the DER header, then the 32 bytes.
const SPKI_HEADER = Buffer.from("302a300506032b6570032100", "hex");

export interface Signer {
  /** `ed25519:…`, what peers put in their configuration. */
  readonly publicKey: string;
  /** The signature of `body`, base64. */
  sign(body: Uint8Array): string;
}

export function signerFromSeed(seed: Uint8Array): Signer {
  if (seed.length !== 32) throw new RangeError("an Ed25519 seed is 32 bytes");
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_SEED_HEADER, seed]),
    format: "der",
    type: "pkcs8",
  });
  const raw = createPublicKey(key).export({ format: "der", type: "spki" }).subarray(-32);
  return {
    publicKey: PREFIX + raw.toString("base64url"),
    sign: (body) => sign(null, body, key).toString("base64"),
  };
}

/** The key in `path`, created on first use. */
export async function loadSigner(path: string): Promise<Signer> {
  const secret = await loadOrCreateSecret(path, "reputation signing key");
  // A file written by hand may hold more than 32 bytes: its hash is the seed then.
  return signerFromSeed(
    secret.length === 32 ? secret : createHash("sha256").update(secret).digest(),
  );
}

/** A pinned public key, or undefined when the text is not one. */
export function parsePublicKey(text: string): KeyObject | undefined {
  if (!text.startsWith(PREFIX)) return undefined;
  const b64 = text.slice(PREFIX.length);
  if (!/^[A-Za-z0-9_-]{43}$/.test(b64)) return undefined;
  try {
    return createPublicKey({
      key: Buffer.concat([SPKI_HEADER, Buffer.from(b64, "base64url")]),
      format: "der",
      type: "spki",
    });
  } catch {
    return undefined;
  }
}

/** Whether `signature` (base64) signs `body` under `key`. */
export function verifySignature(key: KeyObject, body: Uint8Array, signature: string): boolean {
  if (!/^[A-Za-z0-9+/]{86}==$/.test(signature)) return false;
  return verify(null, body, key, Buffer.from(signature, "base64"));
}
