import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { test } from "node:test";
import { portFree } from "./start.ts";

test("a port an API thread's SO_REUSEPORT socket holds is not free: a second daemon would share it", async () => {
  const held = createServer();
  await new Promise<void>((resolve) =>
    held.listen({ host: "127.0.0.1", port: 0, reusePort: true }, resolve),
  );
  const { port } = held.address() as AddressInfo;
  await assert.rejects(portFree(`127.0.0.1:${port}`), { code: "EADDRINUSE" });
  await new Promise<void>((resolve) => held.close(() => resolve()));
  await portFree(`127.0.0.1:${port}`);
  await portFree("127.0.0.1:0");
});
