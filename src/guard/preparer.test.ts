/**
 * The guard's stateless half made elsewhere (an API thread's `guardPreparer`) must judge as
 * the guard does by itself: two real guards with the same secret, one fed the other half's
 * signals, give the same answers to the same submissions, reused proofs of work included.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DecisionBook } from "../decisions/index.ts";
import { GuardConfigSchema, GuardNetworks, guardPreparer, startGuard } from "./compose.ts";
import type { Submission } from "./ports.ts";
import { AltchaPow, deriveGuardKeys, MemoryOnceStore, solveAltcha } from "./pow/index.ts";
import { FormTokens } from "./token/index.ts";

test("an API thread's preparation and the guard's own give the same assessments", async () => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-preparer-"));
  const asFile = join(dir, "as.csv");
  await writeFile(asFile, "192.0.2.0,192.0.2.255,64500,Example Hosting Ltd\n");
  const secret = randomBytes(32);
  const config = GuardConfigSchema.parse({
    forms: { petition: { identities: [["first", "last"], ["comment"]] } },
    pow: { secret: secret.toString("hex") },
    email: { mx: { enabled: false } },
    networks: { as: { file: asFile, hosting_asns: [64500] } },
  });
  const log = (): void => undefined;
  const make = () =>
    startGuard(config, {
      dataDir: dir,
      networks: new GuardNetworks(config.networks, dir, log),
      book: new DecisionBook(),
      live: true,
      log,
    });
  const [alone, fed] = await Promise.all([make(), make()]);
  try {
    const preparer = guardPreparer(fed.preparerInit);
    const t0 = Date.UTC(2026, 5, 1, 14, 0, 0);
    const keys = deriveGuardKeys(secret);
    const tokens = new FormTokens({ key: keys.formToken });
    const light = new AltchaPow({ keys, store: new MemoryOnceStore(), cost: 1, counter: 4 });
    const payload = async (form: string): Promise<string> =>
      (await solveAltcha(await light.challenge(form, 0, t0)))!.payload;
    const solved = await payload("petition");
    const subs: Submission[] = [];
    for (let i = 0; i < 40; i++) {
      const time = t0 + i * 1000;
      const s: Submission = {
        id: `s${i}`,
        kind: i % 3 === 0 ? "signup" : "form.submit",
        form: "petition",
        time,
        ip: i % 2 === 0 ? "192.0.2.7" : `2001:db8::${i % 5}`,
        // The same name again and again, in its variants: one identity.
        fields: { first: i % 2 === 0 ? "Jeff" : "JEFF", last: "Bézos", comment: `n°${i % 4}` },
        ...(i % 4 !== 3 && { email: i % 5 === 0 ? "not an address" : `j.b+${i}@gmail.com` }),
        ...(i % 3 !== 2 && { token: tokens.issue("petition", time - 10_000 * (i % 3)).token }),
        // One solution, sent again and again: the claim stays with the daemon's thread.
        ...(i % 2 === 0 && { altcha: i < 20 ? solved : await payload("signup") }),
      };
      subs.push(s);
    }
    const reasons = new Set<string>();
    for (const s of subs) {
      const a = await alone.guard.assess(s);
      const b = await fed.guard.assess(s, preparer.prepare(s));
      // A challenge is new each time (its nonce): whether one came is what must agree.
      const shape = (x: typeof a) => ({ ...x, challenge: x.challenge?.parameters !== undefined });
      assert.deepEqual(shape(b), shape(a), s.id);
      for (const r of a.reasons) reasons.add(r);
    }
    // The sequence reached the signals that the preparation carries.
    for (const r of [
      "pow-solved",
      "pow-reused",
      "pow-invalid",
      "token-missing",
      "token-too-fast",
      "bad-email",
      "identity-velocity",
      "hosting-network",
    ])
      assert.ok(reasons.has(r), `${r} in ${[...reasons].join(", ")}`);
  } finally {
    await Promise.all([alone.stop(), fed.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
});
