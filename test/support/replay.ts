import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const BIN = new URL("../../bin/rempart.js", import.meta.url).pathname;

export interface ReplayLine {
  readonly kind: "decision" | "alert" | "verdict";
  readonly at: string;
  readonly scenario: string;
  readonly scope: string;
  readonly value: string;
  readonly action?: string;
  readonly duration_s?: number;
  readonly count?: number;
}

/** Writes `text` to a temp file and runs `rempart replay` on it, as a user would. */
export async function replayText(
  text: string,
  args: readonly string[] = ["--type", "syslog", "--year", "2024", "--tz", "UTC"],
): Promise<{ lines: ReplayLine[]; stderr: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), "rempart-replay-"));
  const file = join(dir, "input.log");
  await writeFile(file, text);
  const { stdout, stderr } = await run(process.execPath, [BIN, "replay", ...args, file], {
    maxBuffer: 256 << 20,
  });
  const lines = stdout
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as ReplayLine);
  return { lines, stderr, file };
}
