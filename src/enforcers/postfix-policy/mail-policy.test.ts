/**
 * The policy path through a real daemon (SQLite, built-in scenarios, a manual clock): requests
 * feed detection, the message that crosses an account's threshold is already held, decisions on
 * the address, the account or the sender answer as Postfix expects, and holds are committed.
 */
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { ManualClock } from "../../core/index.ts";
import { ConfigSchema, type Config } from "../../daemon/config.ts";
import { Daemon } from "../../daemon/daemon.ts";

const T0 = Date.UTC(2024, 2, 11, 14, 0, 0);

async function daemonWithPolicy(): Promise<{
  daemon: Daemon;
  clock: ManualClock;
  ask: (attrs: Record<string, string>) => Promise<string>;
  close: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), "rempart-mailpolicy-"));
  const parsed = ConfigSchema.parse({
    data_dir: dir,
    enforcers: { postfix_policy: { listen: "127.0.0.1:0" } },
  });
  const config: Config = { ...parsed, sources: [], origin: "test", autodetected: false };
  const clock = new ManualClock(T0);
  const daemon = await Daemon.open(config, { clock, hostAddresses: [], log: () => undefined });
  await daemon.start();
  const where = daemon.enforcers().join(" ");
  const port = Number(/inet:127\.0\.0\.1:(\d+)/.exec(where)?.[1]);
  const socket: Socket = connect({ host: "127.0.0.1", port });
  await new Promise((resolve) => socket.once("connect", resolve));
  let pending: ((answer: string) => void) | undefined;
  let buffer = "";
  socket.on("data", (b: Buffer) => {
    buffer += b.toString();
    const end = buffer.indexOf("\n\n");
    if (end >= 0 && pending) {
      const answer = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const p = pending;
      pending = undefined;
      p(answer.replace(/^action=/, ""));
    }
  });
  const ask = (attrs: Record<string, string>): Promise<string> =>
    new Promise((resolve) => {
      pending = resolve;
      socket.write(
        `request=smtpd_access_policy\n${Object.entries(attrs)
          .map(([k, v]) => `${k}=${v}`)
          .join("\n")}\n\n`,
      );
    });
  return {
    daemon,
    clock,
    ask,
    close: async () => {
      socket.destroy();
      await daemon.stop();
    },
  };
}

test("a new account sending a burst is held from the message that crosses its cap; once per message", async () => {
  const { daemon, clock, ask, close } = await daemonWithPolicy();
  try {
    const answers: string[] = [];
    for (let i = 0; i < 25; i++) {
      clock.advance(T0 + i * 1000);
      const msg = {
        protocol_state: "DATA",
        client_address: "198.18.0.9",
        sasl_username: "victim@club1.example",
        sender: "victim@club1.example",
        recipient_count: "1",
        instance: `i${i}`,
        // Every other message before smtpd has given it a queue id: told by its instance.
        queue_id: i % 2 === 0 ? `Q${i}` : "",
      };
      answers.push(await ask(msg));
      // END-OF-MESSAGE of the same message: asked again, counted once.
      answers.push(await ask({ ...msg, protocol_state: "END-OF-MESSAGE", size: "2048" }));
    }
    const firstHold = answers.findIndex((a) => a.startsWith("HOLD"));
    assert.ok(firstHold >= 0, answers.join("\n"));
    assert.equal(
      Math.floor(firstHold / 2) + 1,
      15,
      "held at the 15th message (the new-account cap), not the 8th",
    );
    assert.match(answers[firstHold]!, /^HOLD Rempart mail-account-volume: /);
    assert.ok(
      answers.slice(firstHold).every((a) => a.startsWith("HOLD")),
      "every later message is held too",
    );
    await sleep(120); // the live commit
    const stored = await daemon.storage.listDecisions({
      scope: "account",
      value: "victim@club1.example",
    });
    assert.equal(stored[0]?.action, "hold");
  } finally {
    await close();
  }
});

test("decisions on the address, the account and the sender answer as Postfix expects", async () => {
  const { daemon, ask, close } = await daemonWithPolicy();
  try {
    await daemon.addDecision({
      action: "ban",
      scope: "ip",
      value: "192.0.2.66",
      durationMs: 3_600_000,
      reason: "t",
      author: "test",
    });
    await daemon.addDecision({
      action: "suspend",
      scope: "account",
      value: "stolen@example.org",
      durationMs: 3_600_000,
      reason: "t",
      author: "test",
    });
    await daemon.addDecision({
      action: "throttle",
      scope: "email",
      value: "bulk@example.org",
      durationMs: 3_600_000,
      reason: "t",
      author: "test",
    });
    assert.match(
      await ask({ protocol_state: "RCPT", client_address: "192.0.2.66" }),
      /^REJECT 5\.7\.1 /,
    );
    // A login is compared without case: the thief cannot write it otherwise to get through.
    for (const login of ["stolen@example.org", "Stolen@Example.ORG"])
      assert.match(
        await ask({ protocol_state: "RCPT", client_address: "192.0.2.1", sasl_username: login }),
        /^REJECT 5\.7\.1 .*suspended/,
        login,
      );
    assert.match(
      await ask({
        protocol_state: "RCPT",
        client_address: "192.0.2.1",
        sender: "Bulk@Example.org",
      }),
      /^DEFER_IF_PERMIT 4\.7\.1 /,
    );
    assert.equal(
      await ask({
        protocol_state: "RCPT",
        client_address: "192.0.2.1",
        sasl_username: "fine@example.org",
      }),
      "DUNNO",
    );
  } finally {
    await close();
  }
});
