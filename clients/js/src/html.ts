/**
 * The page's side: the hidden inputs that carry the form token and the honeypot, and the ALTCHA
 * widget's tag. Every value is escaped here, so these strings can be pasted into a page as is.
 */
import type { FormToken } from "./rempart-guard.ts";

/** The name of the input that carries the form token. */
export const TOKEN_FIELD = "rempart_token";
/** The name of the input the widget fills with its proof-of-work payload. */
export const ALTCHA_FIELD = "altcha";

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/** Text made safe for an HTML element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

/**
 * The hidden token input and the honeypot input: off-screen rather than `display: none` (some
 * scripts skip those), out of the tab order, never auto-filled. Empty when the token is empty
 * (Rempart was unavailable when the page was rendered).
 */
export function formFields(token: Pick<FormToken, "token" | "honeypot">): string {
  if (token.token === "") return "";
  const hidden = `<input type="hidden" name="${TOKEN_FIELD}" value="${escapeHtml(token.token)}">`;
  if (token.honeypot === "") return hidden;
  const name = escapeHtml(token.honeypot);
  return (
    hidden +
    `<div aria-hidden="true" style="position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden">` +
    `<label>Leave this field empty <input type="text" name="${name}" value="" autocomplete="off" tabindex="-1"></label>` +
    `</div>`
  );
}

export interface AltchaWidgetOptions {
  /** Where the widget fetches its challenge: your server's relay of `GET /v1/guard/challenge`. */
  readonly challengeUrl?: string;
  /** A challenge given inline instead (the `challenge` of an assessment): it wins over the URL. */
  readonly challenge?: Readonly<Record<string, unknown>>;
  /** Default `invisible`: most people never see it; `standard` shows the box and its progress. */
  readonly display?: "invisible" | "standard" | "bar" | "floating" | "overlay";
  /** Default `onload`: the work starts with the page, so it is done before people submit. */
  readonly auto?: "onload" | "onfocus" | "onsubmit" | "off";
  /** Default `altcha`. */
  readonly name?: string;
  /** The widget's language (`fr`, `de`), when its translations are loaded. */
  readonly language?: string;
}

/**
 * The `<altcha-widget>` tag (widget 3.x: `challenge`, `auto`, `display`, `name`). The widget's
 * human-interaction collector is switched off: Rempart asks for nothing but the proof of work.
 */
export function altchaWidget(options: AltchaWidgetOptions): string {
  const source =
    options.challenge !== undefined ? JSON.stringify(options.challenge) : options.challengeUrl;
  if (source === undefined) throw new TypeError("altchaWidget: give challengeUrl or challenge");
  const attrs: [string, string][] = [
    ["challenge", source],
    ["auto", options.auto ?? "onload"],
    ["display", options.display ?? "invisible"],
    ["name", options.name ?? ALTCHA_FIELD],
    ["configuration", JSON.stringify({ humanInteractionSignature: false })],
  ];
  if (options.language !== undefined) attrs.push(["language", options.language]);
  return `<altcha-widget ${attrs.map(([k, v]) => `${k}="${escapeHtml(v)}"`).join(" ")}></altcha-widget>`;
}

/**
 * Splits a posted form into what `assess` takes: the token, the widget's payload, and the other
 * fields (the honeypot among them). Fields named in `omit` are left out: passwords, card numbers,
 * anything Rempart has no business seeing.
 */
export function splitForm(
  posted: Readonly<Record<string, string>>,
  omit: readonly string[] = ["password"],
): { token?: string; altcha?: string; fields: Record<string, string> } {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(posted)) {
    if (name === TOKEN_FIELD || name === ALTCHA_FIELD || omit.includes(name)) continue;
    fields[name] = value;
  }
  const token = posted[TOKEN_FIELD];
  const altcha = posted[ALTCHA_FIELD];
  return {
    ...(token === undefined ? {} : { token }),
    ...(altcha === undefined ? {} : { altcha }),
    fields,
  };
}
