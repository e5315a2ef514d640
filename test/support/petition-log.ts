/**
 * A We-Sign-It-like petition (seed 004) as application events, for the guard's replay target:
 * tens of thousands of real signers over several days (homes, phones behind carrier NAT, a
 * lecture hall and an office behind one address each, people abroad, a few on VPNs, a TV
 * evening's surge), then 60,000 "Jeff Bezos" and 30,000 "Bill Gates" signed "déso pas déso"
 * from 218 addresses at about 5 a second, 99 % of them one owner's, and after that an evasive
 * tail of variants (case, accents, spacing, zero-width characters, homoglyphs, leetspeak, word
 * order, other celebrities) from many more networks, some of them from a script that runs the
 * page's widget and so carries valid tokens and solved proofs of work.
 *
 *   node test/support/petition-log.ts --out petition.jsonl --truth petition.truth.jsonl \
 *     --secret <hex> [--real 30000] [--scale 1] [--seed 4]
 */
import { parseArgs } from "node:util";
import {
  AsPrefixes,
  ALL_ASNS,
  BROWSERS,
  DAY,
  DISPOSABLE,
  EmailBook,
  FOREIGN_HOME,
  FRENCH_HOME,
  FRENCH_MOBILE,
  HEADLESS,
  HOSTING,
  HOUR,
  MIN,
  RENATER,
  SCRIPT_AGENTS,
  credentials,
  firstName,
  humanTime,
  int,
  isoAt,
  logNormal,
  personEmail,
  pick,
  prng,
  surname,
  weighted,
  writePlan,
  type AppEvent,
  type Browser,
  type PageCredentials,
  type Planned,
  type Rnd,
  type Written,
} from "./guard-world.ts";

export const PETITION_FORM = "petition";
const FIELDS = ["first_name", "last_name", "comment"] as const;
/** Paris in November. */
const OFFSET = 60;
/** Published on 16 November 2020 at 10:00 Paris time. */
export const PETITION_START = Date.UTC(2020, 10, 16, 9, 0);
/** The scripted attack starts at 22:05 on 18 November. */
export const ATTACK_START = Date.UTC(2020, 10, 18, 21, 5);

export interface PetitionOptions {
  /** Real signers (default 30,000). */
  readonly real?: number;
  /** Scales the fakes (1 = the seed's 90,000 plus the tail). */
  readonly scale?: number;
  /** Days of signing (default 5). */
  readonly days?: number;
  readonly seed?: number;
  /** Makes tokens and solutions; without it events carry none (the generator's own tests). */
  readonly browser?: Browser;
}

/** Short comments many people write, word for word. */
const SHORT_COMMENTS = [
  "Bravo",
  "Merci !",
  "👍",
  "Signé.",
  "Oui !",
  "Boycott !",
  "+1",
  "Bien sûr",
  "Merci",
  "Bravo !",
] as const;
/** Pieces of longer comments: people say the same things, rarely with the same words. */
const OPENERS = [
  "",
  "",
  "",
  "Je signe car ",
  "Évidemment : ",
  "Pour moi, ",
  "Franchement, ",
  "Parce que ",
  "Simple : ",
  "Je pense que ",
] as const;
const BODIES = [
  "il faut soutenir nos libraires",
  "les petits commerces ont besoin de nous",
  "Amazon ne paie pas ses impôts en France",
  "les conditions de travail dans les entrepôts sont indignes",
  "on peut très bien s'en passer",
  "acheter local fait vivre nos villes",
  "mes enfants méritent un autre modèle",
  "je suis libraire et je vois la différence",
  "le commerce de proximité crée des emplois",
  "la livraison gratuite a un coût caché",
  "je n'ai jamais commandé chez eux",
  "la concurrence est déloyale",
  "Noël doit rester une fête locale",
  "les indépendants d'abord",
  "c'est une question de justice fiscale",
  "l'écologie commence par nos achats",
  "ma librairie de quartier m'a tout trouvé",
  "il était temps d'agir",
  "je veux des centres-villes vivants",
  "the same fight goes on in my country",
] as const;
const CLOSERS = [
  "",
  "",
  ".",
  " !",
  "...",
  ". Merci pour l'initiative.",
  ". Partagé autour de moi.",
  ", et toute l'année.",
  " 🙂",
  ". Courage !",
] as const;
const PLACES = [
  "Rennes",
  "Lyon",
  "Brest",
  "Nantes",
  "Lille",
  "Grenoble",
  "Montreuil",
  "Bayonne",
  "Nancy",
  "Rouen",
  "Tours",
  "Arles",
  "Liège",
  "Genève",
] as const;

/** What real people write: mostly nothing; a short word now and then; otherwise their own sentence. */
function comment(rnd: Rnd): string {
  const r = rnd();
  if (r < 0.78) return "";
  if (r < 0.86) return pick(rnd, SHORT_COMMENTS);
  const opener = pick(rnd, OPENERS);
  let body = pick(rnd, BODIES);
  if (rnd() < 0.4) body += ` et ${pick(rnd, BODIES)}`;
  let text = opener === "" ? body[0]!.toUpperCase() + body.slice(1) : opener + body;
  text += pick(rnd, CLOSERS);
  if (rnd() < 0.2) text += ` (${pick(rnd, PLACES)})`;
  return text;
}

/** An address pool: each call answers the address one more signer uses. */
type AddressOf = (rnd: Rnd) => string;

interface Human {
  readonly time: number;
  readonly campaign: string;
  readonly ip: string;
  readonly ua?: string;
  /** Fill time, ms. */
  readonly fill?: number;
  readonly pow?: boolean;
}

function petitionEvent(
  id: string,
  time: number,
  ip: string,
  fields: Record<string, string>,
  email: string,
  ua: string,
  creds: PageCredentials,
): AppEvent {
  const f: Record<string, string> = { ...fields };
  if (creds.honeypot !== undefined) f[creds.honeypot.name] = creds.honeypot.value;
  const client: { user_agent: string; token?: string; altcha?: string } = { user_agent: ua };
  if (creds.token !== undefined) client.token = creds.token;
  if (creds.altcha !== undefined) client.altcha = creds.altcha;
  return {
    id,
    type: "form.submit",
    time: isoAt(time, OFFSET),
    source: { ip },
    actor: { email },
    form: PETITION_FORM,
    fields: f,
    client,
  };
}

/** The real signers: where and when they sign. */
function realSigners(rnd: Rnd, nets: AsPrefixes, total: number, days: number): Human[] {
  const end = PETITION_START + days * DAY;
  const out: Human[] = [];
  // Most of the interest comes early and fades; a TV evening on day 2 brings a surge.
  const when = (): number => {
    const day = Math.min(days - 1, Math.floor(-Math.log(1 - rnd() * 0.95) * (days / 3)));
    return humanTime(rnd, PETITION_START + day * DAY, PETITION_START + (day + 1) * DAY, OFFSET);
  };
  const homes = [] as { ip: string; until: number }[];
  const home = (t: number): string => {
    // One in twelve shares the household's address with an earlier signer of the day.
    const recent = homes.filter((h) => h.until > t);
    if (recent.length > 0 && rnd() < 0.08) return pick(rnd, recent).ip;
    const isp = weighted(rnd, FRENCH_HOME).asn;
    const ip =
      nets.hasV6(isp) && rnd() < 0.3
        ? nets.v6Net(rnd, isp)(int(rnd, 1, 0xffff))
        : nets.v4(rnd, isp);
    homes.push({ ip, until: t + 6 * HOUR });
    if (homes.length > 400) homes.splice(0, 200);
    return ip;
  };
  // Carrier-grade NAT: a few hundred public addresses shared by every phone of a carrier.
  const cgnat = FRENCH_MOBILE.map((c) => ({
    weight: c.weight,
    pool: Array.from({ length: Math.max(8, Math.round(total / 250)) }, () => nets.v4(rnd, c.asn)),
    v6: nets.hasV6(c.asn) ? c.asn : undefined,
  }));
  const mobile: AddressOf = (r) => {
    const c = weighted(r, cgnat);
    if (c.v6 !== undefined && r() < 0.35) return nets.v6Net(r, c.v6)(int(r, 1, 0xffff));
    return pick(r, c.pool);
  };

  const nReal = total;
  const university = nets.v4(rnd, RENATER);
  const company = nets.v4(rnd, 3215);
  const lecture = PETITION_START + 2 * DAY + 1 * HOUR; // day 3, 10:00
  const office = PETITION_START + 1 * DAY + 3 * HOUR; // day 2, 12:00
  const tv = PETITION_START + 1 * DAY + 11 * HOUR; // day 2, 20:00
  const share = (f: number): number => Math.round(nReal * f);
  const special = share(0.002) + share(0.0013) + share(0.08);
  for (let i = 0; i < nReal - special; i++) {
    const t = when();
    const r = rnd();
    if (r < 0.7) out.push({ time: t, campaign: "real-home", ip: home(t) });
    else if (r < 0.92) out.push({ time: t, campaign: "real-mobile", ip: mobile(rnd) });
    else if (r < 0.955)
      out.push({ time: t, campaign: "real-abroad", ip: nets.v4(rnd, pick(rnd, FOREIGN_HOME)) });
    else if (r < 0.965)
      out.push({ time: t, campaign: "real-vpn", ip: nets.v4(rnd, pick(rnd, HOSTING)) });
    else if (r < 0.975) out.push({ time: t, campaign: "real-nojs", ip: home(t), pow: false });
    else out.push({ time: t, campaign: "real-autofill", ip: home(t), fill: 3_500 + rnd() * 4_000 });
    if (out.length > 0 && out[out.length - 1]!.time >= end) out.pop();
  }
  // A lecturer shares the petition in a lecture hall: one university address for two hours.
  for (let i = 0; i < share(0.002); i++)
    out.push({ time: lecture + rnd() * 2 * HOUR, campaign: "real-nat-university", ip: university });
  // An office at lunch: one company address.
  for (let i = 0; i < share(0.0013); i++)
    out.push({ time: office + rnd() * 1.5 * HOUR, campaign: "real-nat-company", ip: company });
  // The TV evening: 8 % of all signers within an hour and a half, from everywhere.
  for (let i = 0; i < share(0.08); i++) {
    const t = tv + logNormal(rnd, 25 * MIN, 0.7);
    out.push({ time: t, campaign: "real-tv", ip: rnd() < 0.55 ? mobile(rnd) : home(t) });
  }
  return out;
}

// ── The fakes ─────────────────────────────────────────────────────────────────────────────

const ZW = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"];
const HOMOGLYPH: Readonly<Record<string, string>> = {
  a: "а",
  e: "е",
  o: "о",
  c: "с",
  p: "р",
  x: "х",
  i: "і",
  s: "ѕ",
  B: "В",
  G: "Ԍ",
  J: "Ј",
  E: "Е",
  M: "М",
  T: "Т",
  K: "К",
  l: "ӏ",
};
const LEET: Readonly<Record<string, string>> = {
  a: "4",
  e: "3",
  i: "1",
  o: "0",
  s: "5",
  l: "1",
  t: "7",
  g: "9",
};
const ACCENT: Readonly<Record<string, string>> = {
  e: "é",
  a: "â",
  i: "î",
  o: "ô",
  u: "ù",
  E: "É",
  c: "ç",
};
const CELEBRITIES = [
  ["Elon", "Musk"],
  ["Mark", "Zuckerberg"],
  ["Tim", "Cook"],
  ["Steve", "Jobs"],
  ["Larry", "Page"],
  ["Warren", "Buffett"],
] as const;
export const VARIANTS = [
  "case",
  "accents",
  "spacing",
  "zero-width",
  "homoglyph",
  "leet",
  "order",
  "celebrity",
  "mixed",
] as const;
type Variant = (typeof VARIANTS)[number];

const mapChars = (
  rnd: Rnd,
  s: string,
  table: Readonly<Record<string, string>>,
  p: number,
): string =>
  Array.from(s)
    .map((ch) => (table[ch] !== undefined && rnd() < p ? table[ch] : ch))
    .join("");

function variantOf(rnd: Rnd, v: Variant, first: string, last: string): [string, string] {
  switch (v) {
    case "case":
      return pick(rnd, [
        [first.toUpperCase(), last.toUpperCase()],
        [first.toLowerCase(), last.toLowerCase()],
        [
          first[0]!.toLowerCase() + first.slice(1).toUpperCase(),
          last[0]!.toLowerCase() + last.slice(1).toUpperCase(),
        ],
      ] as [string, string][]);
    case "accents":
      return [mapChars(rnd, first, ACCENT, 0.7), mapChars(rnd, last, ACCENT, 0.7)];
    case "spacing":
      return pick(rnd, [
        [` ${first}`, `${last}  `],
        [Array.from(first).join(" "), last],
        [first, Array.from(last).join(" ")],
        [`${first}\u00a0`, `\t${last}`],
      ] as [string, string][]);
    case "zero-width": {
      const zw = (s: string): string =>
        Array.from(s)
          .map((ch) => (rnd() < 0.4 ? ch + pick(rnd, ZW) : ch))
          .join("");
      return [zw(first), zw(last)];
    }
    case "homoglyph":
      return [mapChars(rnd, first, HOMOGLYPH, 0.6), mapChars(rnd, last, HOMOGLYPH, 0.6)];
    case "leet":
      return [mapChars(rnd, first, LEET, 0.6), mapChars(rnd, last, LEET, 0.6)];
    case "order":
      return rnd() < 0.5 ? [last, first] : ["", `${first} ${last}`];
    case "celebrity": {
      const [f, l] = pick(rnd, CELEBRITIES);
      return [f, l];
    }
    case "mixed": {
      let [f, l] = variantOf(rnd, pick(rnd, ["leet", "accents", "case"] as const), first, last);
      [f, l] = variantOf(rnd, pick(rnd, ["zero-width", "homoglyph", "spacing"] as const), f, l);
      return [f, l];
    }
  }
}

const FAKE_COMMENTS = [
  "déso pas déso",
  "DÉSO PAS DÉSO",
  "deso pas deso",
  "déso  pas  déso",
  "d3so pas d3so",
  "déso\u200b pas déso",
  "Déso pas déso !",
  "désolé pas désolé",
  "",
] as const;

function randomLocal(rnd: Rnd): string {
  const n = int(rnd, 6, 11);
  let s = "";
  for (let i = 0; i < n; i++)
    s += "abcdefghijklmnopqrstuvwxyz0123456789".charAt(Math.floor(rnd() * 36));
  return s;
}

/** The attacker's e-mails: throw-away, random, or one Gmail box under many spellings. */
function fakeEmail(rnd: Rnd, first: string, last: string): string {
  const f = first.toLowerCase().replace(/[^a-z]/g, "") || "jeff";
  const l = last.toLowerCase().replace(/[^a-z]/g, "") || "bezos";
  const r = rnd();
  if (r < 0.4) return `${f}.${l}${int(rnd, 1, 99999)}@${pick(rnd, DISPOSABLE)}`;
  if (r < 0.6) return `${randomLocal(rnd)}@${pick(rnd, DISPOSABLE)}`;
  if (r < 0.8) {
    const base = `${f}${l}`;
    const dotted = Array.from(base)
      .map((ch, i) => (i > 0 && rnd() < 0.3 ? `.${ch}` : ch))
      .join("");
    return rnd() < 0.5 ? `${dotted}@gmail.com` : `${base}+${int(rnd, 1, 9999)}@gmail.com`;
  }
  return `${randomLocal(rnd)}@${pick(rnd, ["gmail.com", "outlook.com", "hotmail.com"])}`;
}

/** The seed's 218 addresses: 216 in three /24s rented from one hosting provider, and two more. */
function attackAddresses(rnd: Rnd, nets: AsPrefixes): string[] {
  const owner = 16276; // OVH: one customer's ranges
  const ips: string[] = [];
  for (let n = 0; n < 3; n++) {
    const net = nets.v4Net(rnd, owner);
    for (let h = 0; h < 72; h++) ips.push(net(10 + h));
  }
  ips.push(nets.v4(rnd, 12322), nets.v4(rnd, 51207));
  return ips;
}

/** Builds the plan: every event with its truth, in no particular order. */
export function petitionPlan(options: PetitionOptions = {}): Planned[] {
  const rnd = prng(options.seed ?? 4);
  const total = options.real ?? 30_000;
  const days = options.days ?? 5;
  const scale = options.scale ?? 1;
  const nets = new AsPrefixes(ALL_ASNS);
  const browser = options.browser;
  const emails = new EmailBook();
  const plan: Planned[] = [];

  for (const h of realSigners(rnd, nets, total, days)) {
    const first = firstName(rnd);
    const last = surname(rnd);
    const email = emails.unique(rnd, () => personEmail(rnd, first, last, 0.015));
    const fields = { first_name: first, last_name: last, comment: comment(rnd) };
    const ua = h.ua ?? pick(rnd, BROWSERS);
    const fill = h.fill ?? Math.min(30 * MIN, Math.max(6_000, logNormal(rnd, 45_000, 0.8)));
    const pow = h.pow ?? true;
    plan.push({
      time: Math.floor(h.time),
      truth: { truth: "real", campaign: h.campaign },
      assessed: true,
      build: async (id) => {
        const creds = await credentials(browser, {
          form: PETITION_FORM,
          fields: FIELDS,
          loadedAt: Math.floor(h.time - fill),
          submittedAt: Math.floor(h.time),
          token: true,
          pow,
        });
        return petitionEvent(id, Math.floor(h.time), h.ip, fields, email, ua, creds);
      },
    });
  }

  // The seed's attack: 5 a second from 218 addresses, no token or proof of work, except a
  // captured page (one token, one solution) pasted into 3 % of the posts.
  const ips = attackAddresses(rnd, nets);
  let captured: Promise<PageCredentials> | undefined;
  const scripted = (
    campaign: string,
    first: string,
    last: string,
    count: number,
    start: number,
  ): number => {
    let t = start;
    const ua = pick(rnd, SCRIPT_AGENTS);
    for (let i = 0; i < count; i++) {
      t += 150 + rnd() * 100;
      const time = Math.floor(t);
      const ip = pick(rnd, ips);
      const email = fakeEmail(rnd, first, last);
      const replay = rnd() < 0.03;
      plan.push({
        time,
        truth: { truth: "fake", campaign },
        assessed: true,
        build: async (id) => {
          let creds: PageCredentials = {};
          if (replay) {
            captured ??= credentials(browser, {
              form: PETITION_FORM,
              fields: FIELDS,
              loadedAt: time - 20_000,
              token: true,
              pow: true,
            });
            creds = await captured;
          }
          return petitionEvent(
            id,
            time,
            ip,
            { first_name: first, last_name: last, comment: "déso pas déso" },
            email,
            ua,
            creds,
          );
        },
      });
    }
    return t;
  };
  const afterBezos = scripted("bezos", "Jeff", "Bezos", Math.round(60_000 * scale), ATTACK_START);
  const attackEnd = scripted(
    "gates",
    "Bill",
    "Gates",
    Math.round(30_000 * scale),
    afterBezos + 5_000,
  );

  // The evasive tail, from the next morning to the petition's end: variants from many more
  // networks, at a human pace per address; 40 % from a script that runs the page's widget.
  const tailStart = Math.max(attackEnd, PETITION_START + 3 * DAY - 2 * HOUR);
  const tailEnd = PETITION_START + days * DAY;
  const tailIps = [
    ...Array.from({ length: 160 }, () => nets.v4(rnd, pick(rnd, HOSTING))),
    ...Array.from({ length: 160 }, () => nets.v4(rnd, pick(rnd, FOREIGN_HOME))),
    ...Array.from({ length: 80 }, () => nets.v4(rnd, weighted(rnd, FRENCH_HOME).asn)),
  ];
  const nTail = Math.round(4_000 * scale);
  for (let i = 0; i < nTail; i++) {
    const time = Math.floor(tailStart + rnd() * (tailEnd - tailStart));
    const [bf, bl] = rnd() < 0.6 ? ["Jeff", "Bezos"] : ["Bill", "Gates"];
    const variant = pick(rnd, VARIANTS);
    const [first, last] = variantOf(rnd, variant, bf, bl);
    const browserLike = rnd() < 0.4;
    const ip = pick(rnd, tailIps);
    const email = fakeEmail(rnd, first, last);
    const fields = { first_name: first, last_name: last, comment: pick(rnd, FAKE_COMMENTS) };
    const fill = browserLike ? 8_000 + rnd() * 22_000 : 0;
    const honeypot = browserLike && rnd() < 0.1;
    const ua = browserLike
      ? rnd() < 0.5
        ? HEADLESS
        : pick(rnd, BROWSERS)
      : pick(rnd, SCRIPT_AGENTS);
    plan.push({
      time,
      truth: { truth: "fake", campaign: browserLike ? "evasive-browser" : "evasive-script" },
      assessed: true,
      build: async (id) => {
        const creds = browserLike
          ? await credentials(browser, {
              form: PETITION_FORM,
              fields: FIELDS,
              loadedAt: time - fill,
              token: true,
              pow: true,
              fillHoneypot: honeypot,
            })
          : {};
        return petitionEvent(id, time, ip, fields, email, ua, creds);
      },
    });
  }
  return plan;
}

/** Writes the petition's events and truth files. */
export async function writePetition(
  eventsPath: string,
  truthPath: string,
  options: PetitionOptions = {},
): Promise<Written> {
  return writePlan(petitionPlan(options), "p", eventsPath, truthPath);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      truth: { type: "string" },
      secret: { type: "string" },
      real: { type: "string" },
      scale: { type: "string" },
      seed: { type: "string" },
    },
  });
  if (values.out === undefined || values.truth === undefined) {
    process.stderr.write(
      "usage: petition-log.ts --out FILE --truth FILE [--secret HEX] [--real N] [--scale X] [--seed N]\n",
    );
    process.exit(2);
  }
  const { guardBrowser } = await import("./guard-browser.ts");
  const seed = values.seed === undefined ? 4 : Number(values.seed);
  const browser =
    values.secret === undefined
      ? undefined
      : guardBrowser({ secret: values.secret, rnd: prng(seed + 1000) });
  const w = await writePetition(values.out, values.truth, {
    seed,
    ...(values.real === undefined ? {} : { real: Number(values.real) }),
    ...(values.scale === undefined ? {} : { scale: Number(values.scale) }),
    ...(browser === undefined ? {} : { browser }),
  });
  process.stdout.write(`${JSON.stringify(w)}\n`);
}
