/**
 * E-mail addresses checked and reduced to the mailbox they reach: counters key on the
 * canonical form, so that j.o.h.n+1@googlemail.com and john+2@gmail.com count as one person.
 */
import { domainToASCII } from "node:url";
import { err, ok, type Result } from "../../core/index.ts";

export interface EmailAddress {
  /** The address as given, with the domain in lower-case ASCII (IDNA). */
  readonly address: string;
  readonly local: string;
  /** Lower-case ASCII (punycode for an internationalised name), no trailing dot. */
  readonly domain: string;
  /** The mailbox it reaches: local part folded by the provider's rules, provider's main domain. */
  readonly canonical: string;
}

export type EmailProblem =
  "empty" | "too-long" | "no-at" | "quoted-local" | "bad-local" | "address-literal" | "bad-domain";

/**
 * How a provider folds local parts: `ignore` removes the characters it ignores, `tag` is the
 * separator after which anything is a tag, `domain` the main domain of a shared namespace.
 */
interface Provider {
  readonly domain: string;
  readonly ignore?: RegExp;
  readonly tag: string;
}

const GMAIL: Provider = { domain: "gmail.com", ignore: /\./g, tag: "+" };
// Proton ignores dots, hyphens and underscores; its four domains share one namespace.
const PROTON: Provider = { domain: "proton.me", ignore: /[._-]/g, tag: "+" };
// One iCloud account owns the same name at icloud.com, me.com and mac.com.
const ICLOUD: Provider = { domain: "icloud.com", tag: "+" };
// Yahoo has no + addressing; its disposable addresses are base-keyword.
const YAHOO_TAG = "-";

const PROVIDERS: ReadonlyMap<string, Provider> = new Map([
  ["gmail.com", GMAIL],
  ["googlemail.com", GMAIL],
  ["proton.me", PROTON],
  ["protonmail.com", PROTON],
  ["protonmail.ch", PROTON],
  ["pm.me", PROTON],
  ["icloud.com", ICLOUD],
  ["me.com", ICLOUD],
  ["mac.com", ICLOUD],
]);

/** Fastmail delivers anything@user.fastmail.com to user@fastmail.com. */
const FASTMAIL_SUBDOMAIN = /^([a-z0-9][a-z0-9._-]*)\.(fastmail\.(?:com|fm))$/;

// RFC 5322 atext, plus any non-ASCII character that is neither a space nor a control (RFC 6531).
const DOT_ATOM =
  /^(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\x00-\x7f\s\p{C}])+(?:\.(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\x00-\x7f\s\p{C}])+)*$/u;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Checks an address and finds its canonical mailbox. Never throws; a refusal says why. */
export function normalizeEmail(input: string): Result<EmailAddress, EmailProblem> {
  const text = input.trim();
  if (text === "") return err("empty");
  if (text.length > 254) return err("too-long");
  const at = text.lastIndexOf("@");
  if (at < 0) return err("no-at");
  const local = text.slice(0, at).normalize("NFC");
  const rawDomain = text.slice(at + 1);
  if (local.startsWith('"')) return err("quoted-local");
  if (local === "" || Buffer.byteLength(local) > 64 || !DOT_ATOM.test(local)) {
    return err("bad-local");
  }
  if (rawDomain.startsWith("[")) return err("address-literal");
  const domain = asciiDomain(rawDomain);
  if (domain === undefined) return err("bad-domain");
  const address = `${local}@${domain}`;
  if (address.length > 254) return err("too-long");
  return ok(Object.freeze({ address, local, domain, canonical: canonicalOf(local, domain) }));
}

/** The domain in lower-case ASCII, or undefined when it is not a usable host name. */
export function asciiDomain(text: string): string | undefined {
  const name = text.endsWith(".") ? text.slice(0, -1) : text;
  if (name === "" || name.length > 253 * 4) return undefined;
  const ascii = /^[A-Za-z0-9.-]+$/.test(name) ? name.toLowerCase() : domainToASCII(name);
  if (ascii === "" || ascii.length > 253) return undefined;
  const labels = ascii.split(".");
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return undefined;
  // An all-numeric last label is an IP address, not a domain.
  if (/^\d+$/.test(labels[labels.length - 1]!)) return undefined;
  return ascii;
}

function canonicalOf(local: string, domain: string): string {
  let folded = local.toLowerCase();
  let home = domain;
  const fastmail = FASTMAIL_SUBDOMAIN.exec(domain);
  if (fastmail !== null) {
    folded = fastmail[1]!;
    home = fastmail[2]!;
  }
  const provider = PROVIDERS.get(home);
  const tag = provider?.tag ?? (isYahoo(home) ? YAHOO_TAG : "+");
  // A leading separator is part of the name, not a tag (+1@example.org stays itself).
  const cut = folded.indexOf(tag, 1);
  // The name before a tag cannot end with a dot (a.+x stands for a).
  if (cut > 0) folded = folded.slice(0, cut).replace(/\.+$/, "");
  if (provider !== undefined) {
    if (provider.ignore !== undefined) {
      const bare = folded.replace(provider.ignore, "");
      if (bare !== "") folded = bare;
    }
    home = provider.domain;
  }
  return `${folded}@${home}`;
}

/** yahoo.com, yahoo.fr, yahoo.co.uk, … and Yahoo's other brands; Yahoo Japan is another firm. */
const isYahoo = (domain: string): boolean =>
  (domain.startsWith("yahoo.") && domain !== "yahoo.co.jp") ||
  domain === "ymail.com" ||
  domain === "rocketmail.com";
