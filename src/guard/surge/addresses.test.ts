import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { GENERATIONS, hitsOf, NO_AS, packHits, SurgeAddresses } from "./addresses.ts";

/** Addresses of both families, and one longer than a key held in place. */
const POOL = [
  ...Array.from({ length: 12 }, (_, i) => `198.51.100.${i}`),
  ...Array.from({ length: 6 }, (_, i) => `2001:db8:${i}:ffff:ffff:ffff:ffff:ffff`),
  "0000:0000:0000:0000:0000:ffff:192.0.2.1%interface-name",
];
const MAX = 8;
const WINDOW = 5;
const KNOWN = 20;

interface Seen {
  first: number;
  last: number;
  win: number;
  pages: number;
  assets: number;
  surge: number;
  hits: number;
}

describe("SurgeAddresses", () => {
  it("remembers each address as a model of it does, and a reused id never inherits hits", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            ip: fc.nat(POOL.length - 1),
            dt: fc.oneof(fc.nat(3), fc.constant(KNOWN)),
            kind: fc.constantFrom("page", "asset", "surge"),
          }),
          { maxLength: 300 },
        ),
        (steps) => {
          const a = new SurgeAddresses(MAX, WINDOW, KNOWN);
          // Insertion order is recency: the first entry is the least recently seen.
          const model = new Map<string, Seen>();
          const ids = new Map<string, number>();
          const hits = new Map<number, number>();
          let t = 1000;
          for (const step of steps) {
            t += step.dt;
            const ip = POOL[step.ip]!;
            // A few of the least recent not seen for KNOWN go, then the least recent if full.
            let budget = 2;
            for (const [k, m] of model) {
              if (budget-- === 0 || m.last > t - KNOWN) break;
              model.delete(k);
            }
            let m = model.get(ip);
            if (m === undefined) {
              if (model.size === MAX) model.delete(model.keys().next().value!);
              m = { first: t, last: t, win: t, pages: 0, assets: 0, surge: 0, hits: 0 };
            } else {
              model.delete(ip);
              m.last = Math.max(m.last, t);
              if (t - m.win > WINDOW) Object.assign(m, { win: t, pages: 0, assets: 0, surge: 0 });
            }
            model.set(ip, m);

            const id = a.touch(ip, t);
            ids.set(ip, id);
            const gen = a.generation(id);
            if (step.kind === "page") {
              a.addPage(id);
              m.pages++;
            } else if (step.kind === "asset") {
              a.addAsset(id);
              m.assets++;
            } else assert.equal(a.addSurge(id), ++m.surge);
            hits.set(id, packHits(hitsOf(hits, id, gen) + 1, gen));
            m.hits++;

            assert.equal(a.size, model.size);
            for (const [k, s] of model) {
              const i = ids.get(k)!;
              assert.equal(a.ip(i), k);
              assert.equal(a.first(i), s.first);
              assert.deepEqual(
                [a.pages(i), a.assets(i), a.surge(i)],
                [s.pages, s.assets, s.surge],
                k,
              );
              assert.equal(hitsOf(hits, i, a.generation(i)), s.hits, `hits of ${k}`);
            }
          }
        },
      ),
    );
  });

  it("forgets every address not seen since the horizon", () => {
    const a = new SurgeAddresses(100, WINDOW, 1_000_000);
    for (let i = 0; i < 50; i++) a.touch(`192.0.2.${i}`, i);
    // Seen last, at an earlier time (events out of order): it goes too.
    a.touch("198.51.100.1", 5);
    a.sweep(29);
    assert.equal(a.size, 20);
    const id = a.touch("192.0.2.10", 100);
    assert.equal(a.first(id), 100, "seen anew");
    assert.equal(a.size, 21);
  });

  it("looks an address's AS up once, with the address it holds", () => {
    const a = new SurgeAddresses(10, WINDOW, KNOWN);
    const asked: string[] = [];
    const lookup = (ip: string): number => {
      asked.push(ip);
      return ip.startsWith("192.") ? 64500 : NO_AS;
    };
    const v4 = a.touch("192.0.2.1", 1);
    const v6 = a.touch("2001:db8::1", 1);
    assert.equal(a.asn(v4, lookup), 64500);
    assert.equal(a.asn(v4, lookup), 64500);
    assert.equal(a.asn(v6, lookup, "2001:db8::1"), NO_AS);
    assert.equal(a.asn(v6, lookup), NO_AS);
    assert.deepEqual(asked, ["192.0.2.1", "2001:db8::1"]);
  });

  it("keeps large counts exact past the packing's small integers", () => {
    const hits = new Map<number, number>();
    const big = 2 ** 40;
    hits.set(3, packHits(big, GENERATIONS - 1));
    assert.equal(hitsOf(hits, 3, GENERATIONS - 1), big);
    assert.equal(hitsOf(hits, 3, 0), 0);
    assert.equal(hitsOf(hits, 4, 0), 0);
  });
});
