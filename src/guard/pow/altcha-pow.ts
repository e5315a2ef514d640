/**
 * Proof of work with ALTCHA v2 (altcha-lib) in deterministic mode: the server picks the counter,
 * derives its key once and signs it with a second secret, so checking a solution costs two
 * HMACs instead of a key derivation. Challenges carry their form and level, expire, and are
 * accepted once (OnceStore). Nothing about the person is collected or stored.
 */
import {
  createHmac,
  createSecretKey,
  randomInt,
  timingSafeEqual,
  type KeyObject,
} from "node:crypto";
import { createChallenge } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/pbkdf2";
import { z } from "zod";
import type { PowChallenge, ProofOfWork } from "../ports.ts";
import type { GuardKeys } from "./guard-secret.ts";
import type { OnceStore } from "./once-store.ts";

export const ALTCHA_ALGORITHMS = ["PBKDF2/SHA-256", "PBKDF2/SHA-384", "PBKDF2/SHA-512"] as const;
export type AltchaAlgorithm = (typeof ALTCHA_ALGORITHMS)[number];

export const MAX_POW_LEVEL = 3;
/** Each level multiplies the expected work by this. */
export const POW_LEVEL_FACTOR = 4;

export type PowFailure =
  | "missing"
  | "malformed"
  | "bad-signature"
  | "wrong-form"
  | "expired"
  | "reused"
  | "wrong-solution";

/** What verify() answers: PowCheck, with the level the solution was made at. */
export type AltchaCheck =
  | { readonly ok: true; readonly level: number }
  | { readonly ok: false; readonly reason: PowFailure };

/** What check() answers: a solution not yet claimed (PowChecked). */
export type AltchaChecked =
  | { readonly ok: true; readonly level: number; readonly once: string; readonly until: number }
  | { readonly ok: false; readonly reason: PowFailure };

export interface AltchaPowOptions {
  readonly keys: Pick<GuardKeys, "challengeSignature" | "keySignature">;
  /** Remembers used challenges until they expire. */
  readonly store: OnceStore;
  /** How long a challenge stays valid, ms (default 10 minutes). */
  readonly expiresMs?: number;
  readonly algorithm?: AltchaAlgorithm;
  /** Iterations of the key derivation per counter value tried (default 1000). */
  readonly cost?: number;
  /**
   * Level 0's largest counter (default 1000). Level L's counter is drawn uniformly from
   * [c·4^L / 2, c·4^L], so the expected number of derivations is 0.75·c·4^L.
   */
  readonly counter?: number;
}

export const POW_DEFAULTS: Readonly<{
  expiresMs: number;
  algorithm: AltchaAlgorithm;
  cost: number;
  counter: number;
}> = Object.freeze({
  expiresMs: 600_000,
  algorithm: "PBKDF2/SHA-256",
  cost: 1000,
  counter: 1000,
});

/** Longest payload looked at: a real one is about 700 characters. */
const MAX_PAYLOAD = 4096;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const HEX = /^(?:[0-9a-f]{2})+$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

const hex = (max: number) => z.string().max(max).regex(HEX);

// Strict: every key of the parameters is signed, so an unknown key is not a challenge of ours.
const ParametersSchema = z.strictObject({
  algorithm: z.string().max(32),
  nonce: hex(128),
  salt: hex(128),
  cost: z.number(),
  keyLength: z.number(),
  keyPrefix: hex(128),
  keySignature: z.string().regex(SHA256_HEX),
  memoryCost: z.number().optional(),
  parallelism: z.number().optional(),
  expiresAt: z.number(),
  data: z.strictObject({ form: z.string().max(256), level: z.number() }),
});

type Parameters = z.output<typeof ParametersSchema>;

const PayloadSchema = z.object({
  challenge: z.object({ parameters: z.unknown(), signature: z.string().regex(SHA256_HEX) }),
  solution: z.object({
    counter: z.number().int().min(0).max(0xffff_ffff),
    derivedKey: hex(256),
  }),
});

export class AltchaPow implements ProofOfWork {
  readonly #keys: AltchaPowOptions["keys"];
  readonly #challengeKey: KeyObject;
  readonly #derivedKeyKey: KeyObject;
  readonly #store: OnceStore;
  readonly #expiresMs: number;
  readonly #algorithm: AltchaAlgorithm;
  readonly #cost: number;
  readonly #counter: number;

  constructor(options: AltchaPowOptions) {
    this.#keys = options.keys;
    // altcha-lib keys its HMACs with the UTF-8 bytes of the secret string: so do we.
    this.#challengeKey = createSecretKey(Buffer.from(options.keys.challengeSignature, "utf8"));
    this.#derivedKeyKey = createSecretKey(Buffer.from(options.keys.keySignature, "utf8"));
    this.#store = options.store;
    this.#expiresMs = options.expiresMs ?? POW_DEFAULTS.expiresMs;
    this.#algorithm = options.algorithm ?? POW_DEFAULTS.algorithm;
    this.#cost = options.cost ?? POW_DEFAULTS.cost;
    this.#counter = options.counter ?? POW_DEFAULTS.counter;
  }

  /** The counter range of a level, both ends included. */
  counterRange(level: number): readonly [number, number] {
    const top = Math.max(2, Math.round(this.#counter * POW_LEVEL_FACTOR ** clampLevel(level)));
    return [Math.floor(top / 2), top];
  }

  async challenge(form: string, level: number, now: number): Promise<PowChallenge> {
    const l = clampLevel(level);
    const [min, max] = this.counterRange(l);
    const challenge = await createChallenge({
      algorithm: this.#algorithm,
      cost: this.#cost,
      counter: randomInt(min, max + 1),
      deriveKey,
      data: { form, level: l },
      // Seconds, as the widget reads it to show "expired" and fetch a new one.
      expiresAt: Math.ceil((now + this.#expiresMs) / 1000),
      hmacSignatureSecret: this.#keys.challengeSignature,
      hmacKeySignatureSecret: this.#keys.keySignature,
    });
    return Object.freeze({ ...challenge });
  }

  /**
   * Checks a payload as the widget submits it: base64 of
   * `{"challenge":{"parameters":…,"signature":…},"solution":{"counter":…,"derivedKey":…}}`.
   * Expiry is judged against `now`, never the wall clock, so replay answers as live did
   * (altcha-lib's verifySolution reads Date.now(), hence this check of its format here).
   * Never throws on any input; rejects only if the once-store fails.
   */
  verify(payload: string | undefined, form: string, now: number): Promise<AltchaCheck> {
    return this.claim(this.check(payload, form, now), now);
  }

  /**
   * Everything `verify` checks but the once-store: the signature, the form, the expiry and the
   * work. Needs no state, so a worker thread can do it; `claim` then decides. Never throws.
   */
  check(payload: string | undefined, form: string, now: number): AltchaChecked {
    if (payload === undefined || payload === "") return fail("missing");
    const decoded = decodePayload(payload);
    if (decoded === undefined) return fail("malformed");
    const { parameters, signature, derivedKey } = decoded;

    const expected = createHmac("sha256", this.#challengeKey)
      .update(canonicalParameters(parameters))
      .digest();
    if (!timingSafeEqual(expected, Buffer.from(signature, "hex"))) return fail("bad-signature");
    // From here on the parameters are ours, unaltered.
    if (parameters.data.form !== form) return fail("wrong-form");
    if (now > parameters.expiresAt * 1000) return fail("expired");

    const keySignature = createHmac("sha256", this.#derivedKeyKey)
      .update(Buffer.from(derivedKey, "hex"))
      .digest();
    if (!timingSafeEqual(keySignature, Buffer.from(parameters.keySignature, "hex"))) {
      return fail("wrong-solution");
    }
    return {
      ok: true,
      level: parameters.data.level,
      once: signature,
      until: parameters.expiresAt * 1000,
    };
  }

  /**
   * A checked solution is accepted once. Claimed last, after every other check: a wrong
   * solution does not burn the challenge of the person who fetched it.
   */
  async claim(checked: AltchaChecked, now: number): Promise<AltchaCheck> {
    if (!checked.ok) return checked;
    const first = await this.#store.claim(checked.once, checked.until, now);
    return first ? { ok: true, level: checked.level } : fail("reused");
  }
}

const fail = (reason: PowFailure) => ({ ok: false, reason }) as const;

export function clampLevel(level: number): number {
  if (!Number.isFinite(level) || level <= 0) return 0;
  return Math.min(MAX_POW_LEVEL, Math.floor(level));
}

interface DecodedPayload {
  readonly parameters: Parameters;
  readonly signature: string;
  readonly derivedKey: string;
}

function decodePayload(payload: string): DecodedPayload | undefined {
  if (payload.length > MAX_PAYLOAD || !BASE64.test(payload)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, "base64").toString("utf8"));
  } catch {
    return undefined;
  }
  const outer = PayloadSchema.safeParse(json);
  if (!outer.success) return undefined;
  const raw = outer.data.challenge.parameters;
  const parameters = ParametersSchema.safeParse(raw);
  if (!parameters.success) return undefined;
  return {
    parameters: parameters.data,
    signature: outer.data.challenge.signature,
    derivedKey: outer.data.solution.derivedKey,
  };
}

/**
 * What the challenge's signature covers: altcha-lib's canonical JSON of the parameters (keys
 * sorted at every depth, undefined members dropped). The schema is strict, so the parameters
 * hold exactly these keys, written here in sorted order (no generic sort: this runs on every
 * submission).
 */
export function canonicalParameters(p: Parameters): string {
  return JSON.stringify({
    algorithm: p.algorithm,
    cost: p.cost,
    data: { form: p.data.form, level: p.data.level },
    expiresAt: p.expiresAt,
    keyLength: p.keyLength,
    keyPrefix: p.keyPrefix,
    keySignature: p.keySignature,
    memoryCost: p.memoryCost,
    nonce: p.nonce,
    parallelism: p.parallelism,
    salt: p.salt,
  });
}
