import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { DecisionChannel } from "./decision-channel.ts";

describe("DecisionChannel.payloads", () => {
  const channel = new DecisionChannel({ url: "postgres://localhost/x", schema: "site_a" });

  it("names one channel per schema", () => {
    assert.equal(channel.name, "rempart_decisions:site_a");
    assert.equal(
      new DecisionChannel({ url: "postgres://localhost/x" }).name,
      "rempart_decisions:public",
    );
  });

  it("announces any number of changes in payloads under PostgreSQL's 8000 bytes, none lost", () => {
    const added = Array.from({ length: 5000 }, () => randomUUID());
    const deleted = [
      ...Array.from({ length: 700 }, () => ({ id: randomUUID(), at: 1_000 })),
      ...Array.from({ length: 3 }, () => ({ id: randomUUID(), at: 2_000 })),
    ];
    const payloads = channel.payloads(added, deleted);
    assert.ok(payloads.length > 1);
    const gotAdded: string[] = [];
    const gotDeleted: { id: string; at: number }[] = [];
    for (const p of payloads) {
      assert.ok(Buffer.byteLength(p) < 8000, `${Buffer.byteLength(p)} bytes`);
      const m = JSON.parse(p) as { n: string; a?: string[]; d?: string[]; t?: number };
      assert.equal(m.n, channel.node, "each names this node, which ignores its own");
      if (m.a !== undefined) gotAdded.push(...m.a);
      else for (const id of m.d!) gotDeleted.push({ id, at: m.t! });
    }
    assert.deepEqual(gotAdded, added);
    assert.deepEqual(gotDeleted, deleted);
    assert.deepEqual(channel.payloads([], []), []);
  });
});
