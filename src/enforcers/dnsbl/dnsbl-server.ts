/**
 * The DNSBL zone on the network: UDP, and TCP with the 2-byte length prefix (several queries
 * per connection, answered in order, an idle timeout, a cap on connections). Both listen on the
 * same address and port.
 *
 * The main UDP socket is read and written in batches by the native addon (udp-batch.ts) when it
 * was built, through node:dgram otherwise. With `threads` > 1, worker threads (dnsbl-worker.ts)
 * open more UDP sockets on the same address and port (SO_REUSEPORT: the kernel spreads clients
 * over them) and do the receiving and sending; the zone stays here and answers their queries a
 * batch at a time.
 */
import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server, type Socket as TcpSocket } from "node:net";
import { Worker } from "node:worker_threads";
import type { DnsblZone } from "./dnsbl-zone.ts";
import type { ListenAddress } from "./dnsbl-config.ts";
import { literalAddress, type WorkerInit } from "./dnsbl-udp.ts";
import { BatchUdpSocket, udpBatchAddon, type BatchStats } from "./udp-batch.ts";

/**
 * How the main UDP socket is read: `on` needs the native addon (recvmmsg/sendmmsg), `off` uses
 * node:dgram, `auto` the addon when it was built and node:dgram otherwise.
 */
export type UdpBatching = "auto" | "on" | "off";

export interface DnsblServerOptions {
  readonly listen: ListenAddress;
  readonly tcpIdleMs: number;
  readonly tcpMaxConnections: number;
  /** UDP sockets, each served by its own thread (this one and threads - 1 workers). */
  readonly threads?: number;
  /** Default `auto`. */
  readonly udpBatching?: UdpBatching;
  readonly log: (line: string) => void;
}

/** The main UDP socket, whichever way it is read. */
interface UdpEndpoint {
  readonly port: number;
  close(): Promise<void>;
}

// The worker runs from the same tree as this file: the sources, or the build in dist/.
const WORKER_URL = new URL(
  import.meta.url.endsWith(".ts") ? "./dnsbl-worker.ts" : "./dnsbl-worker.js",
  import.meta.url,
);
/** A worker that dies is started again after this long. */
const RESTART_MS = 1000;

/** A TCP client may not hold more unanswered bytes than one maximal message and its prefix. */
const MAX_TCP_PENDING = 65_537;

export class DnsblServer {
  readonly #zone: DnsblZone;
  readonly #options: DnsblServerOptions;
  #udp: UdpEndpoint | undefined;
  #batched: BatchUdpSocket | undefined;
  #tcp: Server | undefined;
  readonly #connections = new Set<TcpSocket>();
  readonly #workers = new Set<Worker>();
  /** Queries received by the worker threads' sockets and answered here. */
  workerQueries = 0;
  #port = 0;
  #lastError = 0;
  #running = false;

  constructor(zone: DnsblZone, options: DnsblServerOptions) {
    this.#zone = zone;
    this.#options = options;
  }

  /** The port both sockets listen on (useful with port 0). */
  get port(): number {
    return this.#port;
  }

  /** How the main UDP socket is read, once started. */
  get udpPath(): "batched" | "dgram" | undefined {
    if (this.#udp === undefined) return undefined;
    return this.#batched !== undefined ? "batched" : "dgram";
  }

  /** The batched socket's counts; undefined on node:dgram. */
  get batchStats(): BatchStats | undefined {
    return this.#batched?.stats();
  }

  async start(): Promise<void> {
    const { host, port } = this.#options.listen;
    // With port 0 the UDP port is picked first and TCP must get the same one: retry a few.
    for (let attempt = 0; ; attempt++) {
      this.#udp = await this.#bindUdp(host, port);
      this.#port = this.#udp.port;
      try {
        this.#tcp = await this.#bindTcp(host, this.#port);
        break;
      } catch (e) {
        await this.#udp.close();
        this.#udp = undefined;
        if (port !== 0 || attempt >= 10) throw e;
      }
    }
    this.#running = true;
    try {
      const threads = this.#options.threads ?? 1;
      await Promise.all(Array.from({ length: threads - 1 }, () => this.#startWorker()));
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    const workers = [...this.#workers];
    this.#workers.clear();
    await Promise.all(workers.map((w) => w.terminate()));
    for (const c of this.#connections) c.destroy();
    this.#connections.clear();
    const tcp = this.#tcp;
    this.#tcp = undefined;
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
    const udp = this.#udp;
    this.#udp = undefined;
    if (udp) await udp.close();
  }

  #answer(query: Buffer, tcp: boolean): Buffer | undefined {
    try {
      return this.#zone.answer(query, tcp);
    } catch (e) {
      this.#reportDropped(e);
      return undefined;
    }
  }

  /** A bug, not the client's fault: say it (at most once a minute); the query is dropped. */
  #reportDropped(e: unknown): void {
    const now = Date.now();
    if (now - this.#lastError > 60_000) {
      this.#lastError = now;
      this.#options.log(
        `rempart: dnsbl: dropped a query: ${e instanceof Error ? e.stack : String(e)}`,
      );
    }
  }

  /** Starts one UDP worker; resolves when its socket listens. */
  #startWorker(): Promise<void> {
    const { host, family } = this.#options.listen;
    const init: WorkerInit = { host, port: this.#port, family };
    const worker = new Worker(WORKER_URL, { workerData: init });
    this.#workers.add(worker);
    return new Promise((resolve, reject) => {
      let listening = false;
      worker.on("message", (msg: ArrayBuffer | string) => {
        if (typeof msg !== "string") {
          const out = this.#answerBatch(msg);
          worker.postMessage(out, [out]);
        } else if (msg === "listening") {
          listening = true;
          resolve();
        } else reject(new Error(`dnsbl: udp worker: ${msg.replace(/^error /, "")}`));
      });
      worker.on("error", (e: Error) =>
        this.#options.log(`rempart: dnsbl: udp worker: ${e.message}`),
      );
      worker.on("exit", (code) => {
        if (!this.#workers.delete(worker)) return; // stopped
        if (!listening) {
          reject(new Error(`dnsbl: udp worker exited with code ${code} before listening`));
          return;
        }
        this.#options.log(`rempart: dnsbl: udp worker exited (code ${code}); restarting`);
        setTimeout(() => {
          if (!this.#running) return;
          this.#startWorker().catch((e: unknown) =>
            this.#options.log(`rempart: dnsbl: ${e instanceof Error ? e.message : String(e)}`),
          );
        }, RESTART_MS).unref();
      });
    });
  }

  /** A worker's batch of queries in, their answers out, in the same order (see dnsbl-worker.ts). */
  #answerBatch(batch: ArrayBuffer): ArrayBuffer {
    const view = new Uint8Array(batch);
    const answers: (Buffer | undefined)[] = [];
    let bytes = 0;
    for (let p = 0; p + 2 <= view.length;) {
      const len = (view[p]! << 8) | view[p + 1]!;
      const out = this.#answer(Buffer.from(batch, p + 2, len), false);
      this.workerQueries++;
      answers.push(out);
      bytes += 2 + (out === undefined ? 0 : out.length);
      p += 2 + len;
    }
    const out = new Uint8Array(bytes);
    let p = 0;
    for (const a of answers) {
      const len = a === undefined ? 0 : a.length;
      out[p] = len >> 8;
      out[p + 1] = len;
      if (a !== undefined) out.set(a, p + 2);
      p += 2 + len;
    }
    return out.buffer;
  }

  /** The zone's answer written into a batch slot; a throw drops the query, as #answer does. */
  readonly #answerInto = (q: Buffer, len: number, out: Buffer): number => {
    try {
      return this.#zone.answerInto(q, len, out);
    } catch (e) {
      this.#reportDropped(e);
      return 0;
    }
  };

  async #bindUdp(host: string, port: number): Promise<UdpEndpoint> {
    // Worker threads bind the same port: the kernel spreads clients over the sockets.
    const reusePort = (this.#options.threads ?? 1) > 1;
    const batching = this.#options.udpBatching ?? "auto";
    if (batching !== "off") {
      const loaded = udpBatchAddon();
      if ("addon" in loaded) {
        const { family } = this.#options.listen;
        this.#batched = BatchUdpSocket.open(
          loaded.addon,
          { host, port, family },
          reusePort,
          this.#answerInto,
        );
        const batched = this.#batched;
        return {
          port: batched.port,
          close: async () => {
            await batched.close();
            if (this.#batched === batched) this.#batched = undefined;
          },
        };
      }
      if (batching === "on")
        throw new Error(
          `dnsbl: udp_batching is on, but the native UDP addon cannot be loaded (${loaded.error}); ` +
            "build it with `npm rebuild @rempart/udp-batch` (needs a C compiler and make), " +
            "or set udp_batching to auto",
        );
      this.#options.log(
        `rempart: dnsbl: UDP through node:dgram, one query at a time: the native addon is not built (${loaded.error})`,
      );
    }
    const socket = await this.#bindDgram(host, port, reusePort);
    return { port: socket.address().port, close: () => closeUdp(socket) };
  }

  #bindDgram(host: string, port: number, reusePort: boolean): Promise<Socket> {
    const socket = createSocket({
      type: this.#options.listen.family === 6 ? "udp6" : "udp4",
      reusePort,
      lookup: literalAddress,
    });
    socket.on("message", (msg, rinfo) => {
      const out = this.#answer(msg, false);
      if (out !== undefined) socket.send(out, rinfo.port, rinfo.address);
    });
    return new Promise((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ address: host, port, exclusive: true }, () => {
        socket.off("error", reject);
        // A send that fails (an ICMP unreachable, a full buffer) is the client's problem.
        socket.on("error", (e) => this.#options.log(`rempart: dnsbl: udp: ${e.message}`));
        resolve(socket);
      });
    });
  }

  #bindTcp(host: string, port: number): Promise<Server> {
    const server = createServer({ noDelay: true }, (conn) => this.#serve(conn));
    server.maxConnections = this.#options.tcpMaxConnections;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off("error", reject);
        server.on("error", (e) => this.#options.log(`rempart: dnsbl: tcp: ${e.message}`));
        resolve(server);
      });
    });
  }

  #serve(conn: TcpSocket): void {
    this.#connections.add(conn);
    let pending: Buffer | undefined;
    conn.setTimeout(this.#options.tcpIdleMs, () => conn.destroy());
    conn.on("error", () => conn.destroy());
    conn.on("close", () => this.#connections.delete(conn));
    conn.on("data", (chunk: Buffer) => {
      let buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      pending = undefined;
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const out = this.#answer(buf.subarray(2, 2 + len), true);
        // A message without a header cannot be answered; the stream is out of step, so close.
        if (out === undefined) {
          conn.destroy();
          return;
        }
        // A client that does not read its answers stops being read from.
        if (!conn.write(out) && !conn.isPaused()) {
          conn.pause();
          conn.once("drain", () => conn.resume());
        }
        buf = buf.subarray(2 + len);
      }
      if (buf.length > 0) {
        if (buf.length > MAX_TCP_PENDING) {
          conn.destroy();
          return;
        }
        // Copy, so that the remainder does not pin the whole chunk it came in.
        pending = Buffer.from(buf);
      }
    });
  }
}

function closeUdp(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}
