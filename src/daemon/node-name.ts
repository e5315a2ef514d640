/**
 * The node's name, for a database several nodes share (PostgreSQL): each keeps its own read
 * positions and detection state under it. `node_name` when configured; else the name kept in
 * `<data_dir>/node`, written once from the host's name, so that it survives a container
 * whose host name changes at every start.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { RempartError } from "../core/index.ts";

export const NODE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export async function nodeName(config: {
  readonly data_dir: string;
  readonly node_name?: string | undefined;
}): Promise<string> {
  if (config.node_name !== undefined) return config.node_name;
  const dir = resolve(config.data_dir);
  const file = join(dir, "node");
  const kept = (await readFile(file, "utf8").catch(() => "")).trim();
  if (NODE_NAME.test(kept)) return kept;
  const host = hostname()
    .replace(/[^A-Za-z0-9_.-]/g, "-")
    .slice(0, 48);
  const name = host === "" ? `node-${randomBytes(4).toString("hex")}` : host;
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(file, `${name}\n`, { flag: "wx" });
  } catch (e) {
    // Another start wrote it first: take its name.
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return nodeName(config);
    throw new RempartError("CONFIG_INVALID", `cannot write the node's name to ${file}`, {
      cause: e,
      hint: "check that data_dir is writable by rempart, or set node_name in the configuration",
    });
  }
  return name;
}
