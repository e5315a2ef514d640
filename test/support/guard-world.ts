/**
 * The world the guard's replay logs are made of (test/support/petition-log.ts and
 * signup-log.ts): people's names and e-mail addresses, browsers, and addresses taken from REAL
 * prefixes of real autonomous systems (@ip-location-db/asn), so that the guard's AS look-ups
 * classify them as they would in production. These are only strings written to a file: no
 * traffic goes anywhere.
 *
 * Every log is two files: the events (JSON lines in the application event format, in time
 * order) and, apart, the ground truth keyed by event id, which the guard never sees.
 */
import { once } from "node:events";
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";
import { createRequire } from "node:module";
import { prng } from "./mail-log.ts";

export { prng };
export type Rnd = () => number;

export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;

// ── Randomness ─────────────────────────────────────────────────────────────────────────────

export const pick = <T>(rnd: Rnd, items: readonly T[]): T =>
  items[Math.floor(rnd() * items.length)]!;

/** Picks with a rank-decaying weight (`skew` 0 = uniform), like names' frequencies. */
export function pickSkewed<T>(rnd: Rnd, items: readonly T[], skew = 0.8): T {
  return items[Math.floor(items.length * rnd() ** (1 + skew * 2))]!;
}

export const int = (rnd: Rnd, lo: number, hi: number): number =>
  lo + Math.floor(rnd() * (hi - lo + 1));

/** A log-normal draw around `median` (people's fill times, delays). */
export function logNormal(rnd: Rnd, median: number, sigma: number): number {
  const u = Math.max(rnd(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  return median * Math.exp(sigma * z);
}

/** Relative activity of people by local hour (0-23): low at night, peaks at lunch and evening. */
const DIURNAL = [
  0.15, 0.08, 0.05, 0.03, 0.03, 0.05, 0.2, 0.5, 0.8, 0.9, 1, 1, 1.2, 1.1, 0.9, 0.9, 0.9, 1, 1.2,
  1.4, 1.5, 1.4, 1, 0.5,
];
const DIURNAL_MAX = Math.max(...DIURNAL);

/**
 * A time within [from, to) drawn with the diurnal pattern of people at UTC offset `offsetMin`
 * (rejection sampling: fine at these volumes).
 */
export function humanTime(rnd: Rnd, from: number, to: number, offsetMin: number): number {
  for (;;) {
    const t = from + rnd() * (to - from);
    const hour = new Date(t + offsetMin * MIN).getUTCHours();
    if (rnd() * DIURNAL_MAX < DIURNAL[hour]!) return Math.floor(t);
  }
}

// ── Time ───────────────────────────────────────────────────────────────────────────────────

/** ISO 8601 with milliseconds at a fixed offset, as applications log it. */
export function isoAt(t: number, offsetMin: number): string {
  const local = new Date(t + offsetMin * MIN).toISOString().slice(0, 23);
  const sign = offsetMin < 0 ? "-" : "+";
  const a = Math.abs(offsetMin);
  const hh = String(Math.floor(a / 60)).padStart(2, "0");
  const mm = String(a % 60).padStart(2, "0");
  return `${local}${sign}${hh}:${mm}`;
}

// ── Addresses from real AS prefixes ──────────────────────────────────────────────────────

const require = createRequire(import.meta.url);
const ASN_DIR = require.resolve("@ip-location-db/asn/package.json").replace(/package\.json$/, "");

interface Ranges {
  readonly v4: (readonly [number, number])[];
  readonly v6: (readonly [bigint, bigint])[];
}

const v4Int = (s: string): number => s.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);

function v6Big(s: string): bigint {
  const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
  const h = head === "" || head === undefined ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

const v4Text = (n: number): string =>
  `${Math.floor(n / 16777216)}.${Math.floor(n / 65536) % 256}.${Math.floor(n / 256) % 256}.${n % 256}`;

function v6Text(n: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}

/**
 * The prefixes of a few ASes, read once from the package's CSV files. Addresses drawn from
 * them avoid each range's first and last /24 (network gear, not people).
 */
export class AsPrefixes {
  readonly #ranges = new Map<number, Ranges>();

  constructor(asns: readonly number[]) {
    const wanted = new Set(asns);
    for (const a of asns) this.#ranges.set(a, { v4: [], v6: [] });
    const read = (file: string, v6: boolean): void => {
      const text = readFileSync(ASN_DIR + file, "utf8");
      let start = 0;
      while (start < text.length) {
        let end = text.indexOf("\n", start);
        if (end < 0) end = text.length;
        const line = text.slice(start, end);
        start = end + 1;
        const c1 = line.indexOf(",");
        const c2 = line.indexOf(",", c1 + 1);
        const c3 = line.indexOf(",", c2 + 1);
        const asn = Number(line.slice(c2 + 1, c3));
        if (!wanted.has(asn)) continue;
        const r = this.#ranges.get(asn)!;
        if (v6) r.v6.push([v6Big(line.slice(0, c1)), v6Big(line.slice(c1 + 1, c2))]);
        else r.v4.push([v4Int(line.slice(0, c1)), v4Int(line.slice(c1 + 1, c2))]);
      }
    };
    read("asn-ipv4.csv", false);
    read("asn-ipv6.csv", true);
    for (const [asn, r] of this.#ranges)
      if (r.v4.length === 0) throw new Error(`no IPv4 prefix for AS${asn} in @ip-location-db/asn`);
  }

  /** A random IPv4 address of the AS. */
  v4(rnd: Rnd, asn: number): string {
    const ranges = this.#ranges.get(asn)!.v4;
    const [lo, hi] = pick(rnd, ranges);
    const size = hi - lo + 1;
    const margin = size > 1024 ? 256 : 0;
    return v4Text(lo + margin + Math.floor(rnd() * (size - 2 * margin)));
  }

  /** A random /24 of the AS, as its first three octets' base (for several hosts in one net). */
  v4Net(rnd: Rnd, asn: number): (host: number) => string {
    const base = Math.floor(v4Int(this.v4(rnd, asn)) / 256) * 256;
    return (host) => v4Text(base + (host % 254) + 1);
  }

  hasV6(asn: number): boolean {
    return this.#ranges.get(asn)!.v6.length > 0;
  }

  /** A random /64 of the AS: call the answer with an interface id for each device. */
  v6Net(rnd: Rnd, asn: number): (iid: number) => string {
    const [lo, hi] = pick(rnd, this.#ranges.get(asn)!.v6);
    const blocks = (hi - lo) >> 64n;
    const r = BigInt(Math.floor(rnd() * 2 ** 40));
    const net = ((lo >> 64n) + (blocks === 0n ? 0n : r % (blocks + 1n))) << 64n;
    const salt = BigInt(Math.floor(rnd() * 2 ** 48)) << 16n;
    return (iid) => v6Text(net | salt | BigInt(iid & 0xffff));
  }
}

/** French residential ISPs and mobile carriers, with their market weight. */
export const FRENCH_HOME = [
  { asn: 3215, name: "Orange", weight: 40 },
  { asn: 12322, name: "Free", weight: 24 },
  { asn: 15557, name: "SFR", weight: 20 },
  { asn: 5410, name: "Bouygues Telecom", weight: 16 },
] as const;
export const FRENCH_MOBILE = [
  { asn: 51207, name: "Free Mobile", weight: 30 },
  { asn: 5410, name: "Bouygues Telecom", weight: 25 },
  { asn: 15557, name: "SFR", weight: 20 },
  { asn: 3215, name: "Orange", weight: 25 },
] as const;
/** Residential networks abroad (signers abroad; residential proxies). */
export const FOREIGN_HOME = [7922, 3320, 9121, 30722, 18881, 5089, 6805] as const;
/** Hosting and data-centre networks (VPS, cloud). */
export const HOSTING = [16276, 24940, 14061, 12876, 51167, 63949, 20473, 16509, 9009] as const;
export const RENATER = 2200;
export const MOROCCO = [36903, 36925, 36884] as const;
export const ALL_ASNS: readonly number[] = [
  ...new Set<number>([
    ...FRENCH_HOME.map((a) => a.asn),
    ...FRENCH_MOBILE.map((a) => a.asn),
    ...FOREIGN_HOME,
    ...HOSTING,
    RENATER,
    ...MOROCCO,
    53667,
    60729,
  ]),
];

export function weighted<T extends { readonly weight: number }>(rnd: Rnd, items: readonly T[]): T {
  const total = items.reduce((a, i) => a + i.weight, 0);
  let x = rnd() * total;
  for (const i of items) if ((x -= i.weight) < 0) return i;
  return items[items.length - 1]!;
}

// ── People ─────────────────────────────────────────────────────────────────────────────────

// prettier-ignore
export const FIRST_NAMES = [
  "Marie","Jean","Nathalie","Pierre","Isabelle","Michel","Sylvie","Philippe","Catherine","Alain",
  "Françoise","Nicolas","Christine","Patrick","Sandrine","Christophe","Valérie","Stéphane","Véronique","Laurent",
  "Céline","Frédéric","Anne","Éric","Sophie","David","Julie","Thierry","Caroline","Olivier",
  "Aurélie","Sébastien","Émilie","Julien","Stéphanie","Thomas","Laure","Antoine","Camille","Maxime",
  "Léa","Hugo","Chloé","Lucas","Manon","Louis","Inès","Gabriel","Jade","Arthur",
  "Louise","Raphaël","Emma","Jules","Alice","Adam","Lina","Léo","Rose","Nathan",
  "Anaïs","Mathéo","Zoé","Théo","Clémence","Benoît","Hélène","Gérard","Brigitte","Daniel",
  "Monique","Bernard","Josiane","Jacques","Martine","Claude","Dominique","Yves","Annick","René",
  "Agnès","François","Hervé","Jérôme","Mélanie","Cédric","Élodie","Damien","Audrey","Fabrice",
  "Gaëlle","Loïc","Maëlle","Yannick","Solène","Gwenaël","Maïwenn","Erwan","Nolwenn","Ronan",
  "Joël","Noël","Noémie","Clément","Margaux","Bastien","Pauline","Romain","Justine","Quentin",
  "Héloïse","Timothée","Capucine","Aurélien","Bérénice","Grégoire","Apolline","Baptiste","Ophélie","Félix",
  "Mohamed","Fatima","Karim","Leïla","Rachid","Nadia","Youssef","Samira","Mehdi","Yasmine",
  "Sofiane","Amina","Bilal","Myriam","Nassim","Houria","Djamel","Malika","Ibrahim","Aïcha",
  "Moussa","Aminata","Mamadou","Fatoumata","Ousmane","Awa","Kofi","Abdoulaye","Mariama","Seydou",
  "João","Maria","António","Ana","José","Manuel","Inês","Rui","Joana","Tiago",
  "Giuseppe","Francesca","Marco","Giulia","Luca","Chiara","Alessandro","Sara","Matteo","Elena",
  "Javier","Lucía","Alejandro","Carmen","Pablo","Marta","Sergio","Álvaro","Nuria","Íñigo",
  "Jürgen","Anke","Klaus","Sabine","Jörg","Ursula","Lukas","Hannah","Björn","Käthe",
  "Piotr","Agnieszka","Krzysztof","Małgorzata","Tomasz","Katarzyna","Paweł","Zofia","Łukasz","Ewa",
  "Nguyễn","Linh","Minh","Thảo","Huy","Mai","Wei","Mei","Jun","Yuki",
  "Hiroshi","Sakura","Ahmet","Ayşe","Mehmet","Zeynep","Emre","Elif","Dmitri","Olga",
  "Ivan","Natalia","Sergei","Svetlana","Niamh","Siobhán","Seán","Aoife","Oisín","Eoin",
  "Liam","Olivia","Noah","Ava","Ethan","Mia","James","Emily","Jack","Grace",
  "Søren","Åsa","Øystein","Ingrid","Lars","Astrid","Mikael","Sigrid","Henrik","Freja",
  "Ghislaine","Marcel","Odette","Lucien","Germaine","Roger","Simone","André","Yvette","Raymond",
  "Jean-Pierre","Marie-Claire","Jean-Luc","Anne-Sophie","Pierre-Yves","Marie-Hélène","Jean-Baptiste","Marie-Christine","Paul-Henri","Anne-Laure",
];

// prettier-ignore
export const SURNAMES = [
  "Martin","Bernard","Thomas","Petit","Robert","Richard","Durand","Dubois","Moreau","Laurent",
  "Simon","Michel","Lefèvre","Leroy","Roux","David","Bertrand","Morel","Fournier","Girard",
  "Bonnet","Dupont","Lambert","Fontaine","Rousseau","Vincent","Muller","Lefebvre","Faure","André",
  "Mercier","Blanc","Guérin","Boyer","Garnier","Chevalier","François","Legrand","Gauthier","Garcia",
  "Perrin","Robin","Clément","Morin","Nicolas","Henry","Roussel","Mathieu","Gautier","Masson",
  "Marchand","Duval","Denis","Dumont","Marie","Lemaire","Noël","Meyer","Dufour","Meunier",
  "Brun","Blanchard","Giraud","Joly","Rivière","Lucas","Brunet","Gaillard","Barbier","Arnaud",
  "Martinez","Gérard","Roche","Renard","Schmitt","Roy","Leroux","Colin","Vidal","Caron",
  "Picard","Roger","Fabre","Aubert","Lemoine","Renaud","Dumas","Lacroix","Olivier","Philippe",
  "Bourgeois","Pierre","Benoît","Rey","Leclerc","Payet","Rolland","Leclercq","Guillaume","Lecomte",
  "Lopez","Jean","Dupuy","Guillot","Hubert","Berger","Carpentier","Sanchez","Dupuis","Moulin",
  "Louis","Deschamps","Huet","Vasseur","Perez","Boucher","Fleury","Royer","Klein","Jacquet",
  "Adam","Paris","Poirier","Marty","Aubry","Guyot","Carré","Charles","Renault","Charpentier",
  "Ménard","Maillard","Baron","Bertin","Bailly","Hervé","Schneider","Fernandez","Le Gall","Collet",
  "Léger","Bouvier","Julien","Prévost","Millet","Perrot","Daniel","Le Roux","Cousin","Germain",
  "Breton","Besson","Langlois","Rémy","Le Goff","Pelletier","Lévêque","Perrier","Leblanc","Barré",
  "Lebrun","Marchal","Weber","Mallet","Hamon","Boulanger","Jacob","Monnier","Michaud","Rodriguez",
  "Guichard","Gillet","Étienne","Grondin","Poulain","Tessier","Chevallier","Collin","Chauvin","Da Silva",
  "Bouchet","Gay","Lemaître","Bénard","Maréchal","Humbert","Reynaud","Antoine","Hoarau","Perret",
  "Barthélemy","Cordier","Pichon","Lejeune","Gilbert","Lamy","Delaunay","Pasquier","Carlier","Laporte",
  "Kerjean","Le Bihan","Quéré","Tanguy","Le Floc'h","Kervella","Le Moal","Guivarc'h","Le Pennec","Cloarec",
  "Benali","Haddad","Bensaïd","Mansouri","Belkacem","Saïdi","Cherif","Amrani","Boukhris","Ouali",
  "Diallo","Traoré","Diop","Ndiaye","Koné","Camara","Sow","Cissé","Touré","Kouassi",
  "Ferreira","Pereira","Gonçalves","Rodrigues","Fernandes","Santos","Oliveira","Costa","Carvalho","Sousa",
  "Rossi","Russo","Ferrari","Esposito","Bianchi","Romano","Colombo","Ricci","Marino","Greco",
  "González","Hernández","Jiménez","Ruiz","Díaz","Moreno","Muñoz","Álvarez","Romero","Navarro",
  "Müller","Schmidt","Fischer","Wagner","Becker","Schäfer","Koch","Bauer","Richter","Wolf",
  "Nowak","Kowalski","Wiśniewski","Wójcik","Kowalczyk","Kamiński","Lewandowski","Zieliński","Szymański","Woźniak",
  "Nguyen","Tran","Le","Pham","Hoang","Phan","Vu","Dang","Bui","Do",
  "Wang","Li","Zhang","Chen","Liu","Yamamoto","Tanaka","Suzuki","Yılmaz","Kaya",
  "Demir","Şahin","Çelik","Ivanov","Petrov","Smirnov","O'Brien","Murphy","Kelly","Walsh",
  "Smith","Jones","Williams","Brown","Taylor","Wilson","Johansson","Andersen","Nielsen","Hansen",
];

// Long tail: most people do not carry one of the few hundred most common surnames.
const PARTS_A = [
  "Le ",
  "Du",
  "De la ",
  "Van ",
  "Ber",
  "Mon",
  "Char",
  "Gros",
  "Bel",
  "Haut",
  "Vil",
  "Mar",
  "Bou",
  "Ker",
  "Lan",
  "Pen",
  "Tré",
  "Cha",
  "Roche",
  "Beau",
];
const PARTS_B = [
  "gall",
  "pont",
  "noir",
  "lier",
  "vert",
  "champ",
  "ville",
  "mont",
  "court",
  "bois",
  "val",
  "ric",
  "guen",
  "nec",
  "tot",
  "mesnil",
  "ferrand",
  "ssac",
  "lard",
  "rieux",
];
const PARTS_C = ["", "", "", "ier", "et", "ot", "eau", "ard", "in", "ès", "an", "ec", "oux", "y"];

/** A surname with the long tail of real populations: a common one half the time. */
export function surname(rnd: Rnd): string {
  const r = rnd();
  if (r < 0.55) return pickSkewed(rnd, SURNAMES, 0.15);
  if (r < 0.62) return `${pick(rnd, SURNAMES)}-${pick(rnd, SURNAMES)}`;
  const a = pick(rnd, PARTS_A);
  const b = pick(rnd, PARTS_B);
  const s = `${a}${a.endsWith(" ") ? b[0]!.toUpperCase() + b.slice(1) : b}${pick(rnd, PARTS_C)}`;
  return s;
}

// Flat enough that the most common pair (Marie Martin) comes about as often as in France: a
// couple of times in 30,000 signers.
export const firstName = (rnd: Rnd): string => pickSkewed(rnd, FIRST_NAMES, 0.15);

/** Lower case, no accents, no spaces or apostrophes: what people type in an address. */
export const ascii = (s: string): string =>
  s
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/ł/g, "l")
    .replace(/ø/g, "o")
    .replace(/[^a-zA-Z0-9-]/g, "")
    .toLowerCase();

export const PROVIDERS = [
  { domain: "gmail.com", weight: 30 },
  { domain: "orange.fr", weight: 14 },
  { domain: "free.fr", weight: 9 },
  { domain: "laposte.net", weight: 6 },
  { domain: "yahoo.fr", weight: 6 },
  { domain: "hotmail.fr", weight: 7 },
  { domain: "hotmail.com", weight: 3 },
  { domain: "outlook.fr", weight: 4 },
  { domain: "sfr.fr", weight: 4 },
  { domain: "wanadoo.fr", weight: 3 },
  { domain: "proton.me", weight: 2 },
  { domain: "protonmail.com", weight: 1 },
  { domain: "icloud.com", weight: 3 },
  { domain: "gmx.fr", weight: 1 },
  { domain: "aliceadsl.fr", weight: 1 },
  { domain: "riseup.net", weight: 0.5 },
  { domain: "posteo.net", weight: 0.5 },
  { domain: "mailo.com", weight: 0.5 },
  { domain: "zaclys.com", weight: 0.3 },
  { domain: "iroco.co", weight: 0.3 },
] as const;

/** Disposable domains that people use too (all in disposable-email-domains-js's list). */
export const DISPOSABLE = [
  "yopmail.com",
  "yopmail.fr",
  "jetable.org",
  "mailinator.com",
  "guerrillamail.com",
  "10minutemail.com",
  "trashmail.com",
  "temp-mail.org",
  "sharklasers.com",
  "getnada.com",
  "maildrop.cc",
  "dispostable.com",
] as const;

const OWN_TLDS = [".fr", ".net", ".org", ".eu", ".bzh", ".com"];

/** A person's address: first.last, initials, digits; an own domain or a disposable one now and then. */
export function personEmail(
  rnd: Rnd,
  first: string,
  last: string,
  disposableShare: number,
): string {
  const f = ascii(first);
  const l = ascii(last);
  const r = rnd();
  const local =
    r < 0.35
      ? `${f}.${l}`
      : r < 0.5
        ? `${f}${l}`
        : r < 0.62
          ? `${f[0]!}${l}`
          : r < 0.75
            ? `${f}.${l}${int(rnd, 1, 99)}`
            : r < 0.85
              ? `${l}.${f}`
              : r < 0.92
                ? `${f}${int(rnd, 1950, 2008)}`
                : `${f}_${l[0]!}${int(rnd, 1, 999)}`;
  const d = rnd();
  if (d < disposableShare) return `${local}@${pick(rnd, DISPOSABLE)}`;
  if (d < disposableShare + 0.04) return `${f}@${l}${pick(rnd, OWN_TLDS)}`;
  if (d < disposableShare + 0.06)
    return `${f}.${l}@${pick(rnd, ["asso-", "mairie-", "cabinet-", "atelier-"])}${l}.fr`;
  const domain = weighted(rnd, PROVIDERS).domain;
  // Yahoo names have no hyphen: "base-keyword" is one of its disposable aliases.
  return `${domain.startsWith("yahoo.") ? local.replaceAll("-", "") : local}@${domain}`;
}

/** Gmail ignores dots and +tags; the guard's canonical form does the same. */
export function canonicalEmail(email: string): string {
  const at = email.lastIndexOf("@");
  let local = email.slice(0, at).toLowerCase();
  const domain = email.slice(at + 1).toLowerCase();
  const plus = local.indexOf("+");
  if (plus >= 0) local = local.slice(0, plus);
  if (domain === "gmail.com" || domain === "googlemail.com") local = local.replaceAll(".", "");
  return `${local}@${domain}`;
}

/** Keeps real people's addresses distinct (two people never share one). */
export class EmailBook {
  readonly #seen = new Set<string>();
  unique(rnd: Rnd, make: () => string): string {
    for (let i = 0; ; i++) {
      let e = make();
      if (i > 3) e = e.replace("@", `${int(rnd, 1, 9999)}@`);
      const c = canonicalEmail(e);
      if (!this.#seen.has(c)) {
        this.#seen.add(c);
        return e;
      }
    }
  }
}

export const BROWSERS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/86.0.4240.198 Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:82.0) Gecko/20100101 Firefox/82.0",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0.1 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 14_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 10; SM-G973F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/86.0.4240.185 Mobile Safari/537.36",
  "Mozilla/5.0 (Linux; Android 11; Pixel 4a) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/86.0.4240.198 Mobile Safari/537.36",
  "Mozilla/5.0 (X11; Linux x86_64; rv:82.0) Gecko/20100101 Firefox/82.0",
  "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:83.0) Gecko/20100101 Firefox/83.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/86.0.4240.198 Safari/537.36 Edg/86.0.622.69",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:82.0) Gecko/20100101 Firefox/82.0",
  "Mozilla/5.0 (iPad; CPU OS 14_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 9; Redmi Note 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/85.0.4183.127 Mobile Safari/537.36",
] as const;

export const SCRIPT_AGENTS = [
  "python-requests/2.24.0",
  "curl/7.68.0",
  "Go-http-client/1.1",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/86.0.4240.198 Safari/537.36",
] as const;

export const HEADLESS =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/86.0.4240.198 Safari/537.36";

// ── The page's credentials: form token and proof of work ─────────────────────────────────

/**
 * What a browser obtains from the page: the form token (`GET /v1/guard/token`) and a solved
 * invisible proof of work (the widget's `GET /v1/guard/challenge`, then the solution). The
 * bench makes them with the guard's own modules and the secret of its configuration, at the
 * event's time, so that replay checks them exactly as the live API would.
 */
export interface Browser {
  /** A form token issued at `now`, and the honeypot field's name (none of `avoid`, the real fields). */
  token(
    form: string,
    now: number,
    avoid: readonly string[],
  ): Promise<{ token: string; honeypot: string }>;
  /** The ALTCHA payload of a level-0 challenge fetched at `now` and solved. */
  solve(form: string, now: number): Promise<string>;
}

/** What the events carry from the page: a token and its honeypot (empty or filled), a solution. */
export interface PageCredentials {
  readonly token?: string;
  readonly honeypot?: { readonly name: string; readonly value: string };
  readonly altcha?: string;
}

export interface PageUse {
  readonly form: string;
  /** When the page was loaded (token issued, challenge fetched). */
  readonly loadedAt: number;
  /** The form's real fields (the honeypot is never one of them). */
  readonly fields: readonly string[];
  readonly token: boolean;
  readonly pow: boolean;
  /** When it is sent (the proof of work is solved at most two minutes before). */
  readonly submittedAt?: number;
  /** Fill the honeypot (a script filling every input). */
  readonly fillHoneypot?: boolean;
}

export async function credentials(
  browser: Browser | undefined,
  use: PageUse,
): Promise<PageCredentials> {
  if (browser === undefined) return {};
  const out: { token?: string; honeypot?: { name: string; value: string }; altcha?: string } = {};
  if (use.token) {
    const t = await browser.token(use.form, use.loadedAt, use.fields);
    out.token = t.token;
    out.honeypot = {
      name: t.honeypot,
      value: use.fillHoneypot === true ? "https://promo.example/" : "",
    };
  }
  // The widget solves when the person starts typing, and fetches a new challenge on expiry.
  if (use.pow)
    out.altcha = await browser.solve(
      use.form,
      Math.max(use.loadedAt, (use.submittedAt ?? use.loadedAt) - 120_000),
    );
  return out;
}

// ── Writing ────────────────────────────────────────────────────────────────────────────────

/** One application event as the contract shapes it (src/sources/app-json). */
export interface AppEvent {
  readonly id: string;
  readonly type: string;
  readonly time: string;
  readonly source: { readonly ip: string };
  readonly actor?: { readonly email?: string; readonly account?: string };
  readonly form?: string;
  readonly fields?: Readonly<Record<string, string>>;
  readonly client?: {
    readonly user_agent?: string;
    readonly token?: string;
    readonly altcha?: string;
  };
}

/** The ground truth of one event, in the sidecar file, never in the event. */
export interface Truth {
  readonly id: string;
  /** `real` people, or the abuse: `fake` signatures, `scripted` sign-ups. */
  readonly truth: "real" | "fake" | "scripted";
  readonly campaign: string;
}

/** An event to come: its time, and how to build it once the events are in time order. */
export interface Planned {
  readonly time: number;
  readonly truth: Omit<Truth, "id">;
  /** Whether it gets a verdict (signup, form.submit) and so counts in the scores. */
  readonly assessed: boolean;
  readonly build: (id: string) => Promise<AppEvent>;
}

async function writeLine(out: WriteStream, line: string): Promise<void> {
  if (!out.write(line)) await once(out, "drain");
}

export interface Written {
  readonly events: number;
  readonly assessed: number;
  readonly byCampaign: Readonly<Record<string, number>>;
}

/**
 * Sorts the plan by time, builds each event in that order (credentials are made at event time,
 * so the proof-of-work store sees them in the order replay will) and streams events and truth
 * to their files. Ids are `<prefix>-<n>` in time order.
 */
export async function writePlan(
  plan: Planned[],
  prefix: string,
  eventsPath: string,
  truthPath: string,
): Promise<Written> {
  plan.sort((a, b) => a.time - b.time);
  const events = createWriteStream(eventsPath);
  const truth = createWriteStream(truthPath);
  const byCampaign: Record<string, number> = {};
  let assessed = 0;
  for (const [i, p] of plan.entries()) {
    const id = `${prefix}-${(i + 1).toString().padStart(6, "0")}`;
    const e = await p.build(id);
    await writeLine(events, `${JSON.stringify(e)}\n`);
    if (p.assessed) {
      assessed++;
      byCampaign[p.truth.campaign] = (byCampaign[p.truth.campaign] ?? 0) + 1;
      await writeLine(truth, `${JSON.stringify({ id, ...p.truth })}\n`);
    }
  }
  events.end();
  truth.end();
  await Promise.all([once(events, "finish"), once(truth, "finish")]);
  return { events: plan.length, assessed, byCampaign };
}
