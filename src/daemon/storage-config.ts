import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { RempartError, type Storage } from "../core/index.ts";
import { openStorage } from "../storage/index.ts";
import type { Config } from "./config.ts";

/**
 * Opens the database the configuration names: PostgreSQL when given a URL, else SQLite in
 * data_dir. `existing`: a command that only reads what a daemon wrote (an export) refuses to
 * make an empty SQLite database, which would answer nothing as if nothing were decided.
 */
export async function openConfiguredStorage(
  config: Pick<Config, "data_dir" | "storage">,
  options: { readonly existing?: boolean } = {},
): Promise<Storage> {
  if (config.storage.postgres_url !== undefined)
    return openStorage({ kind: "postgres", url: config.storage.postgres_url });
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
  await mkdir(dataDir, { recursive: true });
  return openStorage({ kind: "sqlite", path });
}
