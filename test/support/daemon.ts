/** Runs `rempart start` as a separate process, as an operator would, for end-to-end tests. */
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { BIN } from "./replay.ts";

/**
 * Writes `dir/rempart.yaml` for a test daemon and returns its path: the data under `dir/data`,
 * the API on `listen` (a free port by default), then `lines`. Lines indented by two spaces
 * continue the `http:` block; the others are top-level keys.
 */
export async function writeDaemonConfig(
  dir: string,
  lines: readonly string[] = ["sources: []"],
  listen = "127.0.0.1:0",
): Promise<string> {
  const config = join(dir, "rempart.yaml");
  const head = [`data_dir: ${join(dir, "data")}`, "http:", `  listen: "${listen}"`];
  await writeFile(config, [...head, ...lines, ""].join("\n"));
  return config;
}

export interface RunningDaemon {
  readonly child: ChildProcess;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  /** Everything it wrote on stderr so far. */
  readonly stderr: () => string;
  /** The API's base URL, as the start-up message gives it (waits for it). */
  url(timeoutMs?: number): Promise<string>;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

/**
 * `nodeArgs`: Node's own flags, before the script (`npm start` gives bin/entry.js's NODE_FLAGS).
 * `wrapper`: a command that runs Node, such as `["taskset", "-c", "0"]`.
 */
export function startDaemon(
  config: string,
  nodeArgs: readonly string[] = [],
  wrapper: readonly string[] = [],
): RunningDaemon {
  const argv = [process.execPath, ...nodeArgs, BIN, "start", "--config", config];
  const [command, ...args] = [...wrapper, ...argv] as [string, ...string[]];
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    exited,
    stderr: () => err,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
    async url(timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const found = /served at (http:\/\/127\.0\.0\.1:\d+)\/v1\/check/.exec(err)?.[1];
        if (found !== undefined) return found;
        if (Date.now() > end || child.exitCode !== null)
          throw new Error(`the daemon gave no API address:\n${err}`);
        await sleep(50);
      }
    },
  };
}

/** `rempart keys create NAME --role ROLE` with the daemon's configuration: the key it prints. */
export async function createKey(config: string, role = "admin", name = "e2e"): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    BIN,
    ...["keys", "create", name, "--role", role, "--config", config],
  ]);
  const key = /rmp_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/.exec(stdout)?.[0];
  assert.ok(key !== undefined, `no key in: ${stdout}`);
  return key;
}

/**
 * A caller of the daemon's API with `key`: a JSON body when given, the answer's JSON (`{}` for
 * an empty one); a status other than 2xx fails the test, with the answer.
 */
export function apiCaller(
  base: string,
  key: string,
): (method: string, path: string, body?: unknown) => Promise<Record<string, unknown>> {
  return async (method, path, body) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path}: HTTP ${res.status} ${text}`);
    return (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>;
  };
}

/**
 * The `rempart` command against a running daemon, as an operator types it: the daemon's
 * address and key in REMPART_URL and REMPART_API_KEY. Resolves with what it printed and its
 * exit code, whatever the code.
 */
export function rempartCli(
  base: string,
  key: string,
): (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }> {
  return (...args) =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        { env: { ...process.env, REMPART_URL: base, REMPART_API_KEY: key } },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
          resolve({ code, stdout, stderr });
        },
      );
    });
}
