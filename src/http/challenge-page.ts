/**
 * The challenge page forward-auth sends challenged visitors to (docs/forward-auth.md): its
 * files, the headers it is served with, and the pieces of the pass that are HTTP's: the
 * cookie, and the page to go back to.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { webDir } from "../core/index.ts";
import { PASS_COOKIE } from "../guard/pow/index.ts";
import type { ApiResponse, HeaderValue } from "./requests.ts";

/**
 * Scripts only from the page's own directory (the widget and challenge.js); the widget works
 * in workers made from blobs and styles itself inline; it fetches only from here.
 */
const CSP =
  "default-src 'none'; script-src 'self'; worker-src 'self' blob:; connect-src 'self'; " +
  "style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'; " +
  "base-uri 'none'";

const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-robots-tag": "noindex",
};

const SCRIPT_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/javascript; charset=utf-8",
  "cache-control": "public, max-age=3600",
  "x-content-type-options": "nosniff",
};

type Asset = "page" | "script" | "widget";

/** The page's three files, read on first use and kept. */
export class ChallengePage {
  readonly #cache = new Map<Asset, ApiResponse>();

  serve(asset: Asset): ApiResponse {
    let r = this.#cache.get(asset);
    if (r === undefined) {
      r = asset === "page" ? page() : { status: 200, headers: SCRIPT_HEADERS, body: script(asset) };
      this.#cache.set(asset, r);
    }
    return r;
  }
}

function page(): ApiResponse {
  const dir = webDir("challenge", "index.html", "the challenge page's files");
  return { status: 200, headers: PAGE_HEADERS, body: readFileSync(`${dir}index.html`) };
}

function script(asset: "script" | "widget"): Uint8Array {
  if (asset === "widget") return readFileSync(fileURLToPath(import.meta.resolve("altcha")));
  return readFileSync(
    `${webDir("challenge", "challenge.js", "the challenge page's files")}challenge.js`,
  );
}

/**
 * `text` when it is a path on this site to go back to, else undefined. Not `//host` nor `/\host`
 * (browsers read both as another host), nothing a header or a URL would split on.
 */
export function sitePath(text: string | undefined): string | undefined {
  if (text === undefined || text.length > 4096 || !text.startsWith("/")) return undefined;
  if (text[1] === "/" || text.includes("\\")) return undefined;
  // Controls, spaces and non-ASCII: a request line never carries them raw.
  return /^[\x21-\x7e]*$/.test(text) ? text : undefined;
}

/** The request's own path, as the proxy reports it (nginx: X-Original-URI; Traefik, Caddy). */
export function originalPath(
  headers: Readonly<Record<string, HeaderValue>> | undefined,
): string | undefined {
  const h = headers?.["x-original-uri"] ?? headers?.["x-forwarded-uri"];
  return sitePath(typeof h === "string" ? h : undefined);
}

/** `url` with `return=<path>` added to its query. */
export function withReturn(url: string, path: string | undefined): string {
  if (path === undefined) return url;
  return `${url}${url.includes("?") ? "&" : "?"}return=${encodeURIComponent(path)}`;
}

/** The Set-Cookie of a pass; Secure when the proxy says the visitor came over HTTPS. */
export function passCookie(
  value: string,
  maxAgeMs: number,
  headers: Readonly<Record<string, HeaderValue>> | undefined,
): string {
  const proto = headers?.["x-forwarded-proto"];
  const https = typeof proto === "string" && proto.split(",")[0]!.trim().toLowerCase() === "https";
  return (
    `${PASS_COOKIE}=${value}; Path=/; Max-Age=${Math.floor(maxAgeMs / 1000)}; HttpOnly; ` +
    `SameSite=Lax${https ? "; Secure" : ""}`
  );
}
