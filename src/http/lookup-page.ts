/**
 * The public look-up page (docs/reputation.md, "Appeals"): what this site holds against an
 * address, and a form to ask for it to be forgiven. Plain HTML, no script, in the visitor's
 * language (English or French); every piece of input is escaped.
 */
import { escapeHtml as escape } from "../../clients/js/src/html.ts";
import type { PublicStanding } from "../reputation/index.ts";
import { pageHeaders, pickLanguage, type PageLanguage } from "./challenge-page.ts";
import type { ApiResponse } from "./requests.ts";

const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; " +
  "base-uri 'none'";

const HEADERS = pageHeaders(CSP);

interface Words {
  readonly title: string;
  readonly address: string;
  readonly look: string;
  readonly clean: (ip: string) => string;
  readonly listed: (ip: string) => string;
  readonly until: string;
  readonly forever: string;
  readonly since: string;
  readonly suspect: (confidence: number) => string;
  readonly pending: string;
  readonly sent: string;
  readonly forgiven: string;
  readonly refused: string;
  readonly ask: string;
  readonly contact: string;
  readonly message: string;
  readonly send: string;
  readonly privacy: string;
  readonly action: Readonly<Record<string, string>>;
  /** A decision made by hand. */
  readonly operator: string;
}

const WORDS: Readonly<Record<PageLanguage, Words>> = {
  en: {
    title: "Is this address listed here?",
    address: "Address",
    look: "Look",
    clean: (ip) => `Nothing is held against ${ip} here.`,
    listed: (ip) => `This site holds the following against ${ip}:`,
    until: "until",
    forever: "until lifted by hand",
    since: "since",
    suspect: (c) =>
      `Reports about this address add up to a suspicion of ${c} out of 100; it fades by half each week.`,
    pending: "An appeal for this address is waiting for an answer.",
    sent: "Your appeal was received. An operator will answer it.",
    forgiven: "The last appeal for this address was granted.",
    refused: "The last appeal for this address was refused.",
    ask: "If this is your address and you did nothing wrong (a shared connection, an address someone else used before), ask for it to be forgiven:",
    contact: "Your e-mail address, for the answer (optional)",
    message: "What happened",
    send: "Send",
    privacy:
      "Your message and e-mail address are kept only until the appeal is answered, and 90 days after.",
    operator: "by an operator",
    action: {
      ban: "blocked",
      challenge: "asked to prove it is not a script",
      throttle: "slowed down",
      hold: "mail held",
      suspend: "suspended",
      verify: "sign-ups held for verification",
    },
  },
  fr: {
    title: "Cette adresse est-elle listée ici ?",
    address: "Adresse",
    look: "Voir",
    clean: (ip) => `Rien n'est retenu contre ${ip} ici.`,
    listed: (ip) => `Ce site retient ceci contre ${ip} :`,
    until: "jusqu'au",
    forever: "jusqu'à levée à la main",
    since: "depuis le",
    suspect: (c) =>
      `Les signalements sur cette adresse font un soupçon de ${c} sur 100 ; il diminue de moitié chaque semaine.`,
    pending: "Une demande pour cette adresse attend une réponse.",
    sent: "Votre demande a bien été reçue. Un opérateur y répondra.",
    forgiven: "La dernière demande pour cette adresse a été acceptée.",
    refused: "La dernière demande pour cette adresse a été refusée.",
    ask: "Si c'est votre adresse et que vous n'avez rien fait de mal (une connexion partagée, une adresse utilisée avant vous par quelqu'un d'autre), demandez qu'elle soit pardonnée :",
    contact: "Votre adresse e-mail, pour la réponse (facultatif)",
    message: "Ce qui s'est passé",
    send: "Envoyer",
    privacy:
      "Votre message et votre adresse e-mail ne sont gardés que jusqu'à la réponse, puis 90 jours.",
    operator: "par un opérateur",
    action: {
      ban: "bloquée",
      challenge: "doit prouver qu'elle n'est pas un script",
      throttle: "ralentie",
      hold: "courrier retenu",
      suspend: "suspendue",
      verify: "inscriptions retenues pour vérification",
    },
  },
};

export interface LookupPageInput {
  readonly acceptLanguage: string | undefined;
  /** The standing of the address asked about, or undefined for the empty form. */
  readonly standing: PublicStanding | undefined;
  /** The address the form starts with (the visitor's own). */
  readonly ip: string;
  /** The visitor just sent an appeal. */
  readonly sent: boolean;
  /** Why an appeal was not taken, when it was not. */
  readonly problem?: string;
  readonly status?: number;
}

export function lookupPage(input: LookupPageInput): ApiResponse {
  const lang = pickLanguage(input.acceptLanguage);
  const w = WORDS[lang];
  const s = input.standing;
  const parts: string[] = [
    `<h1>${escape(w.title)}</h1>`,
    `<form method="get" action="./"><label>${escape(w.address)} <input name="ip" value="${escape(input.ip)}" required maxlength="64"></label> <button>${escape(w.look)}</button></form>`,
  ];
  if (input.problem !== undefined) parts.push(`<p class="problem">${escape(input.problem)}</p>`);
  if (input.sent) parts.push(`<p class="sent">${escape(w.sent)}</p>`);
  if (s !== undefined) {
    if (!s.listed) parts.push(`<p>${escape(w.clean(s.ip))}</p>`);
    else {
      parts.push(`<p>${escape(w.listed(s.ip))}</p>`, "<ul>");
      for (const d of s.decisions)
        parts.push(
          `<li>${escape(w.action[d.action] ?? d.action)} (${escape(d.scope === "ip" ? d.value : `${d.scope} ${d.value}`)}, ${escape(d.source === "operator" ? w.operator : d.source)}), ${escape(w.since)} ${escape(d.since)}, ${escape(d.until === null ? w.forever : `${w.until} ${d.until}`)}</li>`,
        );
      parts.push("</ul>");
      if (s.confidence > 0) parts.push(`<p>${escape(w.suspect(s.confidence))}</p>`);
    }
    const appeal = s.appeal;
    if (appeal?.status === "open") {
      if (!input.sent) parts.push(`<p>${escape(w.pending)}</p>`);
    } else {
      if (appeal?.status === "forgiven") parts.push(`<p>${escape(w.forgiven)}</p>`);
      if (appeal?.status === "refused") parts.push(`<p>${escape(w.refused)}</p>`);
      if (s.listed)
        parts.push(
          `<form method="post" action="../appeals"><p>${escape(w.ask)}</p>`,
          `<input type="hidden" name="ip" value="${escape(s.ip)}">`,
          `<label>${escape(w.contact)}<br><input type="email" name="contact" maxlength="320"></label>`,
          `<label>${escape(w.message)}<br><textarea name="message" required maxlength="2000" rows="5"></textarea></label>`,
          `<button>${escape(w.send)}</button><p class="small">${escape(w.privacy)}</p></form>`,
        );
    }
  }
  const body = `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escape(w.title)}</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; color: #222; background: #f6f6f4; margin: 0; }
main { max-width: 36rem; margin: 2rem auto; padding: 1.5rem 2rem; background: #fff; border-radius: 8px; box-shadow: 0 1px 4px rgb(0 0 0 / 10%); }
h1 { font-size: 1.3rem; margin-top: 0; }
label { display: block; margin: 0.5rem 0; }
input, textarea { font: inherit; width: 100%; box-sizing: border-box; }
form[method="get"] input { width: auto; }
.problem { color: #a40000; }
.sent { color: #0a5c0a; }
.small { font-size: 0.85rem; color: #555; }
</style>
</head>
<body><main>
${parts.join("\n")}
</main></body>
</html>
`;
  return { status: input.status ?? 200, headers: HEADERS, body };
}
