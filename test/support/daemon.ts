/** Runs `rempart start` as a separate process, as an operator would, for end-to-end tests. */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
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
