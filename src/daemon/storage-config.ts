import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { RempartError, type Storage } from "../core/index.ts";
import { openStorage } from "../storage/index.ts";
import type { Config } from "./config.ts";
import { nodeName } from "./node-name.ts";

/** What opening the database reads of the configuration. */
type StorageSection = Pick<Config, "data_dir"> & {
  readonly storage: Pick<Config["storage"], "postgres_url" | "sqlite_file">;
};

/**
 * Opens the database the configuration names: PostgreSQL when given a URL, else SQLite in
 * data_dir. `existing`: a command that only reads what a daemon wrote (an export) refuses to
 * make an empty SQLite database, which would answer nothing as if nothing were decided.
 * `node`: the daemon's name on a shared PostgreSQL (see node-name.ts).
 */
export async function openConfiguredStorage(
  config: StorageSection,
  options: { readonly existing?: boolean; readonly node?: string } = {},
): Promise<Storage> {
  // The daemon keeps files in data_dir whatever the database (the guard's secret, lists).
  if (options.node !== undefined) await makeDir(resolve(config.data_dir));
  if (config.storage.postgres_url !== undefined)
    return openStorage({
      kind: "postgres",
      url: config.storage.postgres_url,
      ...(options.node === undefined ? {} : { node: options.node }),
    });
  const dataDir = resolve(config.data_dir);
  const file = config.storage.sqlite_file;
  const path = isAbsolute(file) ? file : join(dataDir, file);
  if (options.existing === true && !existsSync(path))
    throw new RempartError(
      "UNAVAILABLE",
      `no database at ${path}: no daemon has run with this configuration`,
      {
        hint: "give the daemon's configuration with --config",
      },
    );
  await makeDir(dataDir);
  return openStorage({ kind: "sqlite", path });
}

/**
 * Takes the SQLite database for one daemon: two daemons on one database would both read the
 * same logs and write every decision twice. A lock file beside the database holds the daemon's
 * pid; one left by a daemon that is gone (killed, crashed) is taken over. PostgreSQL is made
 * to be shared by several nodes: there, the node's name is taken (node-lock.ts). Resolves to
 * the release.
 */
export async function lockDatabase(
  config: StorageSection & Pick<Config, "node_name">,
): Promise<() => Promise<void>> {
  const url = config.storage.postgres_url;
  if (url !== undefined) {
    // Loaded here: pg costs ~10 MB to a daemon on SQLite.
    const { lockNode } = await import("../storage/postgres/node-lock.ts");
    return lockNode(url, await nodeName(config));
  }
  const file = config.storage.sqlite_file;
  const db = isAbsolute(file) ? file : join(resolve(config.data_dir), file);
  const lock = `${db}.lock`;
  await makeDir(dirname(lock));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: "wx" });
      return () => rm(lock, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number((await readFile(lock, "utf8").catch(() => "")).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && (await isRempart(pid)))
        throw new RempartError(
          "UNAVAILABLE",
          `another Rempart (pid ${pid}) runs on ${db}: two would read the same logs and write every decision twice`,
          {
            hint: `stop it, or give this one another data_dir (if no Rempart runs, remove ${lock})`,
          },
        );
      await rm(lock, { force: true });
    }
  }
  throw new RempartError("UNAVAILABLE", `cannot take ${lock}: another Rempart is starting`);
}

/** Whether `pid` is a running Rempart (its command line names it), on Linux; elsewhere, alive. */
async function isRempart(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "latin1").catch(() => undefined);
  return cmdline === undefined || cmdline.includes("rempart");
}

/** Makes the data directory, or says why it cannot be made (a file in the way, no right). */
async function makeDir(dir: string): Promise<void> {
  try {
    // Level by level, not mkdir's `recursive`: under /proc that one never returns (Node 24).
    const missing: string[] = [];
    for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
      missing.push(d);
      if (dirname(d) === d) break;
    }
    for (const d of missing.reverse()) await mkdir(d).catch(existing);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new RempartError("STORAGE_FAILED", `cannot make the data directory ${dir} (${code})`, {
      cause: e,
      hint: "set data_dir to a directory Rempart may create and write",
    });
  }
}

/** A directory made meanwhile (by another process) is as good as one made here. */
function existing(e: unknown): void {
  if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
}
