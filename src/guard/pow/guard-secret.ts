/**
 * The guard's one secret and the keys derived from it. The daemon keeps 32 random bytes in a
 * file (`guard.key` in data_dir, mode 0600) or takes them from the configuration; HKDF gives
 * each use its own key, so leaking one derived key reveals neither the others nor the secret.
 */
import { hkdfSync, randomBytes } from "node:crypto";
import { link, open, readFile, unlink } from "node:fs/promises";
import { RempartError } from "../../core/index.ts";

const HEX_SECRET = /^[0-9a-f]{64}$/i;

/** The keys the proof of work and the form tokens sign with. */
export interface GuardKeys {
  /** Signs ALTCHA challenges (altcha-lib takes its HMAC secrets as strings: hex). */
  readonly challengeSignature: string;
  /** Signs the expected derived key of a deterministic challenge. */
  readonly keySignature: string;
  /** Signs form tokens. */
  readonly formToken: Buffer;
  /** Signs the challenge page's passes (forward-auth). */
  readonly pass: Buffer;
}

/**
 * Reads the secret at `path` (64 hex characters), or creates it with 32 random bytes and mode
 * 0600 when the file does not exist. Creation is exclusive: of two processes starting at once,
 * one creates it and both read the same secret.
 */
export async function loadOrCreateSecret(path: string, what = "guard secret"): Promise<Buffer> {
  const existing = await readSecretFile(path, what);
  if (existing !== undefined) return existing;
  // Written aside, then linked into place: a concurrent reader never sees a half-written file.
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const file = await open(temp, "wx", 0o600);
    try {
      await file.writeFile(`${randomBytes(32).toString("hex")}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await link(temp, path).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    });
  } catch (e) {
    throw new RempartError("CONFIG_INVALID", `cannot create the ${what} ${path}`, {
      cause: e,
      hint: "check that the data directory exists and is writable by rempart",
    });
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  return (await readSecretFile(path, what))!;
}

/** The secret in the file, or undefined when there is no file. */
async function readSecretFile(path: string, what: string): Promise<Buffer | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new RempartError("CONFIG_INVALID", `cannot read the ${what} ${path}`, {
      cause: e,
      hint: "check the file's owner and mode (0600, owned by rempart)",
    });
  }
  return parseSecret(text.trim(), path, what);
}

/** A secret given as text: 64 hex characters are taken as 32 bytes, anything else as UTF-8. */
export function parseSecret(text: string, where = "guard.secret", what = "guard secret"): Buffer {
  const bytes = HEX_SECRET.test(text) ? Buffer.from(text, "hex") : Buffer.from(text, "utf8");
  if (bytes.length < 32) {
    throw new RempartError("CONFIG_INVALID", `${where}: the ${what} is shorter than 32 bytes`, {
      hint: 'generate one with "openssl rand -hex 32", or delete the file to have one created',
    });
  }
  return bytes;
}

export function deriveGuardKeys(secret: Uint8Array): GuardKeys {
  const derive = (info: string): Buffer =>
    Buffer.from(hkdfSync("sha256", secret, "rempart-guard", info, 32));
  return Object.freeze({
    challengeSignature: derive("altcha challenge signature").toString("hex"),
    keySignature: derive("altcha key signature").toString("hex"),
    formToken: derive("form token"),
    pass: derive("challenge pass"),
  });
}
