/**
 * Real nginx (Debian package nginx) for end-to-end tests: a private instance in a directory of
 * its own, on a free loopback port, configured with the test's `server` block contents.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./free-port.ts";

const NGINX = "/usr/sbin/nginx";

/** Why nginx tests cannot run here, or false. */
export const nginxMissing: string | false =
  spawnSync(NGINX, ["-v"]).status !== 0
    ? "needs nginx with auth_request and realip (Debian package nginx)"
    : false;

export interface RunningNginx {
  readonly port: number;
  /** Its stderr and error log, for a failed assertion's message. */
  errors(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts nginx in `dir` (made readable to its unprivileged workers) with `server` inside its
 * `server { listen 127.0.0.1:<port>; … }` and `http` before it (`set_real_ip_from`, …).
 * Resolves once `probe` (a path) answers, whatever its status.
 */
export async function startNginx(
  dir: string,
  server: (port: number) => string,
  options: { readonly http?: string; readonly probe?: string } = {},
): Promise<RunningNginx> {
  // nginx's workers drop root for an unprivileged user, who must read the site.
  await chmod(dir, 0o755);
  const port = await freePort();
  const conf = join(dir, "nginx.conf");
  await writeFile(
    conf,
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${options.http ?? ""}
  server {
    listen 127.0.0.1:${port};
${server(port)}
  }
}
`,
  );
  const child: ChildProcess = spawn(NGINX, ["-c", conf, "-p", dir, "-e", `${dir}/error.log`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  const errors = async (): Promise<string> =>
    `${stderr}\n${await readFile(join(dir, "error.log"), "utf8").catch(() => "")}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    // Fast shutdown: a graceful one (SIGQUIT) waits for the browser's idle keep-alive
    // connections, up to a minute when the browser is closed after nginx.
    child.kill("SIGTERM");
    await exited;
  };
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`http://127.0.0.1:${port}${options.probe ?? "/"}`, {
      redirect: "manual",
    }).then(
      () => true,
      () => false,
    );
    if (up) return { port, errors, stop };
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  await stop();
  throw new Error(`nginx did not start:\n${await errors()}`);
}
