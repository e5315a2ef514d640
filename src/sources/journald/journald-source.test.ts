import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import {
  JournaldSource,
  type JournalBatch,
  type JournaldNotice,
  type JournaldSourceOptions,
} from "./journald-source.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "rempart-journald-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * No journald runs in the test sandbox, so this script stands in for `journalctl -f -o json`:
 * it logs its arguments, prints `perRun × run` entries after `--after-cursor` (cursors
 * `s=stand-in;i=N`), then exits with an error (`exit`) or follows forever (`follow`).
 */
const standIn = async (name: string, perRun: number, mode: "exit" | "follow") => {
  const runs = join(dir, `${name}.runs`);
  const script = join(dir, `${name}.mjs`);
  await writeFile(
    script,
    `import { appendFileSync, existsSync, readFileSync } from "node:fs";
const runs = ${JSON.stringify(runs)};
const run = (existsSync(runs) ? readFileSync(runs, "utf8").split("\\n").length - 1 : 0) + 1;
appendFileSync(runs, JSON.stringify(process.argv.slice(2)) + "\\n");
const after = process.argv.find((a) => a.startsWith("--after-cursor="));
let out = "";
for (let i = after === undefined ? 0 : Number(after.split("i=")[1]) + 1; i < ${perRun} * run; i++) {
  out += JSON.stringify({
    __CURSOR: "s=stand-in;i=" + i,
    __REALTIME_TIMESTAMP: String(1727521267000000 + i * 1000),
    _HOSTNAME: "mx1",
    SYSLOG_IDENTIFIER: "postfix/smtpd",
    _PID: "1234",
    MESSAGE: "entry " + i,
  }) + "\\n";
}
out += "this is not JSON\\n";
process.stdout.write(out, () => {
  if (${JSON.stringify(mode)} === "exit") {
    process.stderr.write("Failed to iterate through journal: Bad message\\n");
    process.exit(1);
  }
  setInterval(() => undefined, 60_000);
});
`,
  );
  const calls = async (): Promise<string[][]> =>
    (await readFile(runs, "utf8").catch(() => ""))
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as string[]);
  return { command: process.execPath, extraArgs: [script], calls };
};

const collect = (options: Omit<JournaldSourceOptions, "onBatch" | "onNotice">) => {
  const batches: JournalBatch[] = [];
  const notices: JournaldNotice[] = [];
  const source = new JournaldSource({
    restartMs: 20,
    maxRestartMs: 100,
    onBatch: (batch) => {
      batches.push(batch);
    },
    onNotice: (notice) => notices.push(notice),
    ...options,
  });
  const messages = () => batches.flatMap((b) => b.records.map((r) => r.message));
  return { source, batches, notices, messages };
};

const waitFor = async (what: string, condition: () => boolean, ms = 5000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
};

const entries = (from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `entry ${from + i}`);

describe("JournaldSource", () => {
  it("builds journalctl's arguments from the cursor and the filters", () => {
    const fresh = new JournaldSource({
      onBatch: () => undefined,
      units: ["postfix@-.service"],
      identifiers: ["dovecot"],
    });
    assert.deepEqual(fresh.args(), [
      "--follow",
      "--output=json",
      "--no-pager",
      "--unit=postfix@-.service",
      "--identifier=dovecot",
      "--lines=0",
    ]);
    const stored = new JournaldSource({
      onBatch: () => undefined,
      positions: [
        { source: "other", path: "journald", inode: "", offset: 0, head: "s=other" },
        { source: "journald", path: "journald", inode: "", offset: 0, head: "s=1;i=2" },
      ],
    });
    assert.deepEqual(stored.args().slice(-2), ["--after-cursor=s=1;i=2", "--lines=all"]);
    assert.deepEqual(stored.positions(), [
      { source: "journald", path: "journald", inode: "", offset: 0, head: "s=1;i=2" },
    ]);
    assert.deepEqual(
      new JournaldSource({ onBatch: () => undefined, from: "start" }).args().at(-1),
      "--lines=all",
    );
  });

  it("delivers entries in order, one batch at a time, and kills journalctl on stop", async () => {
    const stand = await standIn("order", 5000, "follow");
    let inFlight = 0;
    let overlapped = false;
    const batches: JournalBatch[] = [];
    const notices: JournaldNotice[] = [];
    const messages = () => batches.flatMap((b) => b.records.map((r) => r.message));
    const slow = new JournaldSource({
      command: stand.command,
      extraArgs: stand.extraArgs,
      from: "start",
      maxBatch: 300,
      onNotice: (notice) => notices.push(notice),
      onBatch: async (batch) => {
        if (inFlight++ > 0) overlapped = true;
        await sleep(1);
        batches.push(batch);
        inFlight--;
      },
    });
    await slow.start();
    await waitFor("all entries", () => messages().length === 5000);
    await slow.stop();
    assert.equal(overlapped, false);
    assert.deepEqual(messages(), entries(0, 5000));
    assert.ok(batches.every((b) => b.records.length <= 300));
    assert.equal(batches.at(-1)!.cursor, "s=stand-in;i=4999");
    assert.deepEqual(slow.positions(), [batches.at(-1)!.position]);
    assert.equal(slow.stats().invalid, 1);
    const started = notices.find((n) => n.kind === "started");
    assert.ok(started?.kind === "started" && started.pid !== undefined);
    assert.throws(() => process.kill(started.pid!, 0), { code: "ESRCH" });
  });

  it("restarts journalctl after it exits, after the last delivered cursor", async () => {
    const stand = await standIn("restart", 3, "exit");
    const { source, notices, messages } = collect({ ...stand, from: "start" });
    await source.start();
    await waitFor("three runs", () => messages().length === 9);
    await source.stop();
    assert.deepEqual(messages(), entries(0, 9));
    const calls = await stand.calls();
    assert.ok(calls[1]!.includes("--after-cursor=s=stand-in;i=2"), JSON.stringify(calls));
    assert.ok(calls[2]!.includes("--after-cursor=s=stand-in;i=5"), JSON.stringify(calls));
    const exited = notices.find((n) => n.kind === "exited");
    assert.ok(exited?.kind === "exited");
    assert.equal(exited.code, 1);
    assert.match(exited.stderr, /Bad message/);
  });

  it("offers a refused batch again instead of losing it", async () => {
    const stand = await standIn("refused", 10, "follow");
    const seen: string[] = [];
    let refusals = 0;
    const source = new JournaldSource({
      ...stand,
      from: "start",
      restartMs: 10,
      onNotice: () => undefined,
      onBatch: (batch) => {
        if (refusals++ < 2) throw new Error("database busy");
        seen.push(...batch.records.map((r) => r.message));
      },
    });
    await source.start();
    await waitFor("entries", () => seen.length === 10);
    await source.stop();
    assert.deepEqual(seen, entries(0, 10));
  });

  it("reports a missing journalctl and keeps trying until stopped", async () => {
    const { source, notices } = collect({ command: join(dir, "no-such-journalctl") });
    await source.start();
    await waitFor(
      "two attempts",
      () => notices.filter((n) => n.kind === "spawn-failed").length >= 2,
    );
    await source.stop();
    const failed = notices.find((n) => n.kind === "spawn-failed");
    assert.ok(failed?.kind === "spawn-failed");
    assert.equal((failed.error as { code?: string }).code, "ENOENT");
  });

  const journalRemote = "/lib/systemd/systemd-journal-remote";
  const journalctl = spawnSync("journalctl", ["--version"]).status === 0;
  it(
    "follows a real journal with the real journalctl",
    {
      skip:
        journalctl && existsSync(journalRemote)
          ? false
          : "needs journalctl and systemd-journal-remote to write a journal file",
    },
    async () => {
      const journal = await mkdtemp(join(dir, "journal-"));
      const write = (from: number, to: number): void => {
        let exported = "";
        for (let i = from; i < to; i++) {
          exported +=
            `__REALTIME_TIMESTAMP=${1727521267000000 + i * 1_000_000}\n` +
            `__MONOTONIC_TIMESTAMP=${1000 + i}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n` +
            `MESSAGE=entry ${i}\nSYSLOG_IDENTIFIER=${i % 2 === 0 ? "postfix/smtpd" : "dovecot"}\n` +
            `_PID=${100 + i}\n_HOSTNAME=mx1\n\n`;
        }
        const result = spawnSync(journalRemote, ["-o", join(journal, "test.journal"), "-"], {
          input: exported,
        });
        assert.equal(result.status, 0, result.stderr.toString());
      };
      write(0, 4);
      const first = collect({ extraArgs: ["--directory", journal], from: "start" });
      await first.source.start();
      await waitFor("first entries", () => first.messages().length === 4);
      write(4, 6);
      await waitFor("followed entries", () => first.messages().length === 6);
      await first.source.stop();
      assert.deepEqual(first.messages(), entries(0, 6));
      assert.equal(first.batches[0]!.records[1]!.program, "dovecot");
      assert.equal(first.batches[0]!.records[1]!.pid, 101);

      // Restart from the stored cursor, with a filter.
      write(6, 10);
      const second = collect({
        extraArgs: ["--directory", journal],
        identifiers: ["dovecot"],
        positions: first.source.positions(),
      });
      await second.source.start();
      await waitFor("entries after the cursor", () => second.messages().length === 2);
      await second.source.stop();
      assert.deepEqual(second.messages(), ["entry 7", "entry 9"]);
    },
  );
});
