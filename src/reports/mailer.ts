/**
 * Sends abuse reports through an SMTP server, usually the host's own Postfix: nodemailer
 * composes the MIME message (a text part and the CSV) and speaks SMTP, with STARTTLS when the
 * server offers it. On loopback the certificate is not checked: Debian's Postfix offers its
 * self-signed "snakeoil" one, and the message never leaves the host on that hop.
 */
import nodemailer from "nodemailer";
import type { AbuseReportsConfig } from "./abuse-reports-config.ts";
import type { AbuseMessage } from "./abuse-reports.ts";

const LOOPBACK = /^(127\.|::1$|localhost$)/;

export interface Mailer {
  send(message: AbuseMessage): Promise<string>;
  close(): void;
}

export function createMailer(smtp: AbuseReportsConfig["smtp"]): Mailer {
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    ...(smtp.user === undefined ? {} : { auth: { user: smtp.user, pass: smtp.password ?? "" } }),
    tls: { rejectUnauthorized: !LOOPBACK.test(smtp.host) },
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
  });
  return {
    async send(m) {
      const info = await transport.sendMail({
        from: m.from,
        to: m.to,
        ...(m.bcc === undefined ? {} : { bcc: m.bcc }),
        subject: m.subject,
        text: m.text,
        headers: { "Auto-Submitted": "auto-generated" },
        attachments: [{ filename: "abuse-report.csv", content: m.csv, contentType: "text/csv" }],
      });
      return info.response;
    },
    close: () => transport.close(),
  };
}
