/**
 * The load generators' side of HTTP/1.1 keep-alive: splits what arrives on a socket into
 * responses (Content-Length framing, as Rempart's API answers) and hands each one over.
 */
import type { Socket } from "node:net";

/** Calls `onResponse` with each response's status line and headers (latin1) and its body. */
export function onHttpResponses(
  socket: Socket,
  onResponse: (head: string, body: Buffer) => void,
): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      const end = pending.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = pending.subarray(0, end).toString("latin1");
      const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (pending.length < end + 4 + length) return;
      const body = pending.subarray(end + 4, end + 4 + length);
      pending = pending.subarray(end + 4 + length);
      onResponse(head, body);
    }
  });
}
