/**
 * Builds Postfix and Dovecot syslog files (BSD framing, as Debian writes /var/log/mail.log)
 * for replay tests: each incident of the seeds as lines, in time order.
 */
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A deterministic PRNG (mulberry32), so fixtures are the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const bsd = (t: number): string => {
  const d = new Date(t);
  const day = String(d.getUTCDate()).padStart(2, " ");
  const hms = d.toISOString().slice(11, 19);
  return `${MONTHS[d.getUTCMonth()]!} ${day} ${hms}`;
};

export class MailLog {
  readonly #lines: { t: number; seq: number; text: string }[] = [];
  #seq = 0;
  #queue = 0x3a0000;
  #pid = 1000;
  readonly host: string;

  constructor(host = "mx") {
    this.host = host;
  }

  #add(t: number, program: string, message: string): void {
    this.#lines.push({
      t,
      seq: this.#seq++,
      text: `${bsd(t)} ${this.host} ${program}[${this.#pid++ % 30000}]: ${message}`,
    });
  }

  dovecotLogin(t: number, user: string, ip: string): void {
    this.#add(
      t,
      "dovecot",
      `imap-login: Login: user=<${user}>, method=PLAIN, rip=${ip}, lip=192.0.2.1, mpid=${this.#pid}, TLS, session=<s${this.#seq}>`,
    );
  }

  dovecotFailure(t: number, user: string, ip: string): void {
    this.#add(
      t,
      "dovecot",
      `imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<${user}>, method=PLAIN, rip=${ip}, lip=192.0.2.1, TLS, session=<s${this.#seq}>`,
    );
  }

  /** A Postfix SASL failure; newer Postfix appends the user name. */
  saslFailure(t: number, ip: string, user?: string): void {
    const suffix = user === undefined ? "" : `, sasl_username=${user}`;
    this.#add(
      t,
      "postfix/submission/smtpd",
      `warning: unknown[${ip}]: SASL LOGIN authentication failed: authentication failure${suffix}`,
    );
  }

  /** An authenticated submission, from SMTP AUTH to delivery, as Postfix logs it. */
  submission(
    t: number,
    user: string,
    ip: string,
    recipients: readonly string[],
    status: "sent" | "deferred" | "bounced" = "sent",
  ): void {
    const id = (this.#queue++).toString(16).toUpperCase().padStart(10, "0");
    this.#add(
      t,
      "postfix/submission/smtpd",
      `${id}: client=unknown[${ip}], sasl_method=PLAIN, sasl_username=${user}`,
    );
    this.#add(t + 50, "postfix/cleanup", `${id}: message-id=<${id}@example.org>`);
    this.#add(
      t + 60,
      "postfix/qmgr",
      `${id}: from=<${user}>, size=${2000 + recipients.length * 40}, nrcpt=${recipients.length} (queue active)`,
    );
    for (const [i, r] of recipients.entries()) {
      const dsn = status === "sent" ? "2.0.0" : status === "deferred" ? "4.7.0" : "5.7.1";
      this.#add(
        t + 400 + i,
        "postfix/smtp",
        `${id}: to=<${r}>, relay=mx.example.net[198.51.100.25]:25, delay=0.4, delays=0.06/0/0.2/0.1, dsn=${dsn}, status=${status} (250 2.0.0 OK)`,
      );
    }
    this.#add(t + 500, "postfix/qmgr", `${id}: removed`);
  }

  get size(): number {
    return this.#lines.length;
  }

  toString(): string {
    return `${this.#lines
      .sort((a, b) => a.t - b.t || a.seq - b.seq)
      .map((l) => l.text)
      .join("\n")}\n`;
  }
}
