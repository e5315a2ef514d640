import { readFile } from "node:fs/promises";

/** The package version, read from package.json beside src/ (sources) or above dist/ (build). */
export async function version(): Promise<string> {
  for (const path of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(await readFile(new URL(path, import.meta.url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "rempart" && pkg.version !== undefined) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return "unknown";
}
