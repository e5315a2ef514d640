/**
 * Two months of an Iroco-like mail provider's sign-ups (seeds 000 and 001) as application
 * events, for the guard's replay target. Real people sign up from home and from their phones,
 * mostly in the daytime, with their usual providers' addresses; most confirm their e-mail and
 * many pay. A few real ones sit behind a VPN, use Tor, or live in Morocco. The scripted ones:
 * bursts at night from VPS providers (new addresses each night), sign-ups from Tor exits,
 * throw-away addresses in the daytime from hosting networks, bursts through residential
 * proxies, and a Moroccan operator's addresses signing up with Finnish names whose payments
 * then fail or are charged back.
 *
 *   node test/support/signup-log.ts --out signups.jsonl --truth signups.truth.jsonl \
 *     --tor tor-exits.txt --secret <hex> [--real 1500] [--seed 1]
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import {
  ALL_ASNS,
  AsPrefixes,
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
  MOROCCO,
  SCRIPT_AGENTS,
  ascii,
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

export const SIGNUP_FORM = "signup";
const FIELDS = ["first_name", "last_name", "username"] as const;
/** Paris in summer. */
const OFFSET = 120;
export const SIGNUP_START = Date.UTC(2024, 5, 1, 0, 0) - OFFSET * MIN;

export interface SignupOptions {
  /** Real sign-ups (default 1,500 over the two months). */
  readonly real?: number;
  /** Days (default 61). */
  readonly days?: number;
  /** Scales the scripted campaigns (1 = about 600 sign-ups). */
  readonly scale?: number;
  readonly seed?: number;
  readonly browser?: Browser;
}

export interface SignupLog {
  readonly plan: Planned[];
  /** The Tor exit list the bench configuration names (one address a line). */
  readonly torExits: readonly string[];
}

const FINNISH = {
  first: [
    "Mikko",
    "Juha",
    "Matti",
    "Timo",
    "Antti",
    "Jussi",
    "Aino",
    "Helmi",
    "Sanna",
    "Päivi",
    "Jänne",
    "Eero",
  ],
  last: [
    "Virtanen",
    "Korhonen",
    "Mäkinen",
    "Nieminen",
    "Mäkelä",
    "Hämäläinen",
    "Laine",
    "Heikkinen",
    "Koskinen",
    "Järvinen",
  ],
};
const SCRIPT_MAIL = [
  "gmail.com",
  "outlook.com",
  "mail.ru",
  "yandex.ru",
  "inbox.lv",
  "hotmail.com",
] as const;

function randomWord(rnd: Rnd, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++)
    s += "abcdefghijklmnopqrstuvwxyz0123456789".charAt(Math.floor(rnd() * (i === 0 ? 26 : 36)));
  return s;
}

/** A name a generator makes: pronounceable syllables, capitalised. */
function generatedName(rnd: Rnd): string {
  const syl = [
    "ka",
    "ro",
    "mi",
    "tel",
    "va",
    "sun",
    "ne",
    "li",
    "dor",
    "bex",
    "qua",
    "zin",
    "pa",
    "tor",
  ];
  let s = "";
  for (let i = 0, n = int(rnd, 2, 3); i < n; i++) s += pick(rnd, syl);
  return s[0]!.toUpperCase() + s.slice(1);
}

interface Account {
  readonly time: number;
  readonly ip: string;
  readonly first: string;
  readonly last: string;
  readonly email: string;
  readonly username: string;
  readonly ua: string;
  readonly token: boolean;
  readonly pow: boolean;
  readonly fill: number;
  readonly truth: "real" | "scripted";
  readonly campaign: string;
  /** What follows the sign-up: [delay ms, event type]. */
  readonly then: readonly (readonly [number, string])[];
}

function signupEvent(id: string, a: Account, creds: PageCredentials): AppEvent {
  const fields: Record<string, string> = {
    first_name: a.first,
    last_name: a.last,
    username: a.username,
  };
  if (creds.honeypot !== undefined) fields[creds.honeypot.name] = creds.honeypot.value;
  const client: { user_agent: string; token?: string; altcha?: string } = { user_agent: a.ua };
  if (creds.token !== undefined) client.token = creds.token;
  if (creds.altcha !== undefined) client.altcha = creds.altcha;
  return {
    id,
    type: "signup",
    time: isoAt(a.time, OFFSET),
    source: { ip: a.ip },
    actor: { email: a.email, account: a.username },
    form: SIGNUP_FORM,
    fields,
    client,
  };
}

/** Builds the plan (sign-ups and the events that follow them) and the Tor exit list. */
export function signupPlan(options: SignupOptions = {}): SignupLog {
  const rnd = prng(options.seed ?? 1);
  const days = options.days ?? 61;
  const nReal = options.real ?? 1_500;
  const scale = options.scale ?? 1;
  const end = SIGNUP_START + days * DAY;
  const nets = new AsPrefixes(ALL_ASNS);
  const browser = options.browser;
  const emails = new EmailBook();
  const usernames = new Set<string>();
  const accounts: Account[] = [];

  const torExits = [
    ...Array.from({ length: 900 }, () => nets.v4(rnd, pick(rnd, [...HOSTING, 53667, 60729]))),
    ...Array.from({ length: 100 }, () => nets.v4(rnd, pick(rnd, FOREIGN_HOME))),
  ];
  const username = (base: string): string => {
    let u = base.slice(0, 24) || "user";
    while (usernames.has(u)) u = `${base.slice(0, 20)}${int(rnd, 1, 999)}`;
    usernames.add(u);
    return u;
  };
  const realFollow = (): [number, string][] => {
    const out: [number, string][] = [];
    if (rnd() < 0.92) {
      const confirmed = logNormal(rnd, 4 * MIN, 1);
      out.push([confirmed, "email.confirmed"]);
      if (rnd() < 0.85) {
        const paid = confirmed + 5 * MIN + logNormal(rnd, 20 * MIN, 1.2);
        if (rnd() < 0.03)
          out.push([paid, "payment.failed"], [paid + DAY + rnd() * 2 * DAY, "payment.confirmed"]);
        else out.push([paid + logNormal(rnd, 2 * DAY, 0.3), "payment.confirmed"]);
      }
    }
    return out;
  };

  // Real people.
  const mobilePool = FRENCH_MOBILE.map((c) => ({
    weight: c.weight,
    pool: Array.from({ length: 40 }, () => nets.v4(rnd, c.asn)),
  }));
  for (let i = 0; i < nReal; i++) {
    const time = humanTime(rnd, SIGNUP_START, end, OFFSET);
    const r = rnd();
    let campaign = "real-home";
    let ip: string;
    if (r < 0.68) ip = nets.v4(rnd, weighted(rnd, FRENCH_HOME).asn);
    else if (r < 0.86) {
      campaign = "real-mobile";
      ip = pick(rnd, weighted(rnd, mobilePool).pool);
    } else if (r < 0.93) {
      campaign = "real-abroad";
      ip = nets.v4(rnd, pick(rnd, FOREIGN_HOME));
    } else if (r < 0.97) {
      campaign = "real-vpn";
      ip = nets.v4(rnd, pick(rnd, HOSTING));
    } else if (r < 0.995) {
      campaign = "real-morocco";
      ip = nets.v4(rnd, pick(rnd, MOROCCO));
    } else {
      campaign = "real-tor";
      ip = pick(rnd, torExits);
    }
    const first = firstName(rnd);
    const last = surname(rnd);
    const email = emails.unique(rnd, () => personEmail(rnd, first, last, 0.01));
    accounts.push({
      time,
      ip,
      first,
      last,
      email,
      username: username(`${ascii(first)}.${ascii(last)}`.replace(/-/g, "")),
      ua: pick(rnd, BROWSERS),
      token: true,
      pow: rnd() > 0.01,
      fill: Math.max(8_000, logNormal(rnd, 70_000, 0.7)),
      truth: "real",
      campaign,
      then: realFollow(),
    });
  }

  const scripted = (
    a: Omit<Account, "truth" | "username" | "first" | "last" | "email"> & {
      email?: string;
      fake?: [string, string];
    },
  ): void => {
    const [first, last] = a.fake ?? [generatedName(rnd), generatedName(rnd)];
    const local =
      rnd() < 0.5
        ? randomWord(rnd, int(rnd, 7, 12))
        : `${ascii(first)}.${ascii(last)}${int(rnd, 1, 999)}`;
    const email =
      a.email ?? `${local}@${rnd() < 0.35 ? pick(rnd, DISPOSABLE) : pick(rnd, SCRIPT_MAIL)}`;
    accounts.push({
      ...a,
      first,
      last,
      email,
      username: username(randomWord(rnd, int(rnd, 6, 10))),
      truth: "scripted",
    });
  };
  const nightOf = (day: number): number => SIGNUP_START + day * DAY + 30 * MIN + rnd() * 4 * HOUR;
  const browserLike = (): { token: boolean; pow: boolean; ua: string; fill: number } =>
    rnd() < 0.6
      ? {
          token: true,
          pow: true,
          ua: rnd() < 0.5 ? HEADLESS : pick(rnd, BROWSERS),
          fill: 3_500 + rnd() * 8_000,
        }
      : { token: false, pow: false, ua: pick(rnd, SCRIPT_AGENTS), fill: 0 };
  const trialUse = (): [number, string][] =>
    rnd() < 0.7 ? [[logNormal(rnd, 2 * MIN, 0.5), "email.confirmed"]] : [];

  // Seed 000: bursts at night from VPS providers, on new addresses each night.
  const nights = Math.round(25 * scale);
  for (let n = 0; n < nights; n++) {
    const day = int(rnd, 0, Math.min(days, 40) - 1);
    const start = nightOf(day);
    const provider = pick(rnd, HOSTING);
    const ips = Array.from({ length: int(rnd, 1, 4) }, () =>
      nets.v4(rnd, rnd() < 0.8 ? provider : pick(rnd, HOSTING)),
    );
    let t = start;
    for (let k = 0, size = int(rnd, 5, 25); k < size; k++) {
      t += 20_000 + rnd() * 200_000;
      scripted({
        time: t,
        ip: pick(rnd, ips),
        ...browserLike(),
        campaign: "vps-night",
        then: trialUse(),
      });
    }
  }
  // Sign-ups through Tor exits, any time.
  for (let k = 0; k < Math.round(40 * scale); k++)
    scripted({
      time: SIGNUP_START + rnd() * days * DAY,
      ip: pick(rnd, torExits),
      ...browserLike(),
      campaign: "tor",
      then: trialUse(),
    });
  // Daytime sign-ups from hosting networks with throw-away addresses.
  for (let k = 0; k < Math.round(60 * scale); k++) {
    const time = humanTime(rnd, SIGNUP_START, end, OFFSET);
    scripted({
      time,
      ip: nets.v4(rnd, pick(rnd, HOSTING)),
      ...browserLike(),
      email: `${randomWord(rnd, 9)}@${pick(rnd, DISPOSABLE)}`,
      campaign: "hosting-disposable",
      then: trialUse(),
    });
  }
  // Bursts at night through residential proxies (each sign-up from another home network).
  for (let b = 0; b < Math.round(6 * scale); b++) {
    let t = nightOf(int(rnd, 0, days - 1));
    for (let k = 0, size = int(rnd, 6, 12); k < size; k++) {
      t += 30_000 + rnd() * 120_000;
      const asn = rnd() < 0.5 ? pick(rnd, FOREIGN_HOME) : weighted(rnd, FRENCH_HOME).asn;
      scripted({
        time: t,
        ip: nets.v4(rnd, asn),
        token: true,
        pow: true,
        ua: pick(rnd, BROWSERS),
        fill: 4_000 + rnd() * 6_000,
        campaign: "resproxy",
        then: trialUse(),
      });
    }
  }
  // Seed 001, second episode: a Moroccan operator's addresses, Finnish names; three with a real
  // bank account whose mandate is then cancelled, ten with generated names and fake accounts.
  const moroccoStart = SIGNUP_START + Math.floor(days * 0.55) * DAY;
  for (let k = 0; k < 13; k++) {
    const time = humanTime(
      rnd,
      moroccoStart + (k < 3 ? 0 : 6 * DAY),
      moroccoStart + (k < 3 ? 3 : 12) * DAY,
      OFFSET,
    );
    const fake: [string, string] =
      k < 3
        ? [pick(rnd, FINNISH.first), pick(rnd, FINNISH.last)]
        : [generatedName(rnd), generatedName(rnd)];
    const confirmed = logNormal(rnd, 3 * MIN, 0.5);
    scripted({
      time,
      ip: nets.v4(rnd, pick(rnd, MOROCCO)),
      token: true,
      pow: true,
      ua: pick(rnd, BROWSERS),
      fill: 30_000 + rnd() * 60_000,
      fake,
      email: `${ascii(fake[0])}.${ascii(fake[1])}${int(rnd, 1, 99)}@gmail.com`,
      campaign: "morocco-bank",
      then:
        k < 3
          ? [
              [confirmed, "email.confirmed"],
              [confirmed + 20 * MIN, "payment.confirmed"],
              [confirmed + 12 * DAY, "mandate.cancelled"],
            ]
          : [
              [confirmed, "email.confirmed"],
              [confirmed + 2 * DAY, rnd() < 0.5 ? "payment.failed" : "payment.charged_back"],
            ],
    });
  }

  const plan: Planned[] = [];
  for (const a of accounts) {
    if (a.time >= end) continue;
    plan.push({
      time: Math.floor(a.time),
      truth: { truth: a.truth, campaign: a.campaign },
      assessed: true,
      build: async (id) => {
        const creds = await credentials(browser, {
          form: SIGNUP_FORM,
          fields: FIELDS,
          loadedAt: Math.floor(a.time - a.fill),
          submittedAt: Math.floor(a.time),
          token: a.token,
          pow: a.pow,
        });
        return signupEvent(id, { ...a, time: Math.floor(a.time) }, creds);
      },
    });
    for (const [delay, type] of a.then) {
      const time = Math.floor(a.time + delay);
      if (time >= end) continue;
      plan.push({
        time,
        truth: { truth: a.truth, campaign: a.campaign },
        assessed: false,
        build: (id) =>
          Promise.resolve({
            id,
            type,
            time: isoAt(time, OFFSET),
            source: { ip: type === "email.confirmed" ? a.ip : "192.0.2.10" },
            actor: { email: a.email, account: a.username },
          }),
      });
    }
  }
  return { plan, torExits };
}

/** Writes the sign-ups' events, truth and Tor exit list files. */
export async function writeSignups(
  eventsPath: string,
  truthPath: string,
  torPath: string,
  options: SignupOptions = {},
): Promise<Written> {
  const { plan, torExits } = signupPlan(options);
  await writeFile(torPath, `${torExits.join("\n")}\n`);
  return writePlan(plan, "s", eventsPath, truthPath);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      truth: { type: "string" },
      tor: { type: "string" },
      secret: { type: "string" },
      real: { type: "string" },
      scale: { type: "string" },
      seed: { type: "string" },
    },
  });
  if (values.out === undefined || values.truth === undefined || values.tor === undefined) {
    process.stderr.write(
      "usage: signup-log.ts --out FILE --truth FILE --tor FILE [--secret HEX] [--real N] [--scale X] [--seed N]\n",
    );
    process.exit(2);
  }
  const { guardBrowser } = await import("./guard-browser.ts");
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  const browser =
    values.secret === undefined
      ? undefined
      : guardBrowser({ secret: values.secret, rnd: prng(seed + 1000) });
  const w = await writeSignups(values.out, values.truth, values.tor, {
    seed,
    ...(values.real === undefined ? {} : { real: Number(values.real) }),
    ...(values.scale === undefined ? {} : { scale: Number(values.scale) }),
    ...(browser === undefined ? {} : { browser }),
  });
  process.stdout.write(`${JSON.stringify(w)}\n`);
}
