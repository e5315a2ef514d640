/**
 * How fast the syslog parser reads a mixed Postfix mail log (not a test: run it by hand).
 *
 *   node src/sources/parse-speed.ts [lines]
 *
 * Generates realistic lines (every message of a mail's life, rejects, SASL failures,
 * postscreen, Dovecot, and unrelated programs), then times the parse of all of them.
 */
import { SyslogParserPlugin } from "./syslog/index.ts";

const count = Number(process.argv[2] ?? 200_000);
const MONTHS = ["Sep", "Oct"];

let seed = 42;
const random = (): number => {
  seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const ip = (): string =>
  `${1 + Math.floor(random() * 222)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`;
const hex = (n: number): string => {
  let s = "";
  for (let i = 0; i < n; i++) s += "0123456789ABCDEF".charAt(Math.floor(random() * 16));
  return s;
};
const pid = (): number => 1000 + Math.floor(random() * 30_000);

function stamp(i: number): string {
  const sec = Math.floor((i / count) * 86_400 * 30);
  const day = 1 + Math.floor(sec / 86_400);
  const month = MONTHS[day > 30 ? 1 : 0]!;
  const d = day > 30 ? day - 30 : day;
  const hh = String(Math.floor(sec / 3600) % 24).padStart(2, "0");
  const mm = String(Math.floor(sec / 60) % 60).padStart(2, "0");
  const ss = String(sec % 60).padStart(2, "0");
  return `${month} ${String(d).padStart(2, " ")} ${hh}:${mm}:${ss} mx1`;
}

function mail(t: string, out: string[]): void {
  const q = hex(10);
  const client = ip();
  const auth = random() < 0.3;
  const smtpd = auth ? "postfix/submission/smtpd" : "postfix/smtpd";
  out.push(`${t} ${smtpd}[${pid()}]: connect from mail.example.net[${client}]`);
  out.push(
    auth
      ? `${t} ${smtpd}[${pid()}]: ${q}: client=mail.example.net[${client}], sasl_method=PLAIN, sasl_username=user${Math.floor(random() * 500)}@example.org`
      : `${t} ${smtpd}[${pid()}]: ${q}: client=mail.example.net[${client}]`,
  );
  out.push(`${t} postfix/cleanup[${pid()}]: ${q}: message-id=<${hex(16)}@example.net>`);
  out.push(
    `${t} postfix/qmgr[812]: ${q}: from=<sender@example.net>, size=${Math.floor(random() * 90_000)}, nrcpt=1 (queue active)`,
  );
  out.push(
    `${t} ${smtpd}[${pid()}]: disconnect from mail.example.net[${client}] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5`,
  );
  out.push(
    auth
      ? `${t} postfix/smtp[${pid()}]: ${q}: to=<rcpt@example.com>, relay=mx.example.com[${ip()}]:25, delay=0.52, delays=0.05/0.01/0.2/0.26, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as ${hex(10)})`
      : `${t} postfix/lmtp[${pid()}]: ${q}: to=<local@example.org>, relay=mail.example.org[private/dovecot-lmtp], delay=0.1, delays=0.05/0/0/0.05, dsn=2.0.0, status=sent (250 2.0.0 <local@example.org> Saved)`,
  );
  out.push(`${t} postfix/qmgr[812]: ${q}: removed`);
}

function generate(): string[] {
  const out: string[] = [];
  while (out.length < count) {
    const t = stamp(out.length);
    const r = random();
    if (r < 0.45) mail(t, out);
    else if (r < 0.6) {
      const a = ip();
      out.push(`${t} postfix/smtpd[${pid()}]: connect from unknown[${a}]`);
      out.push(
        `${t} postfix/smtpd[${pid()}]: warning: unknown[${a}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6`,
      );
      out.push(`${t} postfix/smtpd[${pid()}]: lost connection after AUTH from unknown[${a}]`);
      out.push(
        `${t} postfix/smtpd[${pid()}]: disconnect from unknown[${a}] ehlo=1 auth=0/1 commands=1/2`,
      );
    } else if (r < 0.7) {
      out.push(
        `${t} postfix/smtpd[${pid()}]: NOQUEUE: reject: RCPT from unknown[${ip()}]: 554 5.7.1 <spam@example.org>: Relay access denied; from=<x@spam.example> to=<spam@example.org> proto=ESMTP helo=<spam.example>`,
      );
    } else if (r < 0.8) {
      const a = ip();
      out.push(`${t} postfix/postscreen[${pid()}]: CONNECT from [${a}]:${pid()} to [192.0.2.1]:25`);
      out.push(
        `${t} postfix/postscreen[${pid()}]: PREGREET 11 after 0.09 from [${a}]:${pid()}: EHLO x\\r\\n`,
      );
      out.push(`${t} postfix/postscreen[${pid()}]: DNSBL rank 3 for [${a}]:${pid()}`);
    } else if (r < 0.9) {
      out.push(
        pick([
          `${t} dovecot: imap-login: Login: user=<user${Math.floor(random() * 500)}@example.org>, method=PLAIN, rip=${ip()}, lip=192.0.2.1, mpid=${pid()}, TLS, session=<${hex(16)}>`,
          `${t} dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<admin>, method=PLAIN, rip=${ip()}, lip=192.0.2.1, TLS, session=<${hex(16)}>`,
          `${t} dovecot: auth: passwd-file(admin,${ip()}): unknown user`,
          `${t} dovecot: imap(user@example.org)<${pid()}><${hex(16)}>: Logged out in=79 out=1027 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0`,
        ]),
      );
    } else {
      out.push(
        pick([
          `${t} CRON[${pid()}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)`,
          `${t} systemd[1]: Started session-${pid()}.scope - Session of User root.`,
          `${t} sshd[${pid()}]: Accepted publickey for root from ${ip()} port 50122 ssh2: ED25519 SHA256:abc`,
          `${t} postfix/anvil[${pid()}]: statistics: max connection rate 1/60s for (smtp:${ip()}) at Sep 28 13:01:07`,
        ]),
      );
    }
  }
  return out.slice(0, count);
}

const lines = generate();
const bytes = lines.reduce((n, l) => n + l.length + 1, 0);
let best = 0;
let events = 0;
let errors = 0;
for (let round = 0; round < 5; round++) {
  const parser = SyslogParserPlugin.create({ year: 2024, timeZone: "Europe/Paris" });
  events = 0;
  errors = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < lines.length; i++) {
    const r = parser.parse(lines[i]!, { source: "mail.log", offset: i });
    if (r.ok) events += r.value.length;
    else errors++;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  best = Math.max(best, lines.length / seconds);
}
console.log(
  `${lines.length} lines (${(bytes / 1e6).toFixed(1)} MB), ${events} events, ${errors} errors: ` +
    `${Math.round(best).toLocaleString("en")} lines/s (best of 5)`,
);
