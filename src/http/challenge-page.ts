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

/** The headers of Rempart's public pages (this one, the look-up page), with their CSP. */
export const pageHeaders = (csp: string): Readonly<Record<string, string>> =>
  Object.freeze({
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    vary: "Accept-Language",
    "content-security-policy": csp,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-robots-tag": "noindex",
  });

const PAGE_HEADERS = pageHeaders(CSP);

const SCRIPT_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/javascript; charset=utf-8",
  "cache-control": "public, max-age=3600",
  "x-content-type-options": "nosniff",
};

type Asset = "script" | "widget" | "widget-fr";

/** The page's languages: the visitor's preferred one (Accept-Language), else English. */
export const PAGE_LANGUAGES = ["en", "fr"] as const;
export type PageLanguage = (typeof PAGE_LANGUAGES)[number];

const PAGE_TEXT: Readonly<Record<PageLanguage, Readonly<Record<string, string>>>> = {
  en: {
    lang: "en",
    title: "One moment…",
    explanation:
      "This site is receiving unusual traffic from your network. Your browser is doing a " +
      "short computation to show that it is not a script; nothing about you is collected for " +
      "it. You will be taken back in a few seconds.",
    noscript: "This check needs JavaScript. Please turn it on for this site.",
    widget_lang: "en",
    widget_language: "",
  },
  fr: {
    lang: "fr",
    title: "Un instant…",
    explanation:
      "Ce site reçoit un trafic inhabituel depuis votre réseau. Votre navigateur fait un court " +
      "calcul pour montrer qu'il n'est pas un script ; rien n'est collecté sur vous pour cela. " +
      "Vous serez ramené à votre page dans quelques secondes.",
    noscript: "Cette vérification a besoin de JavaScript. Activez-le pour ce site.",
    widget_lang: "fr-fr",
    // The widget's French strings, registered before the widget starts.
    widget_language: '    <script type="module" src="altcha-fr.js"></script>\n',
  },
};

/** The page in each language, and its scripts, read on first use and kept. */
export class ChallengePage {
  readonly #pages = new Map<PageLanguage, ApiResponse>();
  readonly #scripts = new Map<Asset, ApiResponse>();

  page(acceptLanguage: string | undefined): ApiResponse {
    const lang = pickLanguage(acceptLanguage);
    let r = this.#pages.get(lang);
    if (r === undefined) {
      const text = PAGE_TEXT[lang];
      const template = readFileSync(`${pageDir()}index.html`, "utf8");
      const body = template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
        const v = text[name];
        if (v === undefined) throw new Error(`challenge page: no text for ${name}`);
        return v;
      });
      r = { status: 200, headers: PAGE_HEADERS, body };
      this.#pages.set(lang, r);
    }
    return r;
  }

  script(asset: Asset): ApiResponse {
    let r = this.#scripts.get(asset);
    if (r === undefined) {
      r = { status: 200, headers: SCRIPT_HEADERS, body: readFileSync(scriptFile(asset)) };
      this.#scripts.set(asset, r);
    }
    return r;
  }
}

const pageDir = (): string => webDir("challenge", "index.html", "the challenge page's files");

function scriptFile(asset: Asset): string {
  if (asset === "widget") return fileURLToPath(import.meta.resolve("altcha"));
  if (asset === "widget-fr") return fileURLToPath(import.meta.resolve("altcha/i18n/fr-fr"));
  return `${pageDir()}challenge.js`;
}

/**
 * The language of `PAGE_LANGUAGES` the visitor prefers most (RFC 9110 §12.5.4: q-values; `fr-CA`
 * counts as `fr`), English when none is asked for.
 */
export function pickLanguage(header: string | undefined): PageLanguage {
  let best: PageLanguage = "en";
  let bestQ = 0;
  for (const part of (header ?? "").split(",")) {
    const [range = "", ...params] = part.trim().toLowerCase().split(";");
    const q = Number(
      /^\s*q=([0-9.]+)\s*$/.exec(params.find((p) => /^\s*q=/.test(p)) ?? "")?.[1] ?? 1,
    );
    const primary = range.split("-")[0]!;
    const lang = PAGE_LANGUAGES.find((l) => l === primary);
    if (lang !== undefined && q > bestQ) {
      best = lang;
      bestQ = q;
    }
  }
  return best;
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
