/**
 * HTTP paths to routes: the unit a surge is measured on. `/petition/123/sign?x=1` and
 * `/petition/456/sign` are one route (`/petition/:id/sign`); static assets are told apart so
 * that they count as a browser's footprint, never as a target.
 */

/** Extensions of static assets, lower case, without the dot. */
export const DEFAULT_STATIC_EXTENSIONS: readonly string[] = Object.freeze([
  "css",
  "js",
  "mjs",
  "map",
  "png",
  "jpg",
  "jpeg",
  "gif",
  "webp",
  "avif",
  "svg",
  "ico",
  "woff",
  "woff2",
  "ttf",
  "otf",
  "eot",
  "mp4",
  "webm",
  "txt",
]);

/** Routes are cut to this many segments and characters: attackers choose paths. */
const MAX_SEGMENTS = 8;
const MAX_LENGTH = 200;
const CACHE = 4096;

const NUMBER = /^\d+$/;
const HEX = /^[0-9a-f]{8,}$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TOKEN = /^[A-Za-z0-9_-]{16,}$/;
const DIGIT = /\d/;

/** Whether a path segment is an identifier (a number, a hash, a UUID, a token). */
export function isIdSegment(segment: string): boolean {
  if (NUMBER.test(segment) || UUID.test(segment)) return true;
  if (HEX.test(segment) && DIGIT.test(segment)) return true;
  return TOKEN.test(segment) && DIGIT.test(segment);
}

export type RouteOf =
  { readonly kind: "static" } | { readonly kind: "page"; readonly route: string };

const STATIC: RouteOf = Object.freeze({ kind: "static" });

/**
 * Compiles the configured patterns (`/petition/:slug`, `/api/*`) once; `of` then maps a request
 * path to its route. A pattern's `:name` matches one segment, a final `*` the rest.
 */
export class RouteNormalizer {
  readonly #patterns: readonly { readonly re: RegExp; readonly route: RouteOf }[];
  readonly #static: ReadonlySet<string>;
  readonly #cache = new Map<string, RouteOf>();

  constructor(
    patterns: readonly string[] = [],
    staticExtensions: readonly string[] = DEFAULT_STATIC_EXTENSIONS,
  ) {
    this.#patterns = patterns.map((p) => ({
      re: compilePattern(p),
      route: Object.freeze({ kind: "page", route: p }),
    }));
    this.#static = new Set(staticExtensions.map((x) => x.toLowerCase()));
  }

  of(rawPath: string): RouteOf {
    let q = rawPath.indexOf("?");
    const h = rawPath.indexOf("#");
    if (h >= 0 && (q < 0 || h < q)) q = h;
    const path = q < 0 ? rawPath : rawPath.slice(0, q);
    let r = this.#cache.get(path);
    if (r === undefined) {
      // Paths are the attacker's choice: a bounded memo, emptied when full.
      if (this.#cache.size >= CACHE) this.#cache.clear();
      r = this.#compute(path);
      this.#cache.set(path, r);
    }
    return r;
  }

  #compute(raw: string): RouteOf {
    // Every trailing slash goes (one alone left `/a//` as `/a/`, which is not its own route).
    let end = raw.length;
    while (end > 1 && raw.charCodeAt(end - 1) === 0x2f) end--;
    let path = raw.slice(0, end);
    if (!path.startsWith("/")) path = `/${path}`;
    // An asset first: a pattern such as /* or /static/* must not make pages of them.
    const slash = path.lastIndexOf("/");
    const dot = path.lastIndexOf(".");
    if (dot > slash && this.#static.has(path.slice(dot + 1).toLowerCase())) return STATIC;
    for (const p of this.#patterns) if (p.re.test(path)) return p.route;
    const segments = path.split("/").slice(1, MAX_SEGMENTS + 1);
    let route = "";
    for (const s of segments) route += `/${isIdSegment(s) ? ":id" : s}`;
    if (route === "") route = "/";
    if (route.length > MAX_LENGTH) route = route.slice(0, MAX_LENGTH);
    return Object.freeze({ kind: "page", route });
  }
}

/** `/a/:x/b` → /^\/a\/[^/]+\/b$/ ; a final `/*` matches anything below. */
export function compilePattern(pattern: string): RegExp {
  // Paths lose their trailing slashes (`#compute`): so does the pattern.
  const trimmed = pattern.length > 1 ? pattern.replace(/\/+$/, "") : pattern;
  const parts = trimmed.split("/").slice(1);
  let src = "^";
  for (const [i, s] of parts.entries()) {
    if (s === "*" && i === parts.length - 1) {
      src += "(?:/.*)?";
      break;
    }
    src += s.startsWith(":") ? "/[^/]+" : `/${s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`;
  }
  return new RegExp(`${src === "^" ? "^/" : src}$`);
}

/** A route pattern as the configuration accepts it. */
/** A path pattern: segments, `:name` for any one segment, `*` as the last one only. */
export const ROUTE_PATTERN = /^(\/[A-Za-z0-9._~:-]+)*(\/\*)?\/?$|^\/$/;
