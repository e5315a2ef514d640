/**
 * Signed form tokens: the application's server asks for one while rendering a form and puts it
 * in a hidden field; the guard checks it on submission. It proves the form was rendered by the
 * application (for this form, not long ago), that someone spent a human time filling it, and
 * names the honeypot field the page hides — a different plausible name per token, so a script
 * cannot learn one name to skip.
 *
 * Layout (then base64url): version (1 byte, = 1) · issued at (ms, 6 bytes big-endian) ·
 * nonce (12 bytes) · honeypot name length (1) · name · form id length (1) · form id ·
 * HMAC-SHA256 of all the above (32 bytes).
 */
import {
  createHmac,
  createSecretKey,
  randomBytes,
  randomInt,
  timingSafeEqual,
  type KeyObject,
} from "node:crypto";
import type { IssuedToken } from "../ports.ts";

export type TokenFailure =
  "missing" | "malformed" | "bad-signature" | "wrong-form" | "expired" | "too-fast" | "honeypot";

/** What verify() answers: TokenCheck, with typed reasons. */
export type FormTokenCheck =
  | { readonly ok: true; readonly fillMs: number }
  | { readonly ok: false; readonly reason: TokenFailure };

/** Names a form might really have but people leave empty when the field is hidden. */
export const HONEYPOT_NAMES: readonly string[] = Object.freeze([
  "website",
  "url",
  "homepage",
  "company_name",
  "company_website",
  "phone2",
  "fax",
  "address2",
  "middle_name",
  "nickname",
  "job_title",
  "alt_email",
  "referral_code",
  "contact_me_by_fax",
]);

export interface FormTokensOptions {
  /** The HMAC key (GuardKeys.formToken). */
  readonly key: Uint8Array;
  /** Honeypot names to pick from (default HONEYPOT_NAMES). */
  readonly honeypotNames?: readonly string[];
}

const VERSION = 1;
const NONCE = 12;
const MAC = 32;
const HEADER = 1 + 6 + NONCE;
const MIN_LENGTH = HEADER + 1 + 1 + 1 + MAC;
const MAX_TEXT = 640;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export class FormTokens {
  // A KeyObject made once: a raw Buffer key is re-imported by every createHmac (~5× the MAC).
  readonly #key: KeyObject;
  readonly #names: readonly string[];

  constructor(options: FormTokensOptions) {
    this.#key = createSecretKey(Buffer.from(options.key));
    const names = options.honeypotNames ?? HONEYPOT_NAMES;
    const bad = names.find((n) => !NAME.test(n));
    if (names.length === 0 || bad !== undefined) {
      throw new RangeError(`honeypot names must be field names (letters, digits, _): ${bad}`);
    }
    this.#names = [...names];
  }

  /**
   * A token for `form`, issued at `now`. The honeypot is drawn at random among the names not in
   * `avoid` (the form's real fields, so a person is never asked to leave a real field empty).
   */
  issue(form: string, now: number, avoid: Iterable<string> = []): IssuedToken {
    const formBytes = Buffer.from(form, "utf8");
    if (formBytes.length > 255) throw new RangeError("form id longer than 255 bytes");
    const taken = new Set(avoid);
    const free = this.#names.filter((n) => !taken.has(n));
    const pool = free.length > 0 ? free : this.#names;
    const honeypot = pool[randomInt(pool.length)]!;
    const name = Buffer.from(honeypot, "ascii");
    const body = Buffer.alloc(HEADER + 1 + name.length + 1 + formBytes.length);
    body[0] = VERSION;
    body.writeUIntBE(Math.max(0, Math.floor(now)), 1, 6);
    randomBytes(NONCE).copy(body, 7);
    body[HEADER] = name.length;
    name.copy(body, HEADER + 1);
    body[HEADER + 1 + name.length] = formBytes.length;
    formBytes.copy(body, HEADER + 2 + name.length);
    const token = Buffer.concat([body, this.#mac(body)]).toString("base64url");
    return Object.freeze({ token, honeypot });
  }

  /**
   * Checks the token a submission carried. Reasons, in the order they are checked: `missing`,
   * `malformed`, `bad-signature`, `wrong-form`, `expired` (older than `maxAgeMs`), `honeypot`
   * (the named field was filled), `too-fast` (sent less than `minFillMs` after the form was
   * rendered). Never throws, whatever the input.
   */
  verify(
    token: string | undefined,
    form: string,
    fields: Readonly<Record<string, string>>,
    now: number,
    minFillMs: number,
    maxAgeMs: number,
  ): FormTokenCheck {
    if (token === undefined || token === "") return fail("missing");
    if (token.length > MAX_TEXT || !BASE64URL.test(token)) return fail("malformed");
    const bytes = Buffer.from(token, "base64url");
    // Only the canonical encoding: otherwise the unused bits of the last character could change.
    if (bytes.length < MIN_LENGTH || bytes.toString("base64url") !== token) {
      return fail("malformed");
    }
    if (bytes[0] !== VERSION) return fail("malformed");
    const body = bytes.subarray(0, bytes.length - MAC);
    if (!timingSafeEqual(this.#mac(body), bytes.subarray(bytes.length - MAC))) {
      return fail("bad-signature");
    }

    const issued = body.readUIntBE(1, 6);
    const nameLength = body[HEADER]!;
    const formAt = HEADER + 1 + nameLength;
    if (formAt >= body.length || formAt + 1 + body[formAt]! !== body.length) {
      return fail("malformed");
    }
    const honeypot = body.toString("ascii", HEADER + 1, formAt);
    if (body.toString("utf8", formAt + 1) !== form) return fail("wrong-form");

    const fillMs = now - issued;
    if (fillMs > maxAgeMs) return fail("expired");
    const trap = Object.hasOwn(fields, honeypot) ? fields[honeypot] : undefined;
    if (typeof trap === "string" && trap.trim() !== "") return fail("honeypot");
    if (fillMs < minFillMs) return fail("too-fast");
    return { ok: true, fillMs };
  }

  #mac(body: Buffer): Buffer {
    return createHmac("sha256", this.#key).update(body).digest();
  }
}

const fail = (reason: TokenFailure): FormTokenCheck => ({ ok: false, reason });
