import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { test } from "node:test";
import { listenCode, listenError } from "./errors.ts";

const listen = (server: Server, port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });

test("a port held by another says so, with the setting to change", async () => {
  const first = createServer();
  await listen(first, 0);
  const { port } = first.address() as { port: number };
  const second = createServer();
  try {
    const e = await listen(second, port).then(
      () => assert.fail("two servers on one port"),
      (err: unknown) => err,
    );
    assert.equal(listenCode(e), "EADDRINUSE");
    const refused = listenError("http", `127.0.0.1:${port}`, "http.listen", e);
    assert.equal(refused.code, "LISTEN_FAILED");
    assert.equal(
      refused.message,
      `http: cannot listen on 127.0.0.1:${port}: the address is in use (another Rempart, or another program?)`,
    );
    assert.equal(refused.hint, "choose another address with http.listen");
  } finally {
    first.close();
    second.close();
  }
  // Relayed as text from a worker thread, the reason is still read.
  assert.equal(listenCode(new Error("udp worker: bind EADDRINUSE 127.0.0.1:53")), "EADDRINUSE");
  assert.equal(listenCode(new Error("something else")), undefined);
  assert.match(listenError("dnsbl", "x", "k", new Error("odd")).message, /: odd$/);
});
