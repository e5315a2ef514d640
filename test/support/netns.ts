/**
 * Network namespaces for end-to-end tests of firewall enforcers: a "server" and a "client"
 * namespace joined by a veth pair, with addresses that exist only inside them. Needs root and
 * `ip` (Debian's iproute2). Always `destroy()` in a `finally`, even when the test failed.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export interface NetnsPair {
  readonly server: string;
  readonly client: string;
  /** The server's address on the link (IPv4). */
  readonly serverIp: string;
  /** The client's addresses, first one primary. */
  readonly clientIps: readonly string[];
  /** Runs a command inside a namespace; throws with its stderr when it fails. */
  exec(ns: string, args: readonly string[], input?: string): string;
  /** Deletes both namespaces (and so the veth pair). Never throws. */
  destroy(): void;
}

function run(args: readonly string[], input?: string): string {
  const r = spawnSync(args[0]!, args.slice(1), { input, encoding: "utf8" });
  if (r.status !== 0)
    throw new Error(`${args.join(" ")} failed (${r.status}): ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/**
 * Why namespaces cannot be used here (a message naming what is missing), or false when they
 * can. Creates and deletes a probe namespace to find out.
 */
export function netnsUnavailable(
  extra: readonly { cmd: string; pkg: string }[] = [],
): string | false {
  for (const { cmd, pkg } of [{ cmd: "ip", pkg: "iproute2" }, ...extra]) {
    const r = spawnSync("sh", ["-c", `command -v ${cmd}`]);
    if (r.status !== 0) return `needs ${cmd} (Debian package ${pkg})`;
  }
  const probe = `rempart-probe-${randomBytes(3).toString("hex")}`;
  const add = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (add.status !== 0)
    return `cannot create a network namespace (needs root): ${add.stderr.trim()}`;
  spawnSync("ip", ["netns", "del", probe]);
  return false;
}

/**
 * Creates `rempart-<name>-<random>-s` and `-c` joined by a veth pair on `10.<octet>.<n>.0/24`:
 * the server is .1, the client .2 plus `extraClientIps` more addresses (.3, .4, …).
 */
export function createNetnsPair(name: string, subnet: string, extraClientIps = 0): NetnsPair {
  const id = `rempart-${name}-${randomBytes(2).toString("hex")}`;
  const server = `${id}-s`;
  const client = `${id}-c`;
  const vs = `v${randomBytes(3).toString("hex")}s`;
  const vc = `v${randomBytes(3).toString("hex")}c`;
  const serverIp = `${subnet}.1`;
  const clientIps = Array.from({ length: extraClientIps + 1 }, (_, i) => `${subnet}.${i + 2}`);
  const destroy = (): void => {
    spawnSync("ip", ["netns", "del", server]);
    spawnSync("ip", ["netns", "del", client]);
  };
  try {
    run(["ip", "netns", "add", server]);
    run(["ip", "netns", "add", client]);
    run([
      "ip",
      "link",
      "add",
      vs,
      "netns",
      server,
      "type",
      "veth",
      "peer",
      "name",
      vc,
      "netns",
      client,
    ]);
    run(["ip", "-n", server, "addr", "add", `${serverIp}/24`, "dev", vs]);
    for (const ip of clientIps) run(["ip", "-n", client, "addr", "add", `${ip}/24`, "dev", vc]);
    for (const [ns, dev] of [
      [server, vs],
      [client, vc],
    ] as const) {
      run(["ip", "-n", ns, "link", "set", dev, "up"]);
      run(["ip", "-n", ns, "link", "set", "lo", "up"]);
    }
  } catch (e) {
    destroy();
    throw e;
  }
  return {
    server,
    client,
    serverIp,
    clientIps,
    exec: (ns, args, input) => run(["ip", "netns", "exec", ns, ...args], input),
    destroy,
  };
}

/** A TCP server inside a namespace (node:net in a child `node`), answering "ok" to anyone. */
export async function tcpServerIn(
  ns: string,
  host: string,
  port: number,
): Promise<{ stop(): void }> {
  const code = `require("node:net").createServer((s) => { s.on("error", () => {}); s.end("ok\\n"); }).listen(${port}, ${JSON.stringify(host)}, () => console.log("ready"));`;
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", code], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    child.once("exit", (c) => reject(new Error(`the TCP server in ${ns} exited with ${c}`)));
  });
  return { stop: () => void child.kill() };
}

/**
 * Tries a TCP connection from `ns`, bound to `from`, to host:port; true when the server
 * answered within `timeoutMs` (a dropped SYN times out, a rejected one fails fast: both false).
 */
export function canConnect(
  ns: string,
  from: string,
  host: string,
  port: number,
  timeoutMs = 1000,
): boolean {
  const code = `const s = require("node:net").connect({ host: ${JSON.stringify(host)}, port: ${port}, localAddress: ${JSON.stringify(from)} });
s.setTimeout(${timeoutMs}, () => process.exit(2)); s.on("data", () => process.exit(0)); s.on("error", () => process.exit(3));`;
  const r = spawnSync("ip", ["netns", "exec", ns, process.execPath, "-e", code], {
    timeout: timeoutMs + 5000,
  });
  return r.status === 0;
}
