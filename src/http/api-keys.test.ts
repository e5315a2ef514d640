import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { afterEach, beforeEach, test } from "node:test";
import { RempartError } from "../core/index.ts";
import { ApiKeyVerifier, createApiKey, keyFromHeaders, parseApiKey } from "./api-keys.ts";
import { createTestRuntime, type TestRuntime } from "./test-runtime.ts";

let runtime: TestRuntime;
beforeEach(async () => {
  runtime = await createTestRuntime();
});
afterEach(async () => {
  await runtime.close();
});

test("a key is rmp_<12 hex>_<43 base64url>, and only the SHA-256 of its secret is stored", async () => {
  const key = await createApiKey(runtime.storage, "web app", "sensor", 1234);
  assert.match(key, /^rmp_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  const parts = parseApiKey(key)!;
  const [stored] = await runtime.storage.listApiKeys();
  assert.deepEqual(stored, {
    id: parts.id,
    name: "web app",
    role: "sensor",
    hash: createHash("sha256").update(parts.secret).digest("hex"),
    createdAt: 1234,
  });
  assert.ok(!JSON.stringify(stored).includes(parts.secret));
});

test("two keys never share an id or a secret", async () => {
  const a = parseApiKey(await createApiKey(runtime.storage, "a", "admin", 0))!;
  const b = parseApiKey(await createApiKey(runtime.storage, "b", "admin", 0))!;
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.secret, b.secret);
});

test("parseApiKey splits a secret that itself contains _", () => {
  const secret = `${"_".repeat(10)}${"a".repeat(33)}`;
  assert.deepEqual(parseApiKey(`rmp_0123456789ab_${secret}`), { id: "0123456789ab", secret });
  for (const bad of ["", "rmp_", "rmp_0123456789ab_short", `RMP_0123456789ab_${secret}`])
    assert.equal(parseApiKey(bad), undefined);
});

test("a bad name or role is INPUT_INVALID, and nothing is stored", async () => {
  for (const [name, role] of [
    ["", "admin"],
    ["x".repeat(65), "admin"],
    ["ok", "root"],
  ] as const) {
    await assert.rejects(
      // @ts-expect-error -- a role from outside the type system (the CLI's argument)
      createApiKey(runtime.storage, name, role, 0),
      (e: unknown) => e instanceof RempartError && e.code === "INPUT_INVALID",
    );
  }
  assert.deepEqual(await runtime.storage.listApiKeys(), []);
});

test("the verifier accepts the key, refuses a changed secret, and forgets on demand", async () => {
  const key = await createApiKey(runtime.storage, "nginx", "bouncer", 0);
  const verifier = new ApiKeyVerifier(runtime.storage);
  const id = parseApiKey(key)!.id;
  assert.deepEqual(await verifier.verify(key), { id, name: "nginx", role: "bouncer" });
  const last = key.at(-1) === "A" ? "B" : "A";
  assert.equal(await verifier.verify(`${key.slice(0, -1)}${last}`), undefined);
  await runtime.storage.deleteApiKey(id);
  assert.ok(await verifier.verify(key), "still cached");
  verifier.forget(id);
  assert.equal(await verifier.verify(key), undefined);
});

test("keys are read from Authorization: Bearer or X-Api-Key", () => {
  assert.equal(keyFromHeaders({ authorization: "Bearer abc" }), "abc");
  assert.equal(keyFromHeaders({ authorization: "bearer  abc " }), "abc");
  assert.equal(keyFromHeaders({ "x-api-key": "abc" }), "abc");
  assert.equal(keyFromHeaders({ authorization: "Basic abc" }), undefined);
  assert.equal(keyFromHeaders({}), undefined);
});

test("a key repeated on one connection skips the hash, but a wrong one never passes", async () => {
  const key = await createApiKey(runtime.storage, "fw", "bouncer", 0);
  const other = await createApiKey(runtime.storage, "fw2", "bouncer", 0);
  let now = 0;
  const verifier = new ApiKeyVerifier(runtime.storage, { now: () => now, cacheTtlMs: 1000 });
  const id = parseApiKey(key)!.id;
  const socket = {};
  assert.equal((await verifier.verify(key, socket))?.id, id); // first: from the store
  assert.equal((await verifier.verify(key, socket))?.id, id); // cached entry: remembered
  assert.equal(verifier.verify(key, socket), verifier.verify(key, socket), "synchronous");
  const last = key.at(-1) === "A" ? "B" : "A";
  assert.equal(await verifier.verify(`${key.slice(0, -1)}${last}`, socket), undefined);
  assert.equal(await verifier.verify(`${key}x`, socket), undefined);
  // another key on the same connection (a proxy's pool) is verified as itself
  assert.equal((await verifier.verify(other, socket))?.name, "fw2");
  assert.equal((await verifier.verify(key, socket))?.name, "fw");
  // deleting the key ends it on the connection too
  await runtime.storage.deleteApiKey(id);
  verifier.forget(id);
  assert.equal(await verifier.verify(key, socket), undefined);
  // and so does the cache's expiry
  const kept = parseApiKey(other)!.id;
  assert.equal((await verifier.verify(other, socket))?.id, kept);
  await runtime.storage.deleteApiKey(kept);
  now = 2000;
  assert.equal(await verifier.verify(other, socket), undefined);
});
