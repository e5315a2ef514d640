/**
 * A CLUB1-like mail host (seed 003): about 160 members sending a few messages a day from home
 * and from their phones, a newsletter account sending 400 messages in one burst every morning,
 * a week of that as history, then the incident day on which one member's stolen password sends
 * about one message a second from dozens of client addresses.
 */
import { MailLog, prng } from "./mail-log.ts";

export interface Club1Day {
  readonly text: string;
  readonly stolen: string;
  readonly newsletter: string;
  readonly members: readonly string[];
  /** When the spam starts, and the times of the stolen account's spam messages. */
  readonly spamStart: number;
  readonly spamTimes: readonly number[];
  /** Midnight of the incident day. */
  readonly incidentDay: number;
}

const DAY = 86_400_000;
const MIN = 60_000;

export function club1Day(
  options: {
    historyDays?: number;
    spamMessages?: number;
    seed?: number;
    botAddresses?: number;
  } = {},
): Club1Day {
  const historyDays = options.historyDays ?? 7;
  const spamMessages = options.spamMessages ?? 3600;
  const bots = options.botAddresses ?? 40;
  const rnd = prng(options.seed ?? 3);
  const log = new MailLog("club1");
  const T0 = Date.UTC(2024, 2, 4);
  const members = Array.from({ length: 160 }, (_, i) => `member${i}@club1.example`);
  const newsletter = "lettre@club1.example";
  const stolen = members[42]!;
  const incidentDay = T0 + historyDays * DAY;

  for (let day = 0; day <= historyDays; day++) {
    const midnight = T0 + day * DAY;
    for (const [i, m] of members.entries()) {
      const perDay = 1 + Math.floor(rnd() * (i % 10 === 0 ? 30 : 8));
      for (let k = 0; k < perDay; k++) {
        const t = midnight + (7 + rnd() * 16) * 60 * MIN;
        const phone = rnd() < 0.3;
        const ip = phone
          ? `2001:db8:${(i % 250).toString(16)}:${Math.floor(rnd() * 4)}::${k + 1}`
          : `203.0.113.${i % 250}`;
        const recipients = Array.from(
          { length: 1 + Math.floor(rnd() * 3) },
          (_, r) => `friend${r}.${i}@example.net`,
        );
        log.submission(t, m, ip, recipients);
      }
    }
    // The newsletter: 400 messages within about four minutes, every morning at nine.
    for (let k = 0; k < 400; k++)
      log.submission(midnight + 9 * 60 * MIN + k * 600, newsletter, "198.51.100.10", [
        `abonne${k}@example.org`,
      ]);
  }

  const spamStart = incidentDay + 14 * 60 * MIN + 7_000;
  const spamTimes: number[] = [];
  for (let s = 0; s < spamMessages; s++) {
    const t = spamStart + s * 1000;
    spamTimes.push(t);
    log.submission(t, stolen, `198.18.${(s * 7) % bots}.${10 + (s % bots)}`, [
      `cible${s}@example.com`,
    ]);
  }
  return { text: log.toString(), stolen, newsletter, members, spamStart, spamTimes, incidentDay };
}
