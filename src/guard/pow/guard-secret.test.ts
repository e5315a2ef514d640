import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isRempartError } from "../../core/index.ts";
import { deriveGuardKeys, loadOrCreateSecret, parseSecret } from "./guard-secret.ts";
import { loadGuardSecret, PowConfigSchema } from "./pow-config.ts";

const dir = await mkdtemp(join(tmpdir(), "rempart-guard-key-"));
after(() => rm(dir, { recursive: true, force: true }));

void describe("loadOrCreateSecret", () => {
  void it("creates 32 random bytes with mode 0600, then reads the same ones back", async () => {
    const path = join(dir, "guard.key");
    const first = await loadOrCreateSecret(path);
    assert.equal(first.length, 32);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await loadOrCreateSecret(path), first);
  });

  void it("gives two processes starting at once the same secret", async () => {
    const path = join(dir, "race.key");
    const [a, b] = await Promise.all([loadOrCreateSecret(path), loadOrCreateSecret(path)]);
    assert.deepEqual(a, b);
  });

  void it("refuses a short secret, with a hint", async () => {
    const path = join(dir, "short.key");
    await writeFile(path, "abcd\n", { mode: 0o600 });
    await assert.rejects(loadOrCreateSecret(path), (e) => {
      assert.ok(isRempartError(e) && e.code === "CONFIG_INVALID" && e.hint !== undefined);
      return true;
    });
    assert.throws(() => parseSecret("x".repeat(31)));
    assert.equal(parseSecret("x".repeat(32)).length, 32);
  });

  void it("says so when the directory does not exist", async () => {
    await assert.rejects(loadOrCreateSecret(join(dir, "missing", "guard.key")), /cannot create/);
  });
});

void describe("deriveGuardKeys", () => {
  void it("derives distinct keys, the same ones from the same secret", () => {
    const secret = Buffer.alloc(32, 7);
    const k = deriveGuardKeys(secret);
    assert.deepEqual(deriveGuardKeys(secret), k);
    const all = [k.challengeSignature, k.keySignature, k.formToken.toString("hex")];
    assert.equal(new Set(all).size, 3);
    assert.notEqual(deriveGuardKeys(Buffer.alloc(32, 8)).keySignature, k.keySignature);
  });
});

void describe("PowConfigSchema", () => {
  void it("fills in the defaults", () => {
    assert.deepEqual(PowConfigSchema.parse({}), {
      expires: "10m",
      pass_duration: "1h",
      algorithm: "PBKDF2/SHA-256",
      cost: 1000,
      counter: 1000,
      store: "memory",
      memory_entries: 200_000,
    });
  });

  void it("refuses unknown keys, bad durations, weak algorithms and two secrets", () => {
    for (const bad of [
      { expire: "10m" },
      { expires: "ten minutes" },
      { expires: "1s" },
      { pass_duration: "30s" },
      { pass_duration: "31d" },
      { algorithm: "SHA-256" },
      { secret: "x".repeat(32), secret_file: "/etc/rempart/guard.key" },
    ]) {
      assert.equal(PowConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });

  void it("takes the secret from the configuration, else from data_dir/guard.key", async () => {
    const inline = await loadGuardSecret(PowConfigSchema.parse({ secret: "ab".repeat(32) }), dir);
    assert.deepEqual(inline, Buffer.alloc(32, 0xab));
    const fromDir = await loadGuardSecret(PowConfigSchema.parse({}), dir);
    assert.deepEqual(fromDir, await loadOrCreateSecret(join(dir, "guard.key")));
  });
});
