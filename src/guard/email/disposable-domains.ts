/**
 * Disposable e-mail domains: the community list shipped by `disposable-email-domains-js`, plus
 * the operator's additions, minus the operator's exceptions. A listed domain covers its
 * subdomains (x.y.mailinator.com); an allowed domain, or any parent of it, always wins.
 */
import { readFile } from "node:fs/promises";
import { disposableEmailBlocklist } from "disposable-email-domains-js";
import { RempartError } from "../../core/index.ts";
import type { DomainSet } from "../ports.ts";
import { asciiDomain } from "./normalize-email.ts";

export interface DisposableDomainsOptions {
  /** The maintained list; by default the package's (read when `load` runs). */
  readonly base?: Iterable<string>;
  readonly extra?: Iterable<string>;
  readonly allow?: Iterable<string>;
}

export class DisposableDomains implements DomainSet {
  readonly #listed: ReadonlySet<string>;
  readonly #allowed: ReadonlySet<string>;

  /** Pure: domains in any case, with or without a trailing dot, IDN or punycode. */
  constructor(options: {
    base: Iterable<string>;
    extra?: Iterable<string>;
    allow?: Iterable<string>;
  }) {
    this.#listed = domainSet([options.base, options.extra ?? []]);
    this.#allowed = domainSet([options.allow ?? []]);
  }

  /**
   * Reads the package's list (once: call it at start) and the operator's file of additions,
   * one domain a line, `#` starting a comment.
   */
  static async load(
    options: DisposableDomainsOptions & { readonly extraFile?: string } = {},
  ): Promise<DisposableDomains> {
    const extra = [...(options.extra ?? [])];
    if (options.extraFile !== undefined) {
      let text: string;
      try {
        text = await readFile(options.extraFile, "utf8");
      } catch (e) {
        throw new RempartError(
          "SOURCE_UNREADABLE",
          `cannot read the disposable domains file ${options.extraFile}`,
          { cause: e, hint: "check guard.email.disposable.extra_file and its permissions" },
        );
      }
      extra.push(...parseDomainList(text));
    }
    return new DisposableDomains({
      base: options.base ?? disposableEmailBlocklist(),
      extra,
      allow: options.allow ?? [],
    });
  }

  get size(): number {
    return this.#listed.size;
  }

  /** Whether `domain` or one of its parents is listed and none is allowed. O(labels). */
  has(domain: string): boolean {
    let d = domain.endsWith(".") ? domain.slice(0, -1) : domain;
    if (/[A-Z]/.test(d)) d = d.toLowerCase();
    let listed = false;
    for (let at = 0; at >= 0;) {
      const suffix = at === 0 ? d : d.slice(at);
      if (this.#allowed.has(suffix)) return false;
      if (!listed && this.#listed.has(suffix)) listed = true;
      const dot = d.indexOf(".", at);
      at = dot < 0 ? -1 : dot + 1;
    }
    return listed;
  }
}

/** One domain a line; blank lines and `#` comments (whole line or trailing) ignored. */
export function parseDomainList(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const hash = line.indexOf("#");
    const d = (hash < 0 ? line : line.slice(0, hash)).trim();
    if (d !== "") out.push(d);
  }
  return out;
}

function domainSet(lists: readonly Iterable<string>[]): Set<string> {
  const set = new Set<string>();
  for (const list of lists) {
    for (const d of list) {
      const ascii = asciiDomain(d.trim());
      if (ascii !== undefined) set.add(ascii);
    }
  }
  return set;
}
