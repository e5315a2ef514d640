/**
 * Several nodes on one database (KyselyStorageOptions.node): each keeps its own read positions
 * and detection state, and a node without any yet takes over what was saved before nodes had
 * names. Shown on SQLite in memory: the SQL is the one PostgreSQL runs (where it matters), and
 * daemon-shared.test.ts runs the daemons on a real PostgreSQL.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Checkpoint, SourcePosition } from "../core/ports.ts";
import { KyselyStorage } from "./kysely-storage.ts";
import { openSqlite } from "./sqlite/sqlite-storage.ts";

const checkpoint = (parts: Partial<Checkpoint>): Checkpoint => ({
  decisions: [],
  deletedDecisions: [],
  alerts: [],
  positions: [],
  state: [],
  ...parts,
});
const position = (inode: string, offset: number): SourcePosition => ({
  source: "mail",
  path: "/var/log/mail.log",
  inode,
  offset,
  head: "h",
});
const state = (scenario: string, value: string) => ({
  scenario,
  key: "192.0.2.7",
  state: value,
  expiresAt: 9_000,
});

void describe("storage scoped to a node", () => {
  void it("keeps each node's positions and detection state apart, under the same names", async () => {
    const db = openSqlite(":memory:");
    const legacy = new KyselyStorage(db);
    await legacy.migrate();
    const mx1 = new KyselyStorage(db, { node: "mx1" });
    const mx2 = new KyselyStorage(db, { node: "mx2" });

    // Saved before nodes had names: both nodes start from it.
    await legacy.commit(
      checkpoint({
        positions: [position("11", 100)],
        state: [state("mail-bruteforce", "old"), state("#pipeline-clock", "5")],
      }),
    );
    for (const node of [mx1, mx2]) {
      assert.deepEqual(await node.positions("mail"), [position("11", 100)]);
      assert.deepEqual(
        (await node.detectionState(0)).map((r) => `${r.scenario}=${r.state}`),
        ["#pipeline-clock=5", "mail-bruteforce=old"],
      );
    }

    // Each writes its own; neither sees the other's, nor the old rows any longer.
    await mx1.commit(
      checkpoint({ positions: [position("21", 200)], state: [state("mail-bruteforce", "one")] }),
    );
    await mx2.commit(
      checkpoint({ positions: [position("31", 300)], state: [state("mail-bruteforce", "two")] }),
    );
    assert.deepEqual(await mx1.positions("mail"), [position("21", 200)]);
    assert.deepEqual(await mx2.positions("mail"), [position("31", 300)]);
    assert.deepEqual(
      (await mx1.detectionState(0)).map((r) => `${r.scenario}=${r.state}`),
      ["mail-bruteforce=one"],
    );
    assert.deepEqual(
      (await mx2.detectionState(0)).map((r) => `${r.scenario}=${r.state}`),
      ["mail-bruteforce=two"],
    );
    // A deletion (an empty state) is the node's own too.
    await mx1.commit(checkpoint({ state: [state("mail-bruteforce", "")] }));
    assert.equal((await mx2.detectionState(0)).length, 1);
    // Without a name, a single daemon reads what it always did.
    assert.deepEqual(await legacy.positions("mail"), [position("11", 100)]);
    await legacy.close();
  });
});
