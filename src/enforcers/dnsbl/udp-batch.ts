/**
 * The DNSBL's UDP socket read and written in batches, through the optional native addon in
 * native/udp-batch (recvmmsg and sendmmsg, Linux): one call into JavaScript per batch of up to
 * SLOTS queries, each answered into a fixed slot, so a query costs no allocation and no event.
 * node:dgram costs a `message` event, a Buffer, an rinfo object and a send per query: about
 * what rbldnsd spends on the whole answer.
 *
 * The addon is built by npm at install when a compiler is there; without it the server falls
 * back to node:dgram (`udp_batching: auto`) and says so.
 */
import { createRequire } from "node:module";
import { MAX_UDP_ANSWER } from "./dnsbl-zone.ts";

/** Queries read per recvmmsg; answers sent per sendmmsg. */
export const SLOTS = 64;
/** Room per query: longer datagrams are not DNS queries a DNSBL answers, and are dropped. */
const IN_SLOT = 1024;
const OUT_SLOT = MAX_UDP_ANSWER;

/** The opaque socket the addon hands back. */
type NativeSocket = { readonly __native: unique symbol };

/** What native/udp-batch/udp_batch.c exports. */
interface UdpBatchAddon {
  open(
    family: 4 | 6,
    host: string,
    port: number,
    reusePort: boolean,
    inBuf: ArrayBuffer,
    inSlot: number,
    inLen: Uint16Array,
    outBuf: ArrayBuffer,
    outSlot: number,
    outLen: Uint16Array,
    onBatch: (n: number) => void,
  ): { socket: NativeSocket; port: number };
  /** Datagrams received, answers sent, answers dropped, batches. */
  stats(socket: NativeSocket): [number, number, number, number];
  close(socket: NativeSocket, onClosed: () => void): void;
}

let addon: UdpBatchAddon | undefined;
let loadError: string | undefined;

/** The addon, or why it could not be loaded (not built, not Linux). Loaded once. */
export function udpBatchAddon(): { addon: UdpBatchAddon } | { error: string } {
  if (addon === undefined && loadError === undefined) {
    try {
      addon = createRequire(import.meta.url)("@rempart/udp-batch") as UdpBatchAddon;
    } catch (e) {
      loadError = e instanceof Error ? e.message.split("\n")[0]! : String(e);
    }
  }
  return addon !== undefined ? { addon } : { error: loadError! };
}

/** Writes the answer to the query in the first `len` bytes of `q` into `out`; 0 for none. */
export type AnswerInto = (q: Buffer, len: number, out: Buffer) => number;

export interface BatchStats {
  readonly received: number;
  readonly sent: number;
  /** Answers the kernel would not take (a full send buffer, an unreachable client). */
  readonly dropped: number;
  readonly batches: number;
}

export class BatchUdpSocket {
  readonly port: number;
  readonly #addon: UdpBatchAddon;
  readonly #socket: NativeSocket;
  #closed: Promise<void> | undefined;

  private constructor(addon: UdpBatchAddon, socket: NativeSocket, port: number) {
    this.#addon = addon;
    this.#socket = socket;
    this.port = port;
  }

  /** Binds and starts answering; throws (with the errno's code) when the bind fails. */
  static open(
    addon: UdpBatchAddon,
    listen: { host: string; port: number; family: 4 | 6 },
    reusePort: boolean,
    answer: AnswerInto,
  ): BatchUdpSocket {
    const inBuf = new ArrayBuffer(SLOTS * IN_SLOT);
    const outBuf = new ArrayBuffer(SLOTS * OUT_SLOT);
    const inLen = new Uint16Array(SLOTS);
    const outLen = new Uint16Array(SLOTS);
    // One view per slot, made once: the batch loop allocates nothing.
    const queries = Array.from({ length: SLOTS }, (_, i) =>
      Buffer.from(inBuf, i * IN_SLOT, IN_SLOT),
    );
    const answers = Array.from({ length: SLOTS }, (_, i) =>
      Buffer.from(outBuf, i * OUT_SLOT, OUT_SLOT),
    );
    const onBatch = (n: number): void => {
      for (let i = 0; i < n; i++) outLen[i] = answer(queries[i]!, inLen[i]!, answers[i]!);
    };
    const { socket, port } = addon.open(
      listen.family,
      listen.host,
      listen.port,
      reusePort,
      inBuf,
      IN_SLOT,
      inLen,
      outBuf,
      OUT_SLOT,
      outLen,
      onBatch,
    );
    return new BatchUdpSocket(addon, socket, port);
  }

  /** The counts so far; only while open (the native socket is freed when it closes). */
  stats(): BatchStats {
    if (this.#closed !== undefined) throw new Error("udp-batch: stats of a closed socket");
    const [received, sent, dropped, batches] = this.#addon.stats(this.#socket);
    return { received, sent, dropped, batches };
  }

  close(): Promise<void> {
    this.#closed ??= new Promise((resolve) => this.#addon.close(this.#socket, resolve));
    return this.#closed;
  }
}
