/**
 * Postfix's queue, through its own tools: `postqueue -j` to read it (one JSON object a message),
 * `postsuper -H` / `-d` to release or delete held messages. `configDir` selects an instance
 * (`-c`), for hosts that run several and for tests.
 */
import { spawn } from "node:child_process";
import { RempartError } from "../core/index.ts";

export interface QueuedMessage {
  readonly queue: string;
  readonly id: string;
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly size: number;
  readonly arrival: number;
}

export interface PostfixTools {
  /** Directory holding postqueue and postsuper; default: found on PATH or in /usr/sbin. */
  readonly binDir?: string;
  /** Postfix configuration directory of the instance (`-c`). */
  readonly configDir?: string;
}

function run(command: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.once("error", (e) =>
      reject(
        new RempartError("UNAVAILABLE", `cannot run ${command}: ${e.message}`, {
          cause: e,
          hint: "is Postfix installed on this host?",
        }),
      ),
    );
    child.once("close", (code) => {
      if (code === 0) resolve(out);
      else
        reject(
          new RempartError(
            "UNAVAILABLE",
            `${command} ${args.join(" ")} failed (${code ?? "signal"}): ${err.trim().slice(0, 300)}`,
          ),
        );
    });
    // A tool that exits without reading its input (postqueue -j) closes the pipe: that EPIPE
    // is not a failure (the exit code says whether it worked), and must not crash the process.
    child.stdin.on("error", () => undefined);
    child.stdin.end(input ?? "");
  });
}

const tool = (t: PostfixTools, name: string): string =>
  t.binDir === undefined ? name : `${t.binDir}/${name}`;
const conf = (t: PostfixTools): string[] => (t.configDir === undefined ? [] : ["-c", t.configDir]);

/** Parses `postqueue -j` output; lines that are not messages are skipped. */
export function parseQueue(text: string): QueuedMessage[] {
  const out: QueuedMessage[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let m: unknown;
    try {
      m = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof m !== "object" || m === null) continue;
    const o = m as Record<string, unknown>;
    if (typeof o.queue_id !== "string" || typeof o.queue_name !== "string") continue;
    const recipients = Array.isArray(o.recipients)
      ? o.recipients
          .map((r) =>
            typeof r === "object" &&
            r !== null &&
            typeof (r as { address?: unknown }).address === "string"
              ? (r as { address: string }).address
              : "",
          )
          .filter((a) => a !== "")
      : [];
    out.push({
      queue: o.queue_name,
      id: o.queue_id,
      sender: typeof o.sender === "string" ? o.sender.toLowerCase() : "",
      recipients,
      size: typeof o.message_size === "number" ? o.message_size : 0,
      arrival: typeof o.arrival_time === "number" ? o.arrival_time * 1000 : 0,
    });
  }
  return out;
}

export async function readQueue(tools: PostfixTools = {}): Promise<QueuedMessage[]> {
  return parseQueue(await run(tool(tools, "postqueue"), [...conf(tools), "-j"]));
}

/** Releases (`-H`) or deletes (`-d`) messages by queue id; ids are passed on stdin. */
export async function postsuper(
  action: "release" | "delete",
  ids: readonly string[],
  tools: PostfixTools = {},
): Promise<void> {
  if (ids.length === 0) return;
  await run(
    tool(tools, "postsuper"),
    [...conf(tools), action === "release" ? "-H" : "-d", "-"],
    `${ids.join("\n")}\n`,
  );
}

/** The held messages whose envelope sender is the account (or one of the given senders). */
export function heldFor(
  queue: readonly QueuedMessage[],
  senders: readonly string[],
): QueuedMessage[] {
  const wanted = new Set(senders.map((s) => s.toLowerCase()));
  return queue.filter((m) => m.queue === "hold" && wanted.has(m.sender));
}
