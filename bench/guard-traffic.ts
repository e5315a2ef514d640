/**
 * The submissions bench/guard-assess.ts sends: each twenty, 9 people with a valid form token and
 * a solved proof of work, 6 scripts with neither (disposable e-mail), 5 "Jeff Bezos" with a
 * token and no proof of work; many addresses, one in four IPv6.
 */
import type { Submission } from "../src/guard/ports.ts";
import {
  AltchaPow,
  deriveGuardKeys,
  MemoryOnceStore,
  solveAltcha,
} from "../src/guard/pow/index.ts";
import { FormTokens } from "../src/guard/token/index.ts";

export const FORM = "petition";

// ── The traffic ────────────────────────────────────────────────────────────────────────

/** A public-looking, normalised address: IPv4 outside the private and reserved blocks, or IPv6. */
function address(i: number): string {
  const r = (n: number): number => Math.floor(Math.random() * n);
  if (i % 4 === 3) {
    const g = (): string => (1 + r(0xfffe)).toString(16);
    return `2a0${r(10)}:${g()}:${g()}:${g()}::${g()}`;
  }
  let a: number;
  do a = 1 + r(223);
  while ([10, 100, 127, 169, 172, 192].includes(a));
  return `${a}.${r(256)}.${r(256)}.${1 + r(254)}`;
}

/** A name-like word for `i` (the fingerprint drops digits, so a number would not tell people apart). */
function word(i: number): string {
  let w = "";
  for (let n = i + 1; n > 0; n = Math.floor(n / 20))
    w += "bcdfghjklmnprstvwxyz"[n % 20]! + "aeiou"[n % 5]!;
  return w[0]!.toUpperCase() + w.slice(1);
}
const FIRST = ["Marie", "Jean", "Camille", "Luc", "Sophie", "Ahmed", "Léa", "Tom", "Inès", "Paul"];
const WORDS = [
  "support",
  "this",
  "petition",
  "because",
  "our",
  "town",
  "needs",
  "it",
  "yes",
  "please",
  "the",
  "park",
  "children",
  "school",
  "now",
];

export interface Mix {
  /** The i-th submission, as the API takes it (the in-process run adds its time). */
  next(i: number): Omit<Submission, "time">;
}

/** Solves `count` proof-of-work payloads with the guard's secret (cost 1: verifying does not depend on it). */
export async function payloads(secret: Buffer, count: number, now: number): Promise<string[]> {
  const light = new AltchaPow({
    keys: deriveGuardKeys(secret),
    store: new MemoryOnceStore(),
    cost: 1,
    counter: 4,
  });
  const out: string[] = [];
  while (out.length < count) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(64, count - out.length) }, async () => {
        const solved = await solveAltcha(await light.challenge(FORM, 0, now));
        return solved!.payload;
      }),
    );
    out.push(...batch);
  }
  return out;
}

/** People take 9 in 20 submissions: this many payloads cover `total` submissions. */
export const peopleIn = (total: number): number => Math.ceil((total * 9) / 20) + 20;

export function mix(secret: Buffer, pool: string[], now: number): Mix {
  const tokens = new FormTokens({ key: deriveGuardKeys(secret).formToken });
  // Pages rendered a minute ago: past the minimum fill time, well within the maximum age.
  const token = (): string => tokens.issue(FORM, now - 60_000, ["name", "comment"]).token;
  let used = 0;
  return {
    next(i) {
      const ip = address(i);
      const k = i % 20;
      if (k < 9) {
        const altcha = pool[used++];
        if (altcha === undefined) throw new Error("the proof-of-work pool ran out");
        return {
          id: `p${i}`,
          kind: "form.submit",
          form: FORM,
          ip,
          email: `person${i}@example.org`,
          userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
          fields: {
            name: `${FIRST[i % FIRST.length]!} ${word(i)}`,
            comment:
              Array.from(
                { length: 6 },
                () => WORDS[Math.floor(Math.random() * WORDS.length)]!,
              ).join(" ") + ` ${word(i * 7 + 3).toLowerCase()}`,
          },
          token: token(),
          altcha,
        };
      }
      if (k < 15) {
        return {
          id: `s${i}`,
          kind: "form.submit",
          form: FORM,
          ip,
          email: `bot${i}@mailinator.com`,
          userAgent: "python-requests/2.32.3",
          fields: { name: `Script ${i}`, comment: "buy cheap followers" },
        };
      }
      return {
        id: `j${i}`,
        kind: "form.submit",
        form: FORM,
        ip,
        email: `jeff${i % 50}@example.com`,
        fields: { name: "Jeff Bezos", comment: "déso pas déso" },
        token: token(),
      };
    },
  };
}
