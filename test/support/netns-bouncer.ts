/**
 * One network namespace with only its loopback up, for end-to-end tests of programs that change
 * the firewall (crowdsec-firewall-bouncer): their nftables tables live and die with it, and
 * nothing they do reaches the host. Needs root and `ip` (Debian's iproute2).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";

export interface Netns {
  readonly name: string;
  /** Runs a command inside; throws with its stderr when it fails. */
  exec(args: readonly string[]): string;
  /** Starts a long-running command inside. */
  spawn(args: readonly string[]): ChildProcess;
  /** Ends what `spawn` started (by pid), then deletes the namespace. Never throws. */
  destroy(): Promise<void>;
}

/** Why a namespace cannot be made here (naming what is missing), or false. */
export function netnsMissing(tools: readonly { cmd: string; pkg: string }[]): string | false {
  for (const { cmd, pkg } of [{ cmd: "ip", pkg: "iproute2" }, ...tools]) {
    if (spawnSync("sh", ["-c", `command -v ${cmd}`]).status !== 0)
      return `needs ${cmd} (Debian package ${pkg})`;
  }
  const probe = `rempart-probe-${randomBytes(3).toString("hex")}`;
  const add = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (add.status !== 0)
    return `cannot create a network namespace (needs root): ${add.stderr.trim()}`;
  spawnSync("ip", ["netns", "del", probe]);
  return false;
}

export function createNetns(label: string): Netns {
  const name = `rempart-${label}-${randomBytes(3).toString("hex")}`;
  const children: ChildProcess[] = [];
  const run = (args: readonly string[]): string => {
    const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8" });
    if (r.status !== 0)
      throw new Error(`${args.join(" ")} failed (${r.status}): ${r.stderr || r.error?.message}`);
    return r.stdout;
  };
  run(["ip", "netns", "add", name]);
  try {
    run(["ip", "-n", name, "link", "set", "lo", "up"]);
  } catch (e) {
    spawnSync("ip", ["netns", "del", name]);
    throw e;
  }
  return {
    name,
    exec: (args) => run(["ip", "netns", "exec", name, ...args]),
    spawn(args) {
      // `ip netns exec` execs the command: the child's pid is the program's own.
      const child = spawn("ip", ["netns", "exec", name, ...args], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(child);
      return child;
    },
    async destroy() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) {
                resolve();
                return;
              }
              const force = setTimeout(() => c.kill("SIGKILL"), 5_000);
              c.once("exit", () => {
                clearTimeout(force);
                resolve();
              });
              c.kill("SIGTERM");
            }),
        ),
      );
      spawnSync("ip", ["netns", "del", name]);
    },
  };
}
