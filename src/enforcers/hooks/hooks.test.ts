import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isRempartError, ManualClock, type Decision } from "../../core/index.ts";
import { DecisionBook, DecisionFeed } from "../../decisions/index.ts";
import { createHooks, HooksConfigSchema, MAX_RUNNING } from "./index.ts";

const decision = (over: Partial<Decision>): Decision =>
  Object.freeze({
    id: "d1",
    action: "suspend",
    scope: "account",
    value: "victim@club1.example",
    createdAt: 0,
    expiresAt: 3_600_000,
    origin: "scenario",
    scenario: "mail-account-volume",
    reason: "r",
    offence: 0,
    tzOffset: 0,
    ...over,
  });

test("a command runs with the decision in its arguments, never through a shell; failures are logged", async () => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-hooks-"));
  const out = join(dir, "locked");
  const feed = new DecisionFeed();
  const logs: string[] = [];
  const config = HooksConfigSchema.parse([
    // sh is the program; the values are its arguments $0 $1, not script text.
    {
      name: "lock",
      actions: ["suspend"],
      command: ["/bin/sh", "-c", `printf '%s %s\\n' "$0" "$1" >> ${out}`, "{action}", "{value}"],
    },
    { name: "broken", actions: ["suspend"], command: ["/bin/sh", "-c", "echo nope >&2; exit 3"] },
  ]);
  const service = createHooks(config, {
    feed,
    book: new DecisionBook(),
    clock: new ManualClock(0),
    log: (l) => logs.push(l),
  });
  await service.start();
  feed.push("added", decision({ value: "victim@club1.example; rm -rf /" }), 0);
  feed.push("added", decision({ id: "d2", action: "ban", scope: "ip", value: "192.0.2.1" }), 0); // not matched
  await service.settled();
  await service.stop();
  assert.equal(await readFile(out, "utf8"), "suspend victim@club1.example; rm -rf /\n");
  assert.match(
    logs.join("\n"),
    /hook broken failed for victim@club1\.example; rm -rf \/: exited 3: nope/,
  );
});

test("a webhook gets the decision as JSON, signed with HMAC-SHA256", async () => {
  const got: { body: string; signature: string }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      got.push({ body, signature: String(req.headers["x-rempart-signature"]) });
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const secret = "s3cret-s3cret-s3cret";
  const feed = new DecisionFeed();
  const config = HooksConfigSchema.parse([
    {
      name: "ticket",
      actions: ["hold", "suspend"],
      webhook: { url: `http://127.0.0.1:${port}/hook`, secret },
    },
  ]);
  const service = createHooks(config, {
    feed,
    book: new DecisionBook(),
    clock: new ManualClock(0),
    log: () => undefined,
  });
  await service.start();
  feed.push("added", decision({ action: "hold" }), 0);
  await service.settled();
  await service.stop();
  server.close();
  assert.equal(got.length, 1);
  const body = JSON.parse(got[0]!.body) as {
    event: string;
    decision: { action: string; value: string };
  };
  assert.equal(body.event, "added");
  assert.deepEqual([body.decision.action, body.decision.value], ["hold", "victim@club1.example"]);
  assert.equal(
    got[0]!.signature,
    `sha256=${createHmac("sha256", secret).update(got[0]!.body).digest("hex")}`,
  );
});

test("a hook needs exactly one of command and webhook", () => {
  assert.equal(HooksConfigSchema.safeParse([{ name: "x", actions: ["suspend"] }]).success, false);
  assert.equal(
    HooksConfigSchema.safeParse([
      {
        name: "x",
        actions: ["suspend"],
        command: ["true"],
        webhook: { url: "http://127.0.0.1/", secret: "0123456789abcdef" },
      },
    ]).success,
    false,
  );
});

/** Hooks over a book and a feed, as the daemon drives them: `decide` and `end` change both. */
async function harness(config: unknown) {
  const book = new DecisionBook();
  const feed = new DecisionFeed();
  const logs: string[] = [];
  const service = createHooks(HooksConfigSchema.parse(config), {
    feed,
    book,
    clock: new ManualClock(0),
    log: (l) => logs.push(l),
  });
  await service.start();
  return {
    service,
    logs,
    decide(d: Decision, replacing?: Decision) {
      if (replacing) {
        book.remove(replacing.id);
        feed.push("removed", replacing, 0);
      }
      book.add(d);
      feed.push("added", d, 0);
    },
    end(d: Decision) {
      book.remove(d.id);
      feed.push("removed", d, 0);
    },
  };
}

test("removed fires when the subject is no longer held, not when a longer decision replaces it", async () => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-hooks-"));
  const out = join(dir, "log");
  const write = (what: string) => ["/bin/sh", "-c", `echo ${what} "$0" >> ${out}`, "{value}"];
  const h = await harness([
    { name: "lock", actions: ["hold"], command: write("lock") },
    { name: "unlock", on: "removed", actions: ["hold"], command: write("unlock") },
  ]);
  const short = decision({ id: "h1", action: "hold", value: "bob" });
  const long = decision({ id: "h2", action: "hold", value: "bob", expiresAt: 4 * 3_600_000 });
  h.decide(short);
  await h.service.settled();
  h.decide(long, short); // a longer hold replaces the first: bob stays held
  await h.service.settled();
  assert.equal(await readFile(out, "utf8"), "lock bob\nlock bob\n");
  h.end(long);
  await h.service.settled();
  await h.service.stop();
  assert.equal(await readFile(out, "utf8"), "lock bob\nlock bob\nunlock bob\n");
});

test("the runs for one subject are in order, across hooks: an unlock never overtakes its lock", async () => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-hooks-"));
  const out = join(dir, "log");
  const h = await harness([
    {
      name: "lock",
      actions: ["suspend"],
      command: ["/bin/sh", "-c", `sleep 0.3; echo lock >> ${out}`],
    },
    {
      name: "unlock",
      on: "removed",
      actions: ["suspend"],
      command: ["/bin/sh", "-c", `echo unlock >> ${out}`],
    },
  ]);
  const d = decision({ id: "s1", value: "carol" });
  h.decide(d);
  h.end(d);
  await h.service.settled();
  await h.service.stop();
  assert.equal(await readFile(out, "utf8"), "lock\nunlock\n");
});

test("a command past its timeout is killed with what it started, and does not hold the stop", async () => {
  const h = await harness([
    {
      name: "slow",
      actions: ["suspend"],
      timeout: "300ms",
      // sh waits for its child: killing sh alone would leave sleep holding stderr for 30 s.
      command: ["/bin/sh", "-c", "sleep 30; true"],
    },
  ]);
  const started = Date.now();
  h.decide(decision({}));
  await h.service.settled();
  await h.service.stop();
  assert.ok(Date.now() - started < 5_000, `stopped after ${Date.now() - started} ms`);
  assert.match(
    h.logs.join("\n"),
    /hook slow failed for victim@club1\.example: timed out after 300ms/,
  );
});

test("at most MAX_RUNNING hooks run at once; the rest wait, none is lost", async () => {
  let now = 0;
  let most = 0;
  let served = 0;
  const server = createServer((req, res) => {
    now++;
    most = Math.max(most, now);
    req.resume();
    setTimeout(() => {
      now--;
      served++;
      res.end("ok");
    }, 50);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const h = await harness([
    {
      name: "notify",
      actions: ["ban"],
      scopes: ["ip"],
      webhook: { url: `http://127.0.0.1:${port}/`, secret: "0123456789abcdef" },
    },
  ]);
  for (let i = 0; i < 40; i++)
    h.decide(decision({ id: `b${i}`, action: "ban", scope: "ip", value: `192.0.2.${i}` }));
  await h.service.settled();
  await h.service.stop();
  server.close();
  assert.equal(served, 40);
  assert.ok(most <= MAX_RUNNING && most > 1, `${most} at once`);
});

test("a hook's mistakes are said when the configuration is read, or at start", async () => {
  const problem = (hook: Record<string, unknown>) => {
    const r = HooksConfigSchema.safeParse([{ name: "x", actions: ["suspend"], ...hook }]);
    assert.equal(r.success, false);
    return r.success ? "" : `${r.error.issues[0]!.path.join(".")}: ${r.error.issues[0]!.message}`;
  };
  assert.match(
    problem({ command: ["/bin/echo", "{Value}"] }),
    /^0\.command\.1: \{Value\} is not a placeholder/,
  );
  assert.match(problem({ command: ["/bin/echo"], timeout: "0s" }), /longer than zero/);
  assert.equal(
    problem({ webhook: { url: "ftp://example.org/x", secret: "0123456789abcdef" } }),
    "0.webhook.url: expected an http:// or https:// URL",
  );
  assert.ok(
    HooksConfigSchema.safeParse([
      { name: "x", actions: ["suspend"], command: ["/bin/true"], timeout: "1m" },
    ]).success,
  );
  await assert.rejects(
    harness([{ name: "gone", actions: ["suspend"], command: ["/nonexistent/lock-account"] }]),
    (e: unknown) =>
      isRempartError(e) &&
      e.code === "CONFIG_INVALID" &&
      e.message === "hook gone: /nonexistent/lock-account does not exist or cannot be run",
  );
  await assert.rejects(
    harness([{ name: "bare", actions: ["suspend"], command: ["no-such-program-here"] }]),
    /no-such-program-here is not found in PATH/,
  );
});
