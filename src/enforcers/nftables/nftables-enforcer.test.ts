import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ManualClock, type Decision, type DecisionChange } from "../../core/index.ts";
import { parseCidr, type IpRange } from "../../net/index.ts";
import { NftablesConfigSchema } from "./config.ts";
import { coveringRanges, NftablesEnforcer, spawnNft, type NftRunner } from "./nftables-enforcer.ts";
import { nftDuration } from "./nft-script.ts";

const T0 = 1_700_000_000_000;

const decision = (
  id: string,
  value: string,
  expiresAt: number | null,
  over: Partial<Decision> = {},
): Decision =>
  Object.freeze({
    id,
    action: "ban",
    scope: value.includes("/") ? "range" : "ip",
    value,
    createdAt: T0,
    expiresAt,
    origin: "manual",
    scenario: "t",
    reason: "t",
    offence: 0,
    tzOffset: 0,
    ...over,
  });

let seq = 0;
const change = (kind: DecisionChange["kind"], d: Decision): DecisionChange => ({
  seq: ++seq,
  kind,
  decision: d,
  at: T0,
});

/** Keeps the scripts it is given; fails the next one when told to. */
class Recorder implements NftRunner {
  readonly scripts: string[] = [];
  failNext = false;
  run(script: Iterable<string>): Promise<void> {
    this.scripts.push([...script].join(""));
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error("nft said no"));
    }
    return Promise.resolve();
  }
  get last(): string {
    return this.scripts.at(-1) ?? "";
  }
}

const setup = (over: Record<string, unknown> = {}, swapAt?: number) => {
  const runner = new Recorder();
  const clock = new ManualClock(T0);
  const config = NftablesConfigSchema.parse(over);
  const enforcer = new NftablesEnforcer(
    config,
    runner,
    clock,
    swapAt === undefined ? {} : { swapAt },
  );
  return { runner, clock, enforcer };
};

test("nftDuration spells out units nft 1.0.6 accepts beyond 2^32 ms", () => {
  assert.equal(nftDuration(1000), "1s");
  assert.equal(nftDuration(1500), "1s500ms");
  assert.equal(nftDuration(400 * 86_400_000), "400d");
  assert.equal(nftDuration(90_061_001), "1d1h1m1s1ms");
  assert.equal(nftDuration(0), "1ms");
});

test("coveringRanges keeps the ranges no other covers, per family", () => {
  const r = (s: string): IpRange => parseCidr(s)!;
  const out = coveringRanges(
    ["10.0.0.0/24", "10.0.0.0/8", "10.1.2.0/24", "11.0.0.0/16", "::/8", "2001:db8::/32"].map(r),
  );
  assert.deepEqual(
    out.map((x) => `${x.family}:${x.start}/${x.bits}`),
    [r("10.0.0.0/8"), r("11.0.0.0/16"), r("::/8"), r("2001:db8::/32")].map(
      (x) => `${x.family}:${x.start}/${x.bits}`,
    ),
    "an IPv4 range does not hide an IPv6 one with a small start",
  );
});

test("resync rebuilds the table in one script, with timeouts and aggregated ranges", async () => {
  const { runner, enforcer } = setup({ ports: [25, 443], verdict: "reject" });
  await enforcer.resync([
    decision("a", "192.0.2.1", T0 + 3_600_000),
    decision("b", "192.0.2.1", T0 + 7_200_000),
    decision("c", "2001:db8::1", null),
    decision("d", "198.51.100.0/24", null),
    decision("e", "198.51.100.128/25", null),
    decision("f", "203.0.113.7/32", T0 + 60_000),
    decision("g", "192.0.2.9", null, { action: "challenge" }),
    decision("h", "someone@example.org", null, { scope: "email" }),
  ]);
  assert.equal(runner.scripts.length, 1);
  const s = runner.last;
  assert.match(s, /^add table inet rempart\ndelete table inet rempart\nadd table inet rempart\n/);
  assert.match(s, /add chain inet rempart filter \{ type filter hook input priority -10;/);
  assert.match(
    s,
    /add rule inet rempart filter ip saddr @addr4 meta l4proto \{ tcp, udp \} th dport \{ 25, 443 \} reject/,
  );
  assert.match(s, /add rule inet rempart filter ip6 saddr @net6_1 .* reject/);
  // The elements of a set come in no particular order.
  const addr4 = /add element inet rempart addr4 \{ (.*) \}/.exec(s)?.[1]?.split(", ");
  assert.deepEqual(addr4?.sort(), ["192.0.2.1 timeout 2h", "203.0.113.7 timeout 1m"]);
  assert.match(s, /add element inet rempart addr6 \{ 2001:db8::1 \}/);
  assert.match(
    s,
    /add element inet rempart net4_1 \{ 198\.51\.100\.0\/24 \}/,
    "the /25 is covered",
  );
  assert.doesNotMatch(s, /192\.0\.2\.9|example\.org/, "other actions and scopes are ignored");
  assert.deepEqual(enforcer.size, { addresses: 2 + 1, ranges: 1 });
});

test("deltas: additions, safe deletions, longer bans and range changes in one script", async () => {
  const { runner, clock, enforcer } = setup();
  const a = decision("a", "192.0.2.1", T0 + 60_000);
  const net = decision("n", "198.51.100.0/24", null);
  await enforcer.resync([a, net]);

  clock.advance(T0 + 1000);
  const b = decision("b", "192.0.2.2", T0 + 11_000);
  const a2 = decision("a2", "192.0.2.1", T0 + 121_000);
  const wide = decision("w", "198.51.0.0/16", null);
  await enforcer.apply([change("added", b), change("added", a2), change("added", wide)]);
  const s = runner.last;
  assert.equal(runner.scripts.length, 2);
  assert.match(
    s,
    /add element inet rempart addr4 \{ 192\.0\.2\.1 timeout 1s \}\ndelete element inet rempart addr4 \{ 192\.0\.2\.1 \}\nadd element inet rempart addr4 \{ 192\.0\.2\.2 timeout 10s, 192\.0\.2\.1 timeout 2m \}/,
    "a longer ban replaces the element (add-then-delete never fails on an expired one)",
  );
  assert.match(
    s,
    /delete element inet rempart net4_1 \{ 198\.51\.100\.0\/24 \}\nadd element inet rempart net4_1 \{ 198\.51\.0\.0\/16 \}/,
    "the covering range replaces the covered one",
  );

  await enforcer.apply([change("removed", a)]);
  assert.equal(runner.scripts.length, 2, "the other decision still holds 192.0.2.1 as long");

  await enforcer.apply([change("removed", wide)]);
  assert.match(
    runner.last,
    /delete element inet rempart net4_1 \{ 198\.51\.0\.0\/16 \}\nadd element inet rempart net4_1 \{ 198\.51\.100\.0\/24 \}/,
    "the covered range comes back",
  );
  await enforcer.apply([change("removed", a2), change("removed", b)]);
  assert.match(
    runner.last,
    /add element inet rempart addr4 \{ 192\.0\.2\.1 timeout 1s, 192\.0\.2\.2 timeout 1s \}\ndelete element inet rempart addr4 \{ 192\.0\.2\.1, 192\.0\.2\.2 \}\n$/,
  );
  assert.deepEqual(enforcer.size, { addresses: 0, ranges: 1 });
});

test("a large interval change builds a new set and points the rules at it", async () => {
  const { runner, enforcer } = setup({}, 1);
  await enforcer.resync([decision("a", "10.0.0.0/24", null), decision("b", "10.0.1.0/24", null)]);
  await enforcer.apply([change("added", decision("c", "10.0.2.0/24", null))]);
  const s = runner.last;
  assert.match(s, /add set inet rempart net4_2 \{ type ipv4_addr; flags interval; \}/);
  assert.match(
    s,
    /add element inet rempart net4_2 \{ 10\.0\.0\.0\/24, 10\.0\.1\.0\/24, 10\.0\.2\.0\/24 \}/,
  );
  assert.match(s, /flush chain inet rempart filter\n.*@addr4 drop\n.*ip saddr @net4_2 drop\n/);
  assert.match(s, /ip6 saddr @net6_1 drop\ndelete set inet rempart net4_1\n$/);
  await enforcer.apply([change("added", decision("d", "10.0.3.0/24", null))]);
  assert.match(runner.last, /add set inet rempart net4_3 /);
});

test("a failed script leaves the interval state as it was, for the resync that follows", async () => {
  const { runner, enforcer } = setup();
  await enforcer.resync([]);
  runner.failNext = true;
  await assert.rejects(enforcer.apply([change("added", decision("n", "10.0.0.0/8", null))]));
  assert.deepEqual(enforcer.size, { addresses: 0, ranges: 0 });
  await enforcer.resync([decision("n", "10.0.0.0/8", null)]);
  assert.match(runner.last, /add element inet rempart net4_2 \{ 10\.0\.0\.0\/8 \}/);
});

test("the configuration is strict and says where it is wrong", () => {
  const bad = NftablesConfigSchema.safeParse({ ports: [0], verdict: "accept", tabel: "x" });
  assert.equal(bad.success, false);
  const paths = bad.error.issues.map((i) => i.path.join("."));
  assert.ok(paths.includes("ports") || paths.includes("ports.0"), paths.join(","));
  assert.ok(paths.includes("verdict"));
  assert.ok(bad.error.issues.some((i) => i.code === "unrecognized_keys"));
  assert.equal(NftablesConfigSchema.safeParse({ table: "bad name" }).success, false);
});

test("spawnNft writes the script's pieces to the command as they come, and reports its failure", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rempart-nft-"));
  try {
    const file = join(dir, "script");
    const pieces = Array.from({ length: 300 }, (_, i) => `line ${i} ${"x".repeat(1000)}\n`);
    let read = 0;
    const counted = (function* () {
      for (const p of pieces) {
        read++;
        yield p;
      }
    })();
    await spawnNft(["sh", "-c", `cat > '${file}'`]).run(counted);
    assert.equal(read, pieces.length);
    assert.equal(readFileSync(file, "utf8"), pieces.join(""));
    // A command that dies before reading: the run ends, rejected with its status.
    await assert.rejects(
      spawnNft(["sh", "-c", "echo no >&2; exit 3"]).run(pieces),
      /exited with 3: no/,
    );
    await assert.rejects(spawnNft([join(dir, "missing")]).run(pieces), /cannot run/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a large resync is written in statements of at most 4096 elements, each whole", async () => {
  const { runner, enforcer } = setup();
  const n = 2 * 4096 + 300;
  const ds = Array.from({ length: n }, (_, i) =>
    decision(`d${i}`, `10.${i >>> 16}.${(i >>> 8) & 255}.${i & 255}`, null),
  );
  await enforcer.resync([...ds, decision("r", "198.51.100.0/24", null)]);
  const lines = runner.last.split("\n");
  assert.equal(lines.at(-1), "", "the script ends with a newline");
  const statements = lines.filter((l) => l.startsWith("add element inet rempart addr4 "));
  assert.deepEqual(
    statements.map(
      (l) => /^add element inet rempart addr4 \{ (.*) \}$/.exec(l)?.[1]?.split(", ").length,
    ),
    [4096, 4096, 300],
  );
  const seen = statements.flatMap((l) => l.slice(l.indexOf("{ ") + 2, -2).split(", "));
  assert.deepEqual(seen.sort(), ds.map((d) => d.value).sort());
  assert.ok(lines.includes("add element inet rempart net4_1 { 198.51.100.0/24 }"));
  assert.ok(
    !lines.some((l) => l.startsWith("add element inet rempart addr6")),
    "no empty statement",
  );
});
