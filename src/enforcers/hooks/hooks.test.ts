import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ManualClock, type Decision } from "../../core/index.ts";
import { DecisionBook, DecisionFeed } from "../../decisions/index.ts";
import { createHooks, HooksConfigSchema } from "./index.ts";

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
