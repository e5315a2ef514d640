/**
 * The files under web/ (the demo's pages, the challenge page) beside the sources, or beside the
 * build: src/core → ../../web, dist/src/core → ../../../web.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { RempartError } from "./errors.ts";

/**
 * The directory `web/<name>/`, with a trailing slash, found by one of its files (`probe`).
 * Throws a RempartError naming `what` when it is not there (an install without web/).
 */
export function webDir(name: string, probe: string, what: string): string {
  for (const up of [`../../web/${name}/`, `../../../web/${name}/`]) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    try {
      readFileSync(`${dir}${probe}`);
      return dir;
    } catch {
      // try the next
    }
  }
  throw new RempartError("UNAVAILABLE", `${what} (web/${name}/) are missing`, {
    hint: "reinstall Rempart: its web/ directory belongs beside src/",
  });
}
