/**
 * The nftables enforcer against the real kernel and the real nft, in two network namespaces
 * the test creates (10.251.7.0/24 exists only inside them): banned sources cannot connect,
 * others can, a range ban works, the kernel expires a ban on time, and a deletion lifts one.
 * Needs root, `ip` (iproute2) and `nft` (nftables); .ci/run installs both.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { isRempartError, systemClock, type Decision } from "../../src/core/index.ts";
import { DecisionBook, DecisionFeed } from "../../src/decisions/index.ts";
import { nftablesPlugin, NftablesConfigSchema } from "../../src/enforcers/nftables/index.ts";
import { canConnect, createNetnsPair, netnsUnavailable, tcpServerIn } from "../support/netns.ts";

const missing = netnsUnavailable([{ cmd: "nft", pkg: "nftables" }]);
const PORT = 2525;

const ban = (id: string, value: string, expiresAt: number | null): Decision =>
  Object.freeze({
    id,
    action: "ban",
    scope: value.includes("/") ? "range" : "ip",
    value,
    createdAt: Date.now(),
    expiresAt,
    origin: "manual",
    scenario: "e2e",
    reason: "e2e",
    offence: 0,
    tzOffset: 0,
  });

test(
  "nftables: bans drop traffic in a namespace, ranges too; expiry and deletion lift them",
  { skip: missing, timeout: 120_000 },
  async () => {
    const net = createNetnsPair("nft", "10.251.7", 4); // client .2 .3 .4 .5 .6
    const [ok, banned, inRange, inRange2, shortLived] = net.clientIps as [
      string,
      string,
      string,
      string,
      string,
    ];
    const server = await tcpServerIn(net.server, net.serverIp, PORT);
    const book = new DecisionBook();
    const feed = new DecisionFeed();
    const logs: string[] = [];
    const service = nftablesPlugin.create(
      NftablesConfigSchema.parse({
        command: ["ip", "netns", "exec", net.server, "nft"],
        ports: [PORT, 25],
        batch_ms: 10,
      }),
      { book, feed, clock: systemClock, log: (l) => logs.push(l) },
    );
    const decide = (d: Decision): void => {
      book.add(d);
      feed.push("added", d, Date.now());
    };
    const lift = (d: Decision): void => {
      book.remove(d.id);
      feed.push("removed", d, Date.now());
    };
    const reaches = (from: string): boolean => canConnect(net.client, from, net.serverIp, PORT);
    try {
      assert.ok(reaches(banned), "before any ban every client connects");
      const first = ban("a", banned, Date.now() + 3_600_000);
      book.add(first);
      await service.start();
      assert.ok(reaches(ok), `${ok} is not banned`);
      assert.ok(!reaches(banned), `${banned} is banned at start (resync)`);

      const range = ban("r", "10.251.7.4/31", null);
      const short = ban("s", shortLived, Date.now() + 5000);
      decide(range);
      decide(short);
      await sleep(300);
      const listed = net.exec(net.server, ["nft", "list", "table", "inet", "rempart"]);
      assert.match(listed, /10\.251\.7\.4\/31/);
      assert.match(listed, new RegExp(`${shortLived.replaceAll(".", "\\.")} timeout`));
      assert.ok(!reaches(shortLived), `${shortLived} is banned for 5 s`);
      assert.ok(!reaches(inRange), `${inRange} is inside the banned range`);
      assert.ok(!reaches(inRange2), `${inRange2} is inside the banned range`);

      // No removal is sent: the kernel alone must expire the element.
      await sleep(Math.max(0, short.expiresAt! - Date.now()) + 500);
      assert.ok(reaches(shortLived), "the element's timeout lifted the ban");

      lift(first);
      lift(range);
      lift(short); // already gone from the kernel: must not fail the batch
      await sleep(300);
      assert.ok(reaches(banned), "deleting the decision lifted the ban");
      assert.ok(reaches(inRange), "deleting the range lifted its ban");
      assert.deepEqual(
        logs.filter((l) => l.includes("nftables")),
        [],
        "no batch failed (no resync was needed)",
      );
      assert.match(service.describe(), /table inet rempart/);
    } finally {
      await service.stop();
      server.stop();
      net.destroy();
    }
  },
);

test(
  "nftables: a table of that name that is not Rempart's is refused, and left as it was",
  { skip: missing, timeout: 60_000 },
  async () => {
    const net = createNetnsPair("nftown", "10.251.8");
    const nft = ["ip", "netns", "exec", net.server, "nft"];
    // Debian's stock /etc/nftables.conf: table inet filter, with the operator's own chains.
    net.exec(
      net.server,
      ["nft", "-f", "-"],
      "table inet filter {\n chain input { type filter hook input priority 0; policy accept; tcp dport 22 accept; }\n chain forward { type filter hook forward priority 0; policy drop; }\n}\n",
    );
    const start = async (config: Record<string, unknown>) => {
      const service = nftablesPlugin.create(NftablesConfigSchema.parse(config), {
        book: new DecisionBook(),
        feed: new DecisionFeed(),
        clock: systemClock,
        log: () => undefined,
      });
      try {
        await service.start();
      } finally {
        await service.stop();
      }
    };
    try {
      await assert.rejects(
        start({ command: nft, table: "filter" }),
        (e: unknown) =>
          isRempartError(e) &&
          e.code === "CONFIG_INVALID" &&
          /table inet filter already exists and holds what Rempart did not make \(chain input, chain forward\)/.test(
            e.message,
          ),
      );
      const kept = net.exec(net.server, ["nft", "list", "table", "inet", "filter"]);
      assert.match(kept, /chain forward/);
      assert.match(kept, /tcp dport 22 accept/);
      // Its own table, made by an earlier run, is rebuilt as before.
      await start({ command: nft });
      await start({ command: nft });
      assert.match(net.exec(net.server, ["nft", "list", "tables"]), /table inet rempart/);
      // No nft at all: said, with what to install, not a stack trace.
      await assert.rejects(
        start({ command: ["/nonexistent/nft"] }),
        (e: unknown) =>
          isRempartError(e) &&
          e.code === "UNAVAILABLE" &&
          /cannot run \/nonexistent\/nft/.test(e.message) &&
          /install Debian's nftables package/.test(e.hint ?? ""),
      );
    } finally {
      net.destroy();
    }
  },
);
