/**
 * The real crowdsec-firewall-bouncer (Debian package crowdsec-firewall-bouncer), unchanged,
 * pointed at Rempart's CrowdSec-compatible stream: it fills its nftables set with Rempart's
 * decisions and removes them when they are deleted or expire. Everything runs inside a network
 * namespace the test creates — the daemon on the namespace's loopback, the bouncer beside it —
 * so the bouncer's table exists only there. Needs root, iproute2, nftables and the bouncer.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { writeDaemonConfig } from "../support/daemon.ts";
import { createNetns, netnsMissing } from "../support/netns-bouncer.ts";
import { BIN } from "../support/replay.ts";

const missing = netnsMissing([
  { cmd: "nft", pkg: "nftables" },
  { cmd: "crowdsec-firewall-bouncer", pkg: "crowdsec-firewall-bouncer" },
]);

const PORT = 18_090;
const TABLE = "rempart-e2e";
const SET = "rempart-e2e-bl";

async function until(what: string, ok: () => boolean, log: () => string, ms = 15_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return;
    await sleep(200);
  }
  assert.fail(`${what} within ${ms} ms\n${log()}`);
}

test(
  "crowdsec-firewall-bouncer applies Rempart's decisions to nftables and lifts them",
  { skip: missing, timeout: 90_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-bouncer-"));
    const ns = createNetns("csb");
    let daemonLog = "";
    let bouncerLog = "";
    const logs = () =>
      `--- rempart:\n${daemonLog.slice(-3000)}\n--- bouncer:\n${bouncerLog.slice(-3000)}`;
    try {
      const config = await writeDaemonConfig(dir, ["sources: []"], `127.0.0.1:${PORT}`);
      const key = (role: string): string => {
        const r = spawnSync(
          process.execPath,
          [BIN, "keys", "create", role, "--role", role, "--config", config],
          {
            encoding: "utf8",
          },
        );
        assert.equal(r.status, 0, r.stderr);
        return r.stdout.split("\n")[0]!;
      };
      const admin = key("admin");
      const bouncerKey = key("bouncer");

      const daemon = ns.spawn([process.execPath, BIN, "start", "--config", config]);
      daemon.stderr!.on("data", (b: Buffer) => (daemonLog += b.toString()));
      await until("the daemon serves its API", () => daemonLog.includes("served at"), logs);

      const url = `http://127.0.0.1:${PORT}`;
      const cli = (...args: string[]): string =>
        ns.exec([process.execPath, BIN, ...args, "--url", url, "--key", admin]);
      const add = (scope: string, value: string, duration: string): string => {
        const out = cli(
          "decisions",
          "add",
          "--scope",
          scope,
          "--value",
          value,
          "--action",
          "ban",
          "--duration",
          duration,
        );
        const id = /^added: (\S+)/.exec(out)?.[1];
        assert.ok(id, out);
        return id;
      };
      // One before the bouncer starts (its startup pull), more while it runs (its deltas).
      const early = add("ip", "192.0.2.10", "1h");
      cli(
        "decisions",
        "add",
        "--scope",
        "ip",
        "--value",
        "192.0.2.12",
        "--action",
        "challenge",
        "--duration",
        "1h",
      );

      const bouncerConfig = join(dir, "bouncer.yaml");
      await writeFile(
        bouncerConfig,
        `mode: nftables
pid_dir: ${dir}/
update_frequency: 1s
daemonize: false
log_mode: stdout
log_dir: ${dir}/
log_level: info
api_url: ${url}/
api_key: ${bouncerKey}
insecure_skip_verify: false
disable_ipv6: false
deny_action: DROP
deny_log: false
supported_decisions_types:
  - ban
blacklists_ipv4: ${SET}
blacklists_ipv6: ${SET}6
nftables:
  ipv4:
    enabled: true
    set-only: false
    table: ${TABLE}
    chain: ${TABLE}-chain
  ipv6:
    enabled: true
    set-only: false
    table: ${TABLE}6
    chain: ${TABLE}6-chain
prometheus:
  enabled: false
  listen_addr: 127.0.0.1
  listen_port: 60601
`,
      );
      const bouncer = ns.spawn(["crowdsec-firewall-bouncer", "-c", bouncerConfig]);
      bouncer.stdout!.on("data", (b: Buffer) => (bouncerLog += b.toString()));
      bouncer.stderr!.on("data", (b: Buffer) => (bouncerLog += b.toString()));

      const set = (): string => {
        const r = spawnSync(
          "ip",
          ["netns", "exec", ns.name, "nft", "list", "set", "ip", TABLE, SET],
          {
            encoding: "utf8",
          },
        );
        return r.status === 0 ? r.stdout : "";
      };
      const has = (ip: string): boolean =>
        new RegExp(`[{ ,]${ip.replaceAll(".", "\\.")}[ ,}]`).test(set());

      await until("the startup pull puts 192.0.2.10 in the set", () => has("192.0.2.10"), logs);
      assert.ok(!has("192.0.2.12"), "a challenge is a captcha: a ban-only bouncer leaves it out");
      // the chain drops what the set holds, in this namespace only
      assert.match(
        ns.exec(["nft", "list", "table", "ip", TABLE]),
        new RegExp(`ip saddr @${SET} .*drop`),
      );
      assert.equal(spawnSync("nft", ["list", "table", "ip", TABLE]).status === 0, false);

      const kept = add("ip", "192.0.2.20", "1h");
      const short = add("ip", "192.0.2.30", "4s");
      await until("a delta adds 192.0.2.20", () => has("192.0.2.20") && has("192.0.2.30"), logs);

      cli("decisions", "delete", early);
      await until("a deletion removes 192.0.2.10", () => !has("192.0.2.10"), logs);
      assert.ok(has("192.0.2.20"));
      await until("expiry lifts 192.0.2.30", () => !has("192.0.2.30"), logs);
      assert.ok(short.length > 0 && has("192.0.2.20"), "the others stay");
      assert.doesNotMatch(bouncerLog, /level=(error|fatal)/, logs());

      // A ban lifted while the bouncer is not looking (frozen), then Rempart restarts: the
      // bouncer's next pull, to the new daemon, still lifts it.
      bouncer.kill("SIGSTOP");
      cli("decisions", "delete", kept);
      const exited = new Promise((r) => daemon.once("exit", r));
      daemon.kill("SIGTERM");
      await exited;
      daemonLog = "";
      const again = ns.spawn([process.execPath, BIN, "start", "--config", config]);
      again.stderr!.on("data", (b: Buffer) => (daemonLog += b.toString()));
      await until("the daemon serves its API again", () => daemonLog.includes("served at"), logs);
      assert.ok(has("192.0.2.20"), "still in the set while the bouncer is frozen");
      bouncer.kill("SIGCONT");
      await until(
        "the deletion made before the restart lifts 192.0.2.20",
        () => !has("192.0.2.20"),
        logs,
      );
    } finally {
      await ns.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
