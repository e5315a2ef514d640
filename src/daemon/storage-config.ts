import { mkdir } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import type { Storage } from "../core/index.ts";
import { openStorage } from "../storage/index.ts";
import type { Config } from "./config.ts";

/** Opens the database the configuration names: PostgreSQL when given a URL, else SQLite in data_dir. */
export async function openConfiguredStorage(
  config: Pick<Config, "data_dir" | "storage">,
): Promise<Storage> {
  if (config.storage.postgres_url !== undefined)
    return openStorage({ kind: "postgres", url: config.storage.postgres_url });
  const dataDir = resolve(config.data_dir);
  await mkdir(dataDir, { recursive: true });
  const file = config.storage.sqlite_file;
  return openStorage({ kind: "sqlite", path: isAbsolute(file) ? file : join(dataDir, file) });
}
