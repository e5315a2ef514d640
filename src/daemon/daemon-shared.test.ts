/**
 * Two daemons on one PostgreSQL, as two nodes of one site run (docs/running.md, "Several
 * nodes"): what one decides or ends, the other enforces within a moment, without a restart;
 * and what one missed while its listening connection was down, it finds when it comes back.
 * Runs when REMPART_TEST_POSTGRES_URL is set, in a schema of its own, dropped after.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { appendFile, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Decision } from "../core/index.ts";
import { openStorage } from "../storage/index.ts";
import {
  POSTGRES_SKIP,
  sqlOn,
  TEST_POSTGRES_URL,
  testSchema,
} from "../storage/postgres/test-schema.ts";
import { ConfigSchema, type Config } from "./config.ts";
import { Daemon } from "./daemon.ts";

/** Waits until `holds` is true, at most `ms`. */
async function until(holds: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!holds()) {
    if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

const ban = (value: string, durationMs = 3_600_000) => ({
  action: "ban" as const,
  scope: "ip" as const,
  value,
  durationMs,
  reason: "test",
  author: "test",
});

test(
  "two nodes on one PostgreSQL enforce each other's decisions live, and catch up after a lost connection",
  TEST_POSTGRES_URL === undefined ? { skip: POSTGRES_SKIP } : { timeout: 60_000 },
  async (t) => {
    const { schema, url } = await testSchema((fn) => t.after(fn));
    const logs: Record<string, string[]> = {};
    const open = async (name: string, share = true): Promise<Daemon> => {
      const lines: string[] = (logs[name] = []);
      const dir = await mkdtemp(join(tmpdir(), `rempart-shared-${name}-`));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const parsed = ConfigSchema.parse({
        data_dir: dir,
        storage: { postgres_url: url, share_decisions: share },
      });
      const config: Config = { ...parsed, sources: [], origin: "test", autodetected: false };
      const d = await Daemon.open(config, { hostAddresses: [], log: (l) => lines.push(l) });
      await d.start();
      t.after(() => d.stop());
      return d;
    };
    const a = await open("a");
    const b = await open("b");
    const seenByB: string[] = [];
    b.onDecision((d, kind) => seenByB.push(`${kind} ${d.value}`));
    const holds = (node: Daemon, ip: string): readonly Decision[] =>
      node.check({ ip }).filter((d) => d.action === "ban");

    await t.test("a decision made on one node is enforced by the other", async () => {
      const made = await a.addDecision(ban("192.0.2.10"));
      assert.equal(made.kind, "created");
      await until(() => holds(b, "192.0.2.10").length === 1, "b holds a's ban");
      assert.equal(holds(b, "192.0.2.10")[0]!.id, made.kind === "created" ? made.decision.id : "");
      assert.deepEqual(seenByB, ["new 192.0.2.10"], "b's enforcers were told");
      // b does not write it again, nor announce it back: a still holds it once.
      await sleep(300);
      assert.equal(holds(a, "192.0.2.10").length, 1);
      const rows = await sqlOn(`select count(*)::int as n from ${schema}.decisions`);
      assert.equal(rows.rows[0]!.n, 1);
      // Its report is written once, by a; b scores it too, from the shared decision.
      const reports = await sqlOn(`select count(*)::int as n from ${schema}.reports`);
      assert.equal(reports.rows[0]!.n, 1);
      assert.ok(b.reputation.book.confidence("192.0.2.10", Date.now()) > 0, "b scores a's ban");
    });

    await t.test("a decision the other node holds already covers a node's own wish", async () => {
      const wish = await b.addDecision(ban("192.0.2.10", 600_000));
      assert.equal(wish.kind, "merged", "no second, shorter ban for the same address");
    });

    await t.test("a decision ended on one node ends on the other", async () => {
      const id = holds(a, "192.0.2.10")[0]!.id;
      assert.ok(await a.deleteDecision(id));
      await until(() => holds(b, "192.0.2.10").length === 0, "b lets it go");
      assert.deepEqual(seenByB.slice(1), ["ended 192.0.2.10"]);
    });

    await t.test(
      "a longer decision that replaces a shorter one replaces it everywhere",
      async () => {
        await b.addDecision(ban("192.0.2.11", 600_000));
        await until(() => holds(a, "192.0.2.11").length === 1, "a holds b's short ban");
        const longer = await b.addDecision(ban("192.0.2.11", 7_200_000));
        assert.equal(longer.kind, "created");
        await until(
          () =>
            holds(a, "192.0.2.11").length === 1 &&
            holds(a, "192.0.2.11")[0]!.id === (longer.kind === "created" ? longer.decision.id : ""),
          "a holds the longer ban alone",
        );
      },
    );

    await t.test(
      "what a node missed while not listening, it finds when it listens again",
      async () => {
        const other = await a.addDecision(ban("192.0.2.12"));
        await until(() => holds(b, "192.0.2.12").length === 1, "b holds 192.0.2.12");
        // Cut b's listening connection (and a's: both have the one name), then change things
        // while it is down: a new ban, and the end of one b holds.
        const cut = await sqlOn(
          `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'rempart listen rempart_decisions:${schema}'`,
        );
        assert.ok(cut.rowCount! >= 1, "the listening connections were found");
        const missed = await a.addDecision(ban("192.0.2.13"));
        assert.ok(await a.deleteDecision(other.kind === "created" ? other.decision.id : ""));
        await until(
          () => holds(b, "192.0.2.13").length === 1 && holds(b, "192.0.2.12").length === 0,
          "b caught up after reconnecting",
        );
        assert.equal(missed.kind, "created");
        assert.ok(
          logs.b!.includes(
            "rempart: shared decisions: 1 added and 1 ended after comparing with the database",
          ),
          logs.b!.join("\n"),
        );
        // And the channel works again after it.
        await a.addDecision(ban("192.0.2.14"));
        await until(() => holds(b, "192.0.2.14").length === 1, "b hears of the next one");
      },
    );

    await t.test(
      "5,000 decisions written in one transaction reach the other node, all",
      async () => {
        // As a list import or a command writing to the database directly would.
        const writer = await openStorage({ kind: "postgres", url: url });
        t.after(() => writer.close());
        const now = Date.now();
        const many: Decision[] = Array.from({ length: 5000 }, (_, i) => ({
          id: randomUUID(),
          action: "ban",
          scope: "ip",
          value: `2001:db8::${i.toString(16)}`,
          createdAt: now,
          expiresAt: now + 3_600_000,
          origin: "manual",
          scenario: "bulk",
          reason: "test",
          offence: 0,
          tzOffset: 0,
        }));
        await writer.addDecisions(many);
        for (const [name, node] of [
          ["a", a],
          ["b", b],
        ] as const)
          await until(
            () => node.activeDecisions().filter((d) => d.scenario === "bulk").length === 5000,
            `${name} holds all 5,000`,
          );
        assert.equal(holds(a, "2001:db8::1387").length, 1);
        assert.ok((b.counters().shared?.added ?? 0) >= 5000, "counted for /metrics");
      },
    );

    await t.test("a node with share_decisions: false keeps to its own memory", async () => {
      const c = await open("c", false);
      await a.addDecision(ban("192.0.2.15"));
      await until(() => holds(b, "192.0.2.15").length === 1, "b holds it");
      await sleep(300);
      assert.equal(holds(c, "192.0.2.15").length, 0);
      assert.equal(c.counters().shared, undefined);
    });
  },
);

test(
  "two nodes with the same source names keep their own read positions on one PostgreSQL",
  TEST_POSTGRES_URL === undefined ? { skip: POSTGRES_SKIP } : { timeout: 60_000 },
  async (t) => {
    const { schema, url } = await testSchema((fn) => t.after(fn));
    const dir = await mkdtemp(join(tmpdir(), "rempart-shared-logs-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const line = (i: number) =>
      `Jan 31 12:00:0${i % 10} mx postfix/smtpd[1]: connect from unknown[192.0.2.${i}]\n`;
    // Both nodes configured alike, as an operator copies one file to both: source "mail" on
    // /var/log/mail.log. Here the two hosts' files take turns at one path.
    const log = join(dir, "mail.log");
    const open = async (node: string): Promise<Daemon> => {
      const parsed = ConfigSchema.parse({
        data_dir: join(dir, node),
        node_name: node,
        storage: { postgres_url: url },
        sources: [{ name: "mail", type: "syslog", paths: [log], from: "start" }],
      });
      const config: Config = {
        ...parsed,
        sources: parsed.sources ?? [],
        origin: "test",
        autodetected: false,
      };
      const d = await Daemon.open(config, { hostAddresses: [], log: () => undefined });
      await d.start();
      return d;
    };
    const run = async (node: string, lines: number): Promise<void> => {
      const d = await open(node);
      try {
        await until(() => d.counters().linesRead >= lines, `${node} reads ${lines} lines`);
        await sleep(300);
        assert.equal(d.counters().linesRead, lines, node);
      } finally {
        await d.stop();
      }
    };
    await writeFile(log, [0, 1, 2].map(line).join(""));
    await run("mx1", 3);
    // mx2's own file at the same path (mx1's is kept aside, its inode unchanged).
    await rename(log, `${log}.mx1`);
    await writeFile(log, [0, 1, 2, 3, 4].map(line).join(""));
    await run("mx2", 5);
    const rows = await sqlOn(
      `select source, "offset" as n from ${schema}.source_positions order by source`,
    );
    assert.deepEqual(
      rows.rows.map((r) => `${r.source as unknown as string}:${r.n}`),
      [`mx1@mail:${3 * line(0).length}`, `mx2@mail:${5 * line(0).length}`],
    );
    // mx1 comes back to its file, one line longer: it reads that line, not its file again
    // from the top (which mx2's position for the same path would have made it do).
    await rename(log, `${log}.mx2`);
    await rename(`${log}.mx1`, log);
    await appendFile(log, line(5));
    await run("mx1", 1);
  },
);
