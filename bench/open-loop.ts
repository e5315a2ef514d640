/**
 * Open-loop load at a fixed rate, shared by the benches that measure a latency target: request
 * j is due at start + j / rate and goes out on the first free connection (one request in flight
 * per connection, as smtpd or a bouncer does); its latency runs from when it was due, so a stall
 * of the server counts against every request that waited behind it (no coordinated omission).
 * The dispatcher spins with setImmediate (the client has its own core), so requests leave within
 * microseconds of their time, not at a timer's millisecond.
 *
 * The first `warmupSeconds` go out at the same rate and are not counted: a fresh client and
 * fresh connections answer their first second through code not yet compiled.
 *
 * A Node client pauses for its own collections and compilations (11-49 ms per 10 s run
 * against /v1/check, 2026-12-07), and those pauses read as the server's tail: bench/check.sh
 * measures with bench/open-loop-http.c instead. The Postfix policy bench still uses this one,
 * and prints the client's longest pause beside its p99 for that reason.
 */
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface OpenLoopOptions {
  readonly port: number;
  readonly connections: number;
  /** Requests per second. */
  readonly rate: number;
  readonly seconds: number;
  /** Sent at the same rate before the measured `seconds`, not counted. Default 1. */
  readonly warmupSeconds?: number;
  /** The bytes of request number `seq`. */
  readonly request: (seq: number) => Buffer;
  /** Splits a socket's answers: calls `onAnswer` once per complete answer, with its label. */
  readonly frame: (socket: Socket, onAnswer: (label: string) => void) => void;
}

export interface LoadRun {
  readonly requests: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** How many answers of each label (an action, a status code). */
  readonly answers: Record<string, number>;
  /** Open loop only: the client's own longest pause between two turns of its loop, ms. */
  clientStallMs?: number;
}

export function summary(
  latencies: number[],
  seconds: number,
  answers: Record<string, number>,
): LoadRun {
  latencies.sort((a, b) => a - b);
  const q = (p: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { requests: latencies.length, seconds, p50: q(0.5), p99: q(0.99), max: q(1), answers };
}

export async function openLoop(o: OpenLoopOptions): Promise<LoadRun> {
  const latencies: number[] = [];
  const answers: Record<string, number> = {};
  interface Conn {
    readonly socket: Socket;
    due: number;
  }
  const idle: Conn[] = [];
  let measured = Infinity; // answers to requests due from here on are counted
  const conns = await Promise.all(
    Array.from({ length: o.connections }, async () => {
      const socket: Socket = connect({ host: "127.0.0.1", port: o.port, noDelay: true });
      await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
      const c: Conn = { socket, due: 0 };
      o.frame(socket, (label) => {
        if (c.due >= measured) {
          latencies.push(performance.now() - c.due);
          answers[label] = (answers[label] ?? 0) + 1;
        }
        idle.push(c);
      });
      idle.push(c);
      return c;
    }),
  );
  const started = performance.now();
  measured = started + (o.warmupSeconds ?? 1) * 1000;
  const end = measured + o.seconds * 1000;
  let seq = 0;
  // The client's own pauses (its collections) delay answers it reads: measured, so that a tail
  // that is the client's is not blamed on the server.
  let lastTurn = started;
  let stall = 0;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      const now = performance.now();
      if (now - lastTurn > stall) stall = now - lastTurn;
      lastTurn = now;
      if (now >= end) {
        resolve();
        return;
      }
      for (
        let due = started + (seq * 1000) / o.rate;
        due <= now;
        due = started + (seq * 1000) / o.rate
      ) {
        const c = idle.pop();
        if (c === undefined) break;
        c.due = due;
        c.socket.write(o.request(seq++));
      }
      setImmediate(pump);
    };
    pump();
  });
  // Answers still in flight at the end are waited for: they count too.
  for (let i = 0; i < 100 && idle.length < conns.length; i++) await sleep(10);
  for (const c of conns) c.socket.destroy();
  const run = summary(latencies, (performance.now() - measured) / 1000, answers);
  run.clientStallMs = stall;
  return run;
}
