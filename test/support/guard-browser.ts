/**
 * A browser's credentials for the replay logs, made with the guard's own keys: form tokens from
 * the token module, and solved ALTCHA challenges.
 *
 * The challenge is made exactly as AltchaPow makes it (altcha-lib's createChallenge in
 * deterministic mode, same algorithm, cost, counter range, data and signatures), and the
 * derived key of its counter is kept: that is the solution a browser finds by brute force,
 * without the ~0.75·1000 key derivations per page the search costs (30,000 signers would
 * take hours). The payload is byte for byte what the widget submits.
 */
import { createChallenge } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/pbkdf2";
import { AltchaPow, POW_DEFAULTS } from "../../src/guard/pow/altcha-pow.ts";
import { encodeAltchaPayload } from "../../src/guard/pow/altcha-solve.ts";
import { deriveGuardKeys, parseSecret } from "../../src/guard/pow/guard-secret.ts";
import { MemoryOnceStore } from "../../src/guard/pow/once-store.ts";
import { FormTokens } from "../../src/guard/token/index.ts";
import type { Browser, Rnd } from "./guard-world.ts";

/** The form-token side: what `GET /v1/guard/token` answers. */
export interface TokenIssuer {
  issue(
    form: string,
    now: number,
    avoid?: Iterable<string>,
  ): { readonly token: string; readonly honeypot: string };
}

export interface GuardBrowserOptions {
  /** The guard secret of the bench configuration (`guard.secret`). */
  readonly secret: string;
  readonly rnd: Rnd;
  /** Overrides how tokens are made. */
  readonly tokens?: TokenIssuer;
}

/**
 * Makes a Browser. Its first solution is checked with AltchaPow itself (with a store of its
 * own), so a drift between this mirror and the module fails loudly instead of skewing scores.
 */
export function guardBrowser(options: GuardBrowserOptions): Browser {
  const keys = deriveGuardKeys(parseSecret(options.secret));
  const tokens = options.tokens ?? new FormTokens({ key: keys.formToken });
  const pow = new AltchaPow({ keys, store: new MemoryOnceStore() });
  const [min, max] = pow.counterRange(0);
  const { rnd } = options;
  let checked = false;

  const solve = async (form: string, now: number): Promise<string> => {
    let key: Uint8Array | undefined;
    const counter = min + Math.floor(rnd() * (max - min + 1));
    const challenge = await createChallenge({
      algorithm: POW_DEFAULTS.algorithm,
      cost: POW_DEFAULTS.cost,
      counter,
      deriveKey: async (parameters, salt, password) => {
        const r = await deriveKey(parameters, salt, password);
        key = r.derivedKey;
        return r;
      },
      data: { form, level: 0 },
      expiresAt: Math.ceil((now + POW_DEFAULTS.expiresMs) / 1000),
      hmacSignatureSecret: keys.challengeSignature,
      hmacKeySignatureSecret: keys.keySignature,
    });
    if (key === undefined) throw new Error("altcha-lib derived no key");
    const payload = encodeAltchaPayload(
      { ...challenge },
      { counter, derivedKey: Buffer.from(key).toString("hex") },
    );
    if (!checked) {
      const r = await pow.verify(payload, form, now);
      if (!r.ok) throw new Error(`the mirrored ALTCHA solution does not verify: ${r.reason}`);
      checked = true;
    }
    return payload;
  };

  return {
    token: (form, now, avoid) => Promise.resolve(tokens.issue(form, now, avoid)),
    solve,
  };
}
