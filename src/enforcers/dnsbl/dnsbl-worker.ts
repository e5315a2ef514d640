/**
 * One extra UDP socket of the DNSBL, in a worker thread: it binds the server's address and port
 * with SO_REUSEPORT (the kernel spreads clients over the sockets), reads queries, and sends
 * answers. The zone stays in the main thread with the decisions: the worker passes the queries
 * of one turn of its event loop in one message and gets their answers back in one message, in
 * the same order. The receiving and sending, most of the cost of an answer, leave the main
 * thread; the worker holds no decision.
 *
 * Messages (ArrayBuffers, transferred): a batch is a run of [u16 length][bytes]; in an answer
 * batch, length 0 means "no answer" (the query is dropped).
 */
import { createSocket } from "node:dgram";
import { parentPort, workerData } from "node:worker_threads";
import { literalAddress, type WorkerInit } from "./dnsbl-udp.ts";

/** Queries waiting for the batch in flight to come back; past this, queries are dropped. */
const MAX_WAITING = 4096;

interface Sent {
  readonly ports: number[];
  readonly addresses: string[];
}

const port = parentPort;
if (port === null) throw new Error("dnsbl-worker.ts runs in a worker thread");
const init = workerData as WorkerInit;
const socket = createSocket({
  type: init.family === 6 ? "udp6" : "udp4",
  reusePort: true,
  lookup: literalAddress,
});

// One batch in flight at a time: while the main thread answers it, the next one fills, so that
// under load the cost of a message is shared by many queries, and when idle none waits.
let inFlight: Sent | undefined;
let queries: Buffer[] = [];
let ports: number[] = [];
let addresses: string[] = [];
let bytes = 0;
let scheduled = false;

socket.on("message", (msg, rinfo) => {
  if (queries.length >= MAX_WAITING || msg.length > 0xffff) return;
  queries.push(msg);
  ports.push(rinfo.port);
  addresses.push(rinfo.address);
  bytes += 2 + msg.length;
  if (!scheduled && inFlight === undefined) {
    scheduled = true;
    setImmediate(flush);
  }
});

// After the poll phase: every datagram read in this turn of the loop goes in one message.
function flush(): void {
  scheduled = false;
  const out = new Uint8Array(bytes);
  let p = 0;
  for (const q of queries) {
    out[p] = q.length >> 8;
    out[p + 1] = q.length;
    out.set(q, p + 2);
    p += 2 + q.length;
  }
  inFlight = { ports, addresses };
  queries = [];
  ports = [];
  addresses = [];
  bytes = 0;
  port!.postMessage(out.buffer, [out.buffer]);
}

port.on("message", (batch: ArrayBuffer) => {
  const sent = inFlight;
  inFlight = undefined;
  if (sent === undefined) return;
  if (queries.length > 0) flush();
  const view = new Uint8Array(batch);
  let p = 0;
  for (let i = 0; i < sent.ports.length && p + 2 <= view.length; i++) {
    const len = (view[p]! << 8) | view[p + 1]!;
    // A fresh view per answer: libuv may queue a send and read the bytes later.
    if (len > 0) socket.send(Buffer.from(batch, p + 2, len), sent.ports[i], sent.addresses[i]);
    p += 2 + len;
  }
});

const failed = (e: Error): void => port.postMessage(`error ${e.message}`);
socket.once("error", failed);
socket.bind({ address: init.host, port: init.port }, () => {
  socket.off("error", failed);
  // A send that fails (an ICMP unreachable, a full buffer) is the client's problem.
  socket.on("error", () => undefined);
  port.postMessage("listening");
});
