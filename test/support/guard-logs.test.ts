import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { AsDatabase, PACKAGE_AS_FILES } from "../../src/guard/networks/index.ts";
import { guardBrowser } from "./guard-browser.ts";
import { BENCH_SECRET } from "./guard-score.ts";
import { prng, type AppEvent, type Truth } from "./guard-world.ts";
import { writePetition } from "./petition-log.ts";
import { writeSignups } from "./signup-log.ts";

const jsonLines = async <T>(path: string): Promise<T[]> =>
  (await readFile(path, "utf8"))
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as T);

describe("the guard's replay logs", () => {
  let dir: string;
  const as = new AsDatabase({ files: PACKAGE_AS_FILES });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rempart-guard-logs-"));
    await as.start();
  });

  it("writes the same petition for the same seed, in time order, with unique ids and no truth inside", async () => {
    const small = { real: 600, scale: 0.01, seed: 7 };
    await writePetition(join(dir, "a.jsonl"), join(dir, "a.truth"), small);
    await writePetition(join(dir, "b.jsonl"), join(dir, "b.truth"), small);
    const a = await readFile(join(dir, "a.jsonl"), "utf8");
    assert.equal(a, await readFile(join(dir, "b.jsonl"), "utf8"));
    const events = await jsonLines<AppEvent>(join(dir, "a.jsonl"));
    const truth = await jsonLines<Truth>(join(dir, "a.truth"));
    assert.equal(new Set(events.map((e) => e.id)).size, events.length);
    assert.deepEqual(
      truth.map((t) => t.id),
      events.map((e) => e.id),
    );
    const times = events.map((e) => Date.parse(e.time));
    assert.ok(times.every((t, i) => i === 0 || t >= times[i - 1]!));
    assert.ok(!/"(truth|campaign|fake|real)"/.test(a), "the events never say what they are");
    assert.ok(truth.some((t) => t.truth === "real") && truth.some((t) => t.truth === "fake"));
  });

  it("puts the seed's attackers in one hosting AS and real homes in French residential ones", async () => {
    await writePetition(join(dir, "p.jsonl"), join(dir, "p.truth"), {
      real: 2_000,
      scale: 0.02,
      seed: 8,
    });
    const events = await jsonLines<AppEvent>(join(dir, "p.jsonl"));
    const truth = new Map((await jsonLines<Truth>(join(dir, "p.truth"))).map((t) => [t.id, t]));
    const asOf = (campaign: string): number[] =>
      events
        .filter((e) => truth.get(e.id)?.campaign === campaign)
        .map((e) => as.lookup(e.source.ip)?.asn ?? 0);
    const bezos = asOf("bezos");
    const owner = bezos.filter((a) => a === 16276).length;
    assert.ok(owner / bezos.length > 0.97, `${owner} of ${bezos.length} from the owner's AS`);
    const homes = events.filter((e) => truth.get(e.id)?.campaign === "real-home");
    const residential = homes.filter((e) =>
      [3215, 12322, 15557, 5410].includes(as.lookup(e.source.ip)?.asn ?? 0),
    );
    assert.equal(residential.length, homes.length);
    assert.ok(homes.every((e) => as.lookup(e.source.ip)?.hosting === false));
  });

  it("gives real browsers a valid token and solution, and scripted sign-ups a Tor list that matches", async () => {
    const browser = guardBrowser({ secret: BENCH_SECRET, rnd: prng(3) });
    const tor = join(dir, "tor.txt");
    await writeSignups(join(dir, "s.jsonl"), join(dir, "s.truth"), tor, {
      real: 100,
      days: 10,
      scale: 0.2,
      seed: 9,
      browser,
    });
    const events = await jsonLines<AppEvent>(join(dir, "s.jsonl"));
    const truth = new Map((await jsonLines<Truth>(join(dir, "s.truth"))).map((t) => [t.id, t]));
    const exits = new Set((await readFile(tor, "utf8")).split("\n").filter((l) => l !== ""));
    const signups = events.filter((e) => e.type === "signup");
    assert.equal(signups.length, truth.size);
    const torSignups = signups.filter((e) => truth.get(e.id)?.campaign === "tor");
    assert.ok(torSignups.length > 0 && torSignups.every((e) => exits.has(e.source.ip)));
    const real = signups.filter((e) => truth.get(e.id)?.truth === "real");
    assert.ok(real.every((e) => typeof e.client?.token === "string" && e.client.token.length > 40));
    assert.ok(real.filter((e) => e.client?.altcha !== undefined).length >= real.length * 0.95);
    assert.ok(
      events.some((e) => e.type === "payment.confirmed") &&
        events.some((e) => e.type === "email.confirmed"),
    );
  });
});
