/** The replay stream: one JSON object a line, as the Spine's replay contract describes. */
import type { Writable } from "node:stream";
import { formatTime, type Alert, type Decision, type Event } from "../core/index.ts";
import type { Assessment } from "../guard/index.ts";

export function decisionLine(d: Decision): string {
  return JSON.stringify({
    kind: "decision",
    at: formatTime(d.createdAt, d.tzOffset),
    action: d.action,
    scope: d.scope,
    value: d.value,
    duration_s: d.expiresAt === null ? null : Math.round((d.expiresAt - d.createdAt) / 1000),
    scenario: d.scenario,
    reason: d.reason,
  });
}

export function verdictLine(e: Event, a: Assessment): string {
  return JSON.stringify({
    kind: "verdict",
    at: formatTime(e.time, e.tzOffset),
    event: e.id,
    verdict: a.verdict,
    score: a.score,
    reasons: a.reasons,
  });
}

export function alertLine(a: Alert): string {
  return JSON.stringify({
    kind: "alert",
    at: formatTime(a.at, a.tzOffset),
    scenario: a.scenario,
    scope: a.scope,
    value: a.value,
    count: a.count,
    message: a.message,
  });
}

/** Buffers lines and writes them in large pieces, honouring the stream's back-pressure. */
export class LineWriter {
  readonly #out: Writable;
  #buf: string[] = [];
  #size = 0;

  constructor(out: Writable) {
    this.#out = out;
  }

  push(line: string): void {
    this.#buf.push(line);
    this.#size += line.length + 1;
  }

  get pending(): number {
    return this.#size;
  }

  async flush(): Promise<void> {
    if (this.#buf.length === 0) return;
    const text = `${this.#buf.join("\n")}\n`;
    this.#buf = [];
    this.#size = 0;
    if (!this.#out.write(text)) {
      await new Promise<void>((resolve, reject) => {
        const done = (e?: Error): void => {
          this.#out.off("drain", done);
          this.#out.off("error", done);
          if (e) reject(e);
          else resolve();
        };
        this.#out.once("drain", done);
        this.#out.once("error", done);
      });
    }
  }
}
