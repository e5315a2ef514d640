/**
 * The mail test harness itself, against the real Postfix, Dovecot and swaks: authenticated
 * submissions reach the sink and are logged as Rempart reads them, a wrong password is refused
 * and logged, and a policy service answering HOLD puts the message in the hold queue — the wiring
 * the Postfix policy server's end-to-end tests stand on.
 */
import assert from "node:assert/strict";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { postfixMissing, startPostfix } from "../support/postfix.ts";

const missing = postfixMissing();
const USERS = { "alice@example.org": "alice-secret", bob: "bob-secret" };

/**
 * A policy service that answers every request with `action`, and keeps the requests; on
 * 127.0.0.1, or on the UNIX socket `path`.
 */
async function policyStub(
  action: string,
  path?: string,
): Promise<{ port: number; requests: string[][]; close: () => Promise<void> }> {
  const requests: string[][] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.setEncoding("utf8");
    let buffered = "";
    socket.on("error", () => socket.destroy());
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      let end: number;
      // A request is name=value lines ended by an empty line; the connection is reused.
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        requests.push(buffered.slice(0, end).split("\n"));
        buffered = buffered.slice(end + 2);
        socket.write(`action=${action}\n\n`);
      }
    });
  });
  await new Promise<void>((resolve) =>
    path === undefined ? server.listen(0, "127.0.0.1", resolve) : server.listen(path, resolve),
  );
  if (path !== undefined) await chmod(path, 0o666); // smtpd runs as postfix
  const address = server.address();
  assert.ok(address !== null);
  // smtpd keeps its policy connection open while idle: close() ends those too.
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return { port: typeof address === "string" ? 0 : address.port, requests, close };
}

test(
  "authenticated submissions reach the sink and the maillog; a wrong password is refused",
  { skip: missing, timeout: 120_000 },
  async (t) => {
    const started = Date.now();
    const postfix = await startPostfix({ users: USERS, imap: true });
    t.after(() => postfix.stop());
    t.diagnostic(`Postfix and Dovecot up in ${Date.now() - started} ms`);

    for (let i = 1; i <= 3; i++) {
      const sent = await postfix.send({
        user: i === 2 ? "bob" : "alice@example.org",
        password: i === 2 ? "bob-secret" : "alice-secret",
        from: "alice@example.org",
        to: `friend${i}@example.net`,
        subject: `hello ${i}`,
      });
      assert.equal(sent.code, 0, sent.transcript);
      assert.match(sent.queueId ?? "", /^[0-9A-F]+$/);
    }
    const received = await postfix.sink.waitFor(3);
    assert.deepEqual(
      received.map((m) => [m.from, m.to, m.subject]),
      [1, 2, 3].map((i) => ["alice@example.org", [`friend${i}@example.net`], `hello ${i}`]),
    );

    const clients = await postfix.waitForLog(
      /postfix-rempart\/submission\/smtpd\[\d+\]: [0-9A-F]+: client=unknown\[127\.0\.0\.1\], sasl_method=PLAIN, sasl_username=(alice@example\.org|bob)$/,
      3,
    );
    assert.equal(clients.filter((l) => l.endsWith("sasl_username=bob")).length, 1);
    await postfix.waitForLog(
      /postfix-rempart\/smtp\[\d+\]: [0-9A-F]+: to=<friend\d@example\.net>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent/,
      3,
    );

    const refused = await postfix.send({
      user: "alice@example.org",
      password: "wrong",
      from: "alice@example.org",
      to: "friend4@example.net",
    });
    assert.notEqual(refused.code, 0, refused.transcript);
    assert.match(refused.transcript, /535 5\.7\.8/);
    await postfix.waitForLog(
      /postfix-rempart\/submission\/smtpd\[\d+\]: warning: unknown\[127\.0\.0\.1\]: SASL PLAIN authentication failed: .*sasl_username=alice@example\.org/,
    );
    // Dovecot's imap-login on loopback answers too, for tests that need its login lines.
    assert.equal(await postfix.imapLogin("bob", "bob-secret"), true);
    assert.equal(await postfix.imapLogin("bob", "wrong"), false);
    // imap-login writes a disconnect's line after the client has gone: wait for it.
    await postfix.waitForDovecotLog(
      /imap-login: Info: Login: user=<bob>, method=PLAIN, rip=127\.0\.0\.1/,
    );
    await postfix.waitForDovecotLog(
      /imap-login: Info: Disconnected.*\(auth failed, 1 attempts.*user=<bob>/,
    );
    assert.equal(postfix.sink.messages.length, 3);
  },
);

test(
  "a policy service answering HOLD puts the message in the hold queue; release delivers it",
  { skip: missing, timeout: 120_000 },
  async (t) => {
    const policy = await policyStub("HOLD stolen account");
    const postfix = await startPostfix({
      users: USERS,
      policy: { service: `inet:127.0.0.1:${policy.port}`, stages: ["recipient", "end-of-data"] },
    }).catch(async (error: unknown) => {
      await policy.close();
      throw error;
    });
    t.after(async () => {
      await postfix.stop();
      await policy.close();
    });

    const sent = await postfix.send({
      user: "bob",
      password: "bob-secret",
      from: "bob@example.org",
      to: ["a@example.net", "b@example.net"],
      subject: "spam",
    });
    assert.equal(sent.code, 0, sent.transcript);
    await postfix.waitForLog(/: hold: RCPT from unknown\[127\.0\.0\.1\]: .*stolen account/);
    const held = await postfix.holdQueue();
    assert.equal(held.length, 1);
    assert.equal(held[0]?.id, sent.queueId);
    assert.equal(held[0]?.sender, "bob@example.org");
    assert.deepEqual(held[0]?.recipients, ["a@example.net", "b@example.net"]);
    assert.equal(postfix.sink.messages.length, 0);

    const stages = policy.requests.map((r) => r.find((l) => l.startsWith("protocol_state=")));
    assert.deepEqual(
      [...new Set(stages)],
      ["protocol_state=RCPT", "protocol_state=END-OF-MESSAGE"],
    );
    assert.ok(policy.requests.every((r) => r.includes("sasl_username=bob")));

    await postfix.release();
    await postfix.sink.waitFor(1);
    assert.deepEqual(await postfix.holdQueue(), []);
  },
);

test(
  "a stopped policy service does not stop mail (default_action=DUNNO)",
  { skip: missing, timeout: 120_000 },
  async (t) => {
    const policy = await policyStub("DUNNO");
    const port = policy.port;
    await policy.close();
    const postfix = await startPostfix({
      users: USERS,
      policy: { service: `inet:127.0.0.1:${port}`, attributes: { try_limit: "1" } },
    });
    t.after(() => postfix.stop());
    const sent = await postfix.send({
      user: "bob",
      password: "bob-secret",
      from: "bob@example.org",
      to: "c@example.net",
    });
    assert.equal(sent.code, 0, sent.transcript);
    await postfix.sink.waitFor(1);
    await postfix.waitForLog(/warning: problem talking to server 127\.0\.0\.1:\d+/);
  },
);

test(
  "a policy service on a UNIX socket answering REJECT refuses the recipient",
  { skip: missing, timeout: 120_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-policy-"));
    await chmod(dir, 0o755);
    t.after(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, "policy.sock");
    const policy = await policyStub("REJECT 5.7.1 account suspended", path);
    const postfix = await startPostfix({ users: USERS, policy: { service: `unix:${path}` } });
    t.after(async () => {
      await postfix.stop();
      await policy.close();
    });
    const sent = await postfix.send({
      user: "bob",
      password: "bob-secret",
      from: "bob@example.org",
      to: "d@example.net",
    });
    assert.notEqual(sent.code, 0, sent.transcript);
    assert.match(
      sent.transcript,
      /554 5\.7\.1 <d@example\.net>: Recipient address rejected: account suspended/,
    );
    await postfix.waitForLog(/NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 /);
    assert.equal(policy.requests.length, 1);
    assert.deepEqual(await postfix.queue(), []);
  },
);
