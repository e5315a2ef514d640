import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { confidenceOf, NETWORK_SHARE, ReputationBook } from "./reputation-book.ts";

const DAY = 86_400_000;
const T0 = 1_700_000_000_000;

const report = (ip: string, time: number, weight = 1, reporter = "rempart", categories = [18]) => ({
  ip,
  time,
  weight,
  reporter,
  categories,
});

void describe("ReputationBook", () => {
  void it("halves a score each half-life, and adds reports", () => {
    const book = new ReputationBook({ halfLifeMs: 7 * DAY, maxEntries: 1000 });
    book.add(report("192.0.2.7", T0));
    book.add(report("192.0.2.7", T0, 1, "key:f2b"));
    const now = book.standing("192.0.2.7", T0);
    assert.equal(now.address?.score, 2);
    assert.equal(now.address?.reports, 2);
    assert.equal(now.address?.reporters, 2);
    assert.deepEqual(now.address?.categories, [18]);
    const week = book.standing("192.0.2.7", T0 + 7 * DAY);
    assert.ok(Math.abs(week.address!.score - 1) < 1e-9);
    assert.ok(week.confidence < now.confidence);
  });

  void it("gives the same score whatever the order reports arrive in", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 60 * DAY }),
            w: fc.double({ min: 0.1, max: 3, noNaN: true }),
          }),
          {
            minLength: 1,
            maxLength: 20,
          },
        ),
        (reports) => {
          const forward = new ReputationBook({ halfLifeMs: 7 * DAY, maxEntries: 1000 });
          const backward = new ReputationBook({ halfLifeMs: 7 * DAY, maxEntries: 1000 });
          for (const r of reports) forward.add(report("198.51.100.1", T0 + r.at, r.w));
          for (const r of reports.toReversed())
            backward.add(report("198.51.100.1", T0 + r.at, r.w));
          const at = T0 + 61 * DAY;
          const expected = reports.reduce(
            (sum, r) => sum + r.w * 2 ** (-(at - T0 - r.at) / (7 * DAY)),
            0,
          );
          const a = forward.standing("198.51.100.1", at).address!.score;
          const b = backward.standing("198.51.100.1", at).address!.score;
          assert.ok(Math.abs(a - expected) < 1e-9 * Math.max(1, expected), `${a} vs ${expected}`);
          assert.ok(Math.abs(a - b) < 1e-9 * Math.max(1, expected));
        },
      ),
    );
  });

  void it("lets a network's reports weigh on its other addresses, at a share", () => {
    const book = new ReputationBook({ halfLifeMs: 7 * DAY, maxEntries: 1000 });
    for (let i = 1; i <= 8; i++) book.add(report(`203.0.113.${i}`, T0));
    book.add(report("2001:db8:1:2::5", T0));
    const neighbour = book.standing("203.0.113.200", T0);
    assert.equal(neighbour.address, undefined);
    assert.equal(neighbour.network?.prefix, "203.0.113.0/24");
    assert.equal(neighbour.score, 8 * NETWORK_SHARE);
    assert.equal(book.confidence("203.0.113.200", T0), confidenceOf(8 * NETWORK_SHARE));
    assert.equal(book.standing("2001:db8:1:2:ffff::1", T0).network?.prefix, "2001:db8:1:2::/64");
    assert.equal(book.confidence("2001:db8:1:3::1", T0), 0);
    assert.equal(book.confidence("198.51.100.1", T0), 0);
  });

  void it("forgets an address, and its weight in its network, exactly", () => {
    const book = new ReputationBook({ halfLifeMs: DAY, maxEntries: 1000 });
    const guilty = [report("192.0.2.9", T0), report("192.0.2.9", T0 + 2 * DAY, 2)];
    for (const r of guilty) book.add(r);
    book.add(report("192.0.2.10", T0 + DAY));
    book.forget("192.0.2.9", guilty);
    assert.equal(book.standing("192.0.2.9", T0 + 3 * DAY).address, undefined);
    const only = new ReputationBook({ halfLifeMs: DAY, maxEntries: 1000 });
    only.add(report("192.0.2.10", T0 + DAY));
    const left = book.standing("192.0.2.11", T0 + 3 * DAY).network!.score;
    assert.ok(Math.abs(left - only.standing("192.0.2.11", T0 + 3 * DAY).network!.score) < 1e-12);
    book.forget("192.0.2.10", [report("192.0.2.10", T0 + DAY)]);
    assert.equal(book.size, 0, "a network with nothing left goes too");
  });

  void it("maps scores to a confidence that saturates", () => {
    assert.equal(confidenceOf(0), 0);
    assert.equal(confidenceOf(1), 29);
    assert.equal(confidenceOf(2), 50);
    assert.equal(confidenceOf(4), 75);
    assert.equal(confidenceOf(100), 100);
  });

  void it("forgets the least suspect entries past maxEntries, and keeps the worst", () => {
    const book = new ReputationBook({ halfLifeMs: DAY, maxEntries: 1000 });
    for (let i = 0; i < 5; i++) book.add(report("192.0.2.1", T0 + 10 * DAY, 1));
    for (let i = 0; i < 3000; i++)
      book.add(report(`10.${i >> 8}.${i & 255}.1`, T0 + i * 1000, 0.1));
    assert.ok(book.size <= 1000, `${book.size} entries`);
    assert.ok(book.standing("192.0.2.1", T0 + 10 * DAY).address !== undefined);
  });

  void it("lists addresses at or above a confidence", () => {
    const book = new ReputationBook({ halfLifeMs: DAY, maxEntries: 1000 });
    for (let i = 0; i < 4; i++) book.add(report("192.0.2.1", T0, 1, `r${i}`));
    book.add(report("198.51.100.2", T0));
    // 4 reports, and its /24's 4 at a quarter.
    assert.deepEqual(
      [...book.listed(60, T0)],
      [{ ip: "192.0.2.1", confidence: confidenceOf(5), last: T0 }],
    );
    assert.deepEqual([...book.listed(60, T0 + 2 * DAY)], []);
  });
});
