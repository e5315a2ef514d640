/**
 * Real fail2ban (Debian package fail2ban) with its own `abuseipdb` action, overridden as
 * docs/reputation.md says to post to Rempart instead of AbuseIPDB: its sshd jail reads a log of
 * password guesses, bans the guesser, and its action's curl reports it to Rempart's
 * AbuseIPDB-compatible API with a sensor key. Rempart then knows the address: AbuseIPDB's
 * `check` lists the report with fail2ban's categories and log lines, and its reputation rises.
 *
 * fail2ban runs from a copy of Debian's configuration in a temporary directory, with its own
 * socket, log and an in-memory database, and no firewall action: it changes nothing on the
 * host. The guesser's address is a documentation address, written in the log; the only
 * traffic is curl's post to Rempart on loopback.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile, appendFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createKey, startDaemon, writeDaemonConfig } from "../support/daemon.ts";
import { syslogTime } from "../support/syslog-time.ts";

const SERVER = "/usr/bin/fail2ban-server";
const missing =
  spawnSync(SERVER, ["--version"]).status !== 0
    ? "needs fail2ban (Debian package fail2ban)"
    : spawnSync("curl", ["--version"]).status !== 0
      ? "needs curl (fail2ban's abuseipdb action runs it)"
      : false;
const GUESSER = "203.0.113.77";

test(
  "fail2ban's abuseipdb action reports its bans to Rempart's AbuseIPDB API",
  { skip: missing, timeout: 120_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-f2b-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const config = await writeDaemonConfig(dir);
    const daemon = startDaemon(config);
    t.after(() => daemon.stop());
    const base = await daemon.url();
    const key = await createKey(config, "sensor", "fail2ban");

    // Debian's configuration, copied; its jail.d enables sshd on the journal, which the test's
    // jail replaces.
    const etc = join(dir, "fail2ban");
    await cp("/etc/fail2ban", etc, { recursive: true });
    await rm(join(etc, "jail.d"), { recursive: true, force: true });
    const authLog = join(dir, "auth.log");
    await writeFile(authLog, "");
    // The override docs/reputation.md gives, word for word but the address.
    const doc = await readFile(new URL("../../docs/reputation.md", import.meta.url), "utf8");
    const override =
      /```ini\n(\[Definition\]\nactionban = [^\n]+\n\n\[Init\]\nrempart_url = )[^\n]+\n```/.exec(
        doc,
      );
    assert.ok(override !== null, "docs/reputation.md gives the action's override");
    await writeFile(join(etc, "action.d", "abuseipdb.local"), `${override[1]}${base}\n`);
    await writeFile(
      join(etc, "fail2ban.local"),
      [
        "[Definition]",
        `logtarget = ${join(dir, "fail2ban.log")}`,
        `socket = ${join(dir, "fail2ban.sock")}`,
        `pidfile = ${join(dir, "fail2ban.pid")}`,
        "dbfile = :memory:",
        "",
      ].join("\n"),
    );
    await writeFile(
      join(etc, "jail.local"),
      [
        "[sshd]",
        "enabled = true",
        "backend = polling",
        `logpath = ${authLog}`,
        "maxretry = 3",
        "findtime = 10m",
        "bantime = 10m",
        // The jail's action, as the doc writes it: the report alone, no firewall.
        `action = abuseipdb[abuseipdb_apikey="${key}", abuseipdb_category="18,22"]`,
        "",
      ].join("\n"),
    );
    const f2b = spawn(SERVER, ["-f", "-x", "-c", etc], { stdio: ["ignore", "pipe", "pipe"] });
    let f2bOut = "";
    f2b.stdout.on("data", (b: Buffer) => (f2bOut += b.toString()));
    f2b.stderr.on("data", (b: Buffer) => (f2bOut += b.toString()));
    const f2bExited = new Promise((resolve) => f2b.on("exit", resolve));
    t.after(async () => {
      if (f2b.exitCode === null) f2b.kill("SIGTERM");
      await f2bExited;
    });
    const f2bLog = async (): Promise<string> =>
      readFile(join(dir, "fail2ban.log"), "utf8").catch(() => "");

    // The jail reads its log once it started.
    for (let i = 0; !(await f2bLog()).includes("Jail 'sshd' started"); i++) {
      assert.ok(
        i < 200 && f2b.exitCode === null,
        `fail2ban did not start:\n${f2bOut}\n${await f2bLog()}`,
      );
      await sleep(100);
    }
    const host = hostname().split(".")[0];
    for (let i = 0; i < 4; i++)
      await appendFile(
        authLog,
        `${syslogTime(new Date())} ${host} sshd[${4100 + i}]: Failed password for root from ${GUESSER} port ${40000 + i} ssh2\n`,
      );

    const check = async () => {
      const res = await fetch(`${base}/api/v2/check?ipAddress=${GUESSER}&verbose`, {
        headers: { key, accept: "application/json" },
      });
      assert.equal(res.status, 200);
      return ((await res.json()) as { data: Record<string, unknown> }).data;
    };
    let data = await check();
    for (let i = 0; data.totalReports === 0; i++) {
      assert.ok(i < 300, `no report arrived:\n${await f2bLog()}\n${daemon.stderr()}`);
      await sleep(100);
      data = await check();
    }
    assert.match(await f2bLog(), new RegExp(`\\[sshd\\] Ban ${GUESSER.replaceAll(".", "\\.")}`));
    assert.equal(data.totalReports, 1);
    assert.equal(data.numDistinctUsers, 1);
    assert.ok((data.abuseConfidenceScore as number) > 0);
    const [report] = data.reports as {
      categories: number[];
      comment: string;
      reporterId: string;
    }[];
    assert.deepEqual(report?.categories, [18, 22]);
    assert.equal(report?.reporterId, "key:fail2ban");
    // fail2ban sends the matched log lines as the comment.
    assert.match(report?.comment ?? "", /Failed password for root from 203\.0\.113\.77/);
  },
);
