/**
 * The pass a visitor earns on the challenge page (docs/forward-auth.md): a cookie that lets
 * forward-auth answer `challenge` decisions with "pass" for a while, so that a person who
 * solved the proof of work once is not sent back to the page on every request. A ban is never
 * passed.
 *
 * The cookie names no one: it is a MAC over the address it was earned from (its /64 for IPv6,
 * whose privacy addresses change within a network), with its issue and expiry times. It is
 * worthless from another address, and cannot be made without the guard's secret.
 *
 * Layout (then base64url): version (1 byte, = 1) · issued at (ms, 6 bytes big-endian) ·
 * expires at (ms, 6 bytes) · HMAC-SHA256 of those 13 bytes and the address, cut to 16 bytes.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from "node:crypto";
import { ipFamily, ipPrefix } from "../../net/index.ts";

/** The cookie's name. */
export const PASS_COOKIE = "rempart_pass";

const VERSION = 1;
const BODY = 13;
const MAC = 16;
/** base64url of BODY + MAC bytes. */
const TEXT_LENGTH = Math.ceil(((BODY + MAC) * 4) / 3);

export interface IssuedPass {
  /** The cookie's value. */
  readonly value: string;
  readonly expiresAt: number;
}

export class ChallengePasses {
  readonly #key: KeyObject;
  readonly #durationMs: number;

  /** `key`: the guard's pass key (GuardKeys.pass); `durationMs`: how long a pass lasts. */
  constructor(key: Uint8Array, durationMs: number) {
    this.#key = createSecretKey(key);
    this.#durationMs = durationMs;
  }

  get durationMs(): number {
    return this.#durationMs;
  }

  issue(ip: string, now: number): IssuedPass {
    const expiresAt = now + this.#durationMs;
    const body = Buffer.alloc(BODY);
    body[0] = VERSION;
    body.writeUIntBE(now, 1, 6);
    body.writeUIntBE(expiresAt, 7, 6);
    return {
      value: Buffer.concat([body, this.#mac(body, ip)]).toString("base64url"),
      expiresAt,
    };
  }

  /** Whether `value` is a pass earned from `ip` that has not expired. Never throws. */
  valid(value: string, ip: string, now: number): boolean {
    if (value.length !== TEXT_LENGTH) return false;
    const bytes = Buffer.from(value, "base64url");
    if (bytes.length !== BODY + MAC || bytes[0] !== VERSION) return false;
    const body = bytes.subarray(0, BODY);
    if (!timingSafeEqual(bytes.subarray(BODY), this.#mac(body, ip))) return false;
    const issuedAt = body.readUIntBE(1, 6);
    const expiresAt = body.readUIntBE(7, 6);
    // A pass from the future was not made by this clock: a copied secret, or a clock gone back.
    return now < expiresAt && issuedAt <= now + 60_000;
  }

  #mac(body: Buffer, ip: string): Buffer {
    return createHmac("sha256", this.#key)
      .update(body)
      .update(passSubject(ip))
      .digest()
      .subarray(0, MAC);
  }
}

/** What a pass is bound to: the address, or its /64 for IPv6. */
export function passSubject(ip: string): string {
  return ipFamily(ip) === 6 ? ipPrefix(ip, 64) : ip;
}

/**
 * The values of the cookies named `name` in a `Cookie` header (RFC 6265 §5.4: `a=1; b=2`).
 * A browser may send one name twice (two paths or domains): each value is returned.
 */
export function cookieValues(
  header: string | readonly string[] | undefined,
  name: string,
): string[] {
  if (header === undefined) return [];
  const text = typeof header === "string" ? header : header.join("; ");
  const out: string[] = [];
  let at = text.indexOf(name);
  while (at >= 0) {
    const before = at === 0 ? ";" : text[at - 1]!;
    const start = at + name.length;
    if ((before === ";" || before === " ") && text[start] === "=") {
      const end = text.indexOf(";", start);
      let v = text.slice(start + 1, end < 0 ? undefined : end).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      out.push(v);
    }
    at = text.indexOf(name, start);
  }
  return out;
}
