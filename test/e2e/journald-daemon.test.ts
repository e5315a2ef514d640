/**
 * The daemon following a real journal with the real journalctl: Postfix SASL failures written
 * as journal entries (by systemd-journal-remote, since no journald runs here) lead to a ban that
 * the API reports. Needs Debian's systemd-journal-remote; .ci/run installs it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { startDaemon, writeDaemonConfig } from "../support/daemon.ts";
import { BIN } from "../support/replay.ts";

const JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote";
const missing =
  spawnSync("journalctl", ["--version"]).status !== 0 || !existsSync(JOURNAL_REMOTE)
    ? "needs journalctl and systemd-journal-remote (Debian packages systemd, systemd-journal-remote) to write and follow a journal"
    : false;

test(
  "rempart start follows the journal and bans a password guesser",
  { skip: missing, timeout: 60_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-journald-"));
    const journal = join(dir, "journal");
    spawnSync("mkdir", ["-p", journal]);
    const now = Date.now() * 1000;
    let exported = "";
    for (let i = 0; i < 15; i++) {
      exported +=
        `__REALTIME_TIMESTAMP=${now + i * 2_000_000}\n__MONOTONIC_TIMESTAMP=${1000 + i}\n` +
        "_BOOT_ID=0123456789abcdef0123456789abcdef\n" +
        `MESSAGE=warning: unknown[192.0.2.45]: SASL LOGIN authentication failed: authentication failure, sasl_username=user${i}@example.org\n` +
        `SYSLOG_IDENTIFIER=postfix/submission/smtpd\n_PID=${200 + i}\n_HOSTNAME=mx1\n\n`;
    }
    const wrote = spawnSync(JOURNAL_REMOTE, ["-o", join(journal, "remote.journal"), "-"], {
      input: exported,
    });
    assert.equal(wrote.status, 0, wrote.stderr.toString());

    const config = await writeDaemonConfig(dir, [
      "sources:",
      "  - name: journal",
      "    journald:",
      `      directory: ${journal}`,
      "      from: start",
    ]);
    const daemon = startDaemon(config);
    try {
      const url = await daemon.url();
      const keys = spawnSync(process.execPath, [
        BIN,
        "keys",
        "create",
        "t",
        "--role",
        "bouncer",
        "--config",
        config,
      ]);
      const key = keys.stdout.toString().split("\n")[0]!;
      let verdict = "";
      for (let i = 0; i < 100 && verdict !== "ban"; i++) {
        const res = await fetch(`${url}/v1/check?ip=192.0.2.45`, { headers: { "x-api-key": key } });
        verdict = ((await res.json()) as { verdict: string }).verdict;
        if (verdict !== "ban") await sleep(100);
      }
      assert.equal(verdict, "ban", daemon.stderr());
    } finally {
      daemon.child.kill("SIGTERM");
      assert.equal(await daemon.exited, 0, daemon.stderr());
    }
  },
);
