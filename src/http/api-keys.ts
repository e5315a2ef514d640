/**
 * API keys: `rmp_<id>_<secret>`, with a 12-hex-digit id and a secret of 32 random bytes in
 * base64url. Only the SHA-256 of the secret is stored; the full text is shown once, at
 * creation. Verification compares hashes in constant time and keeps the keys it has verified in
 * a small cache, so that the hot path does not query the database on every request.
 */
import { hash, randomBytes, timingSafeEqual } from "node:crypto";
import { RempartError } from "../core/index.ts";
import type { ApiKeyRecord, ApiRole, Storage } from "../core/ports.ts";

export const API_ROLES: readonly ApiRole[] = Object.freeze(["admin", "sensor", "bouncer"]);

// base64url of 32 bytes is 43 characters, and may itself contain `_`: match by length.
const KEY_TEXT = /^rmp_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const KEY_NAME = /^[\p{L}\p{N}._@:+ -]{1,64}$/u;

/** Who is calling, once the key is verified. */
export interface Caller {
  readonly id: string;
  readonly name: string;
  readonly role: ApiRole;
}

/** Splits a key's text into its id and secret, or undefined when it is not a key. */
export function parseApiKey(text: string): { id: string; secret: string } | undefined {
  const m = KEY_TEXT.exec(text);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

// One-shot hashing: no Hash object per request on the hot path.
const hashSecret = (secret: string): Buffer => hash("sha256", secret, "buffer");

/**
 * Makes a new key, stores its hash, and returns the key's full text — the only time it exists
 * outside the caller's hands. Throws INPUT_INVALID for a bad name or role.
 */
export async function createApiKey(
  storage: Storage,
  name: string,
  role: ApiRole,
  now: number,
): Promise<string> {
  if (!KEY_NAME.test(name))
    throw new RempartError(
      "INPUT_INVALID",
      `key name ${JSON.stringify(name.slice(0, 70))} is not valid`,
      {
        hint: "use 1 to 64 letters, digits, spaces and . _ @ : + -",
      },
    );
  if (!API_ROLES.includes(role))
    throw new RempartError(
      "INPUT_INVALID",
      `role ${JSON.stringify(role)} is not one of ${API_ROLES.join(", ")}`,
    );
  const id = randomBytes(6).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  const record: ApiKeyRecord = Object.freeze({
    id,
    name,
    role,
    hash: hashSecret(secret).toString("hex"),
    createdAt: now,
  });
  await storage.addApiKey(record);
  return `rmp_${id}_${secret}`;
}

export interface ApiKeyVerifierOptions {
  /** How long a verified key is trusted without asking the database again. Default 60 s. */
  readonly cacheTtlMs?: number;
  /** How long an unknown id is remembered as unknown. Default 5 s. */
  readonly missTtlMs?: number;
  /** Most keys (and unknown ids) kept in memory. Default 1,000. */
  readonly maxEntries?: number;
  /** The clock for cache expiry. Default Date.now. */
  readonly now?: () => number;
}

interface Entry {
  readonly caller: Caller | undefined;
  readonly hash: Buffer | undefined;
  readonly until: number;
}

/** The last key verified on a connection, to skip hashing when the next request repeats it. */
interface Seen {
  readonly text: Buffer;
  readonly id: string;
  readonly entry: Entry;
  readonly caller: Caller;
}

function check(entry: Entry, secret: string): Caller | undefined {
  const { caller, hash } = entry;
  if (caller === undefined || hash?.length !== 32) return undefined;
  return timingSafeEqual(hash, hashSecret(secret)) ? caller : undefined;
}

/**
 * Verifies keys against the store. A key deleted in the database (by `rempart keys delete`)
 * stops working within `cacheTtlMs`; `forget(id)` drops it at once in this process.
 */
export class ApiKeyVerifier {
  readonly #storage: Pick<Storage, "findApiKey">;
  readonly #ttl: number;
  readonly #missTtl: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, Entry>();
  readonly #seen = new WeakMap<object, Seen>();

  constructor(storage: Pick<Storage, "findApiKey">, options: ApiKeyVerifierOptions = {}) {
    this.#storage = storage;
    this.#ttl = options.cacheTtlMs ?? 60_000;
    this.#missTtl = options.missTtlMs ?? 5_000;
    this.#max = options.maxEntries ?? 1_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The caller a key's text belongs to, or undefined when the key is malformed, unknown or
   * wrong. Synchronous when the key's id is cached (the hot path), a promise otherwise.
   *
   * `connection` (the socket, or anything that stands for one transport connection): a request
   * repeating the key last verified on its connection is compared with that key's text in
   * constant time instead of being hashed again. The comparison stays constant-time because a
   * connection may carry several clients' requests (a proxy's upstream pool). It holds only
   * while the key's cache entry does: `forget` and the cache's expiry end it too.
   */
  verify(text: string, connection?: object): Caller | undefined | Promise<Caller | undefined> {
    const now = this.#now();
    if (connection !== undefined) {
      const seen = this.#seen.get(connection);
      if (seen !== undefined && this.#cache.get(seen.id) === seen.entry && seen.entry.until > now) {
        const bytes = Buffer.from(text, "utf8");
        if (bytes.length === seen.text.length && timingSafeEqual(bytes, seen.text))
          return seen.caller;
      }
    }
    const parts = parseApiKey(text);
    if (!parts) return undefined;
    const entry = this.#cache.get(parts.id);
    if (entry !== undefined && entry.until > now) {
      const caller = check(entry, parts.secret);
      if (caller !== undefined && connection !== undefined)
        this.#seen.set(connection, {
          text: Buffer.from(text, "utf8"),
          id: parts.id,
          entry,
          caller,
        });
      return caller;
    }
    return this.#storage.findApiKey(parts.id).then((record) => {
      const fresh: Entry = {
        caller:
          record === undefined
            ? undefined
            : { id: record.id, name: record.name, role: record.role },
        hash: record === undefined ? undefined : Buffer.from(record.hash, "hex"),
        until: now + (record === undefined ? this.#missTtl : this.#ttl),
      };
      this.#remember(parts.id, fresh);
      return check(fresh, parts.secret);
    });
  }

  /** Drops a key from the cache (after deleting it), so it stops working at once. */
  forget(id: string): void {
    this.#cache.delete(id);
  }

  #remember(id: string, entry: Entry): void {
    this.#cache.delete(id);
    if (this.#cache.size >= this.#max) {
      // Maps iterate in insertion order: the first is the oldest.
      const oldest = this.#cache.keys().next();
      if (oldest.done !== true) this.#cache.delete(oldest.value);
    }
    this.#cache.set(id, entry);
  }
}

/**
 * The key's text from `Authorization: Bearer <key>`, `X-Api-Key: <key>` (CrowdSec's bouncers)
 * or `Key: <key>` (AbuseIPDB's clients), if any.
 */
export function keyFromHeaders(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === "string" && auth.length > 7 && auth.slice(0, 7).toLowerCase() === "bearer ")
    return auth.slice(7).trim();
  const x = headers["x-api-key"] ?? headers.key;
  return typeof x === "string" ? x.trim() : undefined;
}
