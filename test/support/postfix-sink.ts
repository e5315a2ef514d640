/**
 * The SMTP server the test Postfix relays everything to: it listens on 127.0.0.1 only, accepts
 * (or answers as the test says) and records each message, so that no test mail ever leaves the
 * machine and a test can count what Postfix delivered.
 */
import { createServer, type Server, type Socket } from "node:net";

export interface SinkMessage {
  readonly from: string;
  readonly to: readonly string[];
  /** The message as received, dot-unstuffed, lines joined with CRLF, without the final dot. */
  readonly data: string;
  readonly subject: string | undefined;
  readonly receivedAt: number;
}

/**
 * The reply to a RCPT TO: `undefined` accepts (250); anything else is sent as the reply line,
 * e.g. `"550 5.1.1 no such user"` (Postfix logs status=bounced) or `"450 4.2.0 try later"`
 * (status=deferred).
 */
export type RcptReply = (recipient: string) => string | undefined;

export interface MailSink {
  readonly port: number;
  readonly messages: readonly SinkMessage[];
  /** Resolves with the messages once at least `count` arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<readonly SinkMessage[]>;
  close(): Promise<void>;
}

// Postfix's smtp client refuses a server that greets with its own myhostname ("mail for … loops
// back to myself"), so the sink has a name of its own.
const NAME = "sink.rempart.test";

export async function startSink(rcptReply: RcptReply = () => undefined): Promise<MailSink> {
  const messages: SinkMessage[] = [];
  const sockets = new Set<Socket>();
  const waiters = new Set<() => void>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.setEncoding("latin1");
    let buffered = "";
    let from = "";
    let to: string[] = [];
    let data: string[] | undefined;
    const reply = (line: string): void => void socket.write(`${line}\r\n`);
    const command = (line: string): void => {
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === "EHLO")
        reply(`250-${NAME}\r\n250-PIPELINING\r\n250-SIZE 104857600\r\n250 8BITMIME`);
      else if (verb === "HELO") reply(`250 ${NAME}`);
      else if (verb === "MAIL") {
        from = /<([^>]*)>/.exec(line)?.[1] ?? "";
        to = [];
        reply("250 2.1.0 Ok");
      } else if (verb === "RCPT") {
        const rcpt = /<([^>]*)>/.exec(line)?.[1] ?? "";
        const answer = rcptReply(rcpt);
        if (answer === undefined) to.push(rcpt);
        reply(answer ?? "250 2.1.5 Ok");
      } else if (verb === "DATA") {
        if (to.length === 0) reply("554 5.5.1 No valid recipients");
        else {
          data = [];
          reply("354 End data with <CR><LF>.<CR><LF>");
        }
      } else if (verb === "RSET") {
        from = "";
        to = [];
        reply("250 2.0.0 Ok");
      } else if (verb === "NOOP") reply("250 2.0.0 Ok");
      else if (verb === "QUIT") {
        reply(`221 2.0.0 ${NAME} closing`);
        socket.end();
      } else reply("502 5.5.2 Command not recognized");
    };
    const line = (text: string): void => {
      if (data === undefined) {
        command(text);
        return;
      }
      if (text !== ".") {
        data.push(text.startsWith(".") ? text.slice(1) : text);
        return;
      }
      const body = data.join("\r\n");
      data = undefined;
      const subject = /^Subject: *(.*)$/im.exec(body.split("\r\n\r\n", 1)[0] ?? "")?.[1];
      messages.push(
        Object.freeze({ from, to: Object.freeze(to), data: body, subject, receivedAt: Date.now() }),
      );
      to = [];
      reply(`250 2.0.0 Ok: queued as SINK${messages.length}`);
      for (const wake of waiters) wake();
    };
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      let end: number;
      while ((end = buffered.indexOf("\n")) >= 0) {
        line(buffered.slice(0, end).replace(/\r$/, ""));
        buffered = buffered.slice(end + 1);
      }
    });
    reply(`220 ${NAME} ESMTP`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("sink has no TCP port");
  return {
    port: address.port,
    messages,
    waitFor: (count, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (messages.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(messages);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the sink received ${messages.length} of ${count} messages`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
