import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmod, mkdtemp, rm, stat } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { PolicyReader, type PolicyRequest } from "./policy-protocol.ts";
import { PolicyServer } from "./policy-server.ts";

const REQUEST = (n: number, extra = ""): string =>
  `request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.${n}\nsasl_username=u${n}@example.org\n${extra}\n`;

/** Reads a connection's bytes, cut into reads at `cuts`: each request's wanted attributes. */
function read(
  bytes: Buffer,
  cuts: readonly number[],
  names: readonly string[],
  limits?: { maxRequestBytes: number },
): { requests: Record<string, string | undefined>[]; malformed: string[]; fits: boolean } {
  const reader = new PolicyReader(limits);
  const requests: Record<string, string | undefined>[] = [];
  const malformed: string[] = [];
  const take = (r: PolicyRequest, bad: readonly string[]): void => {
    requests.push(Object.fromEntries(names.map((n) => [n, r.get(n)])));
    malformed.push(...bad);
  };
  let at = 0;
  let fits = true;
  for (const to of [
    ...cuts.map((c) => Math.min(c, bytes.length)).sort((a, b) => a - b),
    bytes.length,
  ]) {
    if (to < at) continue;
    fits &&= reader.push(bytes.subarray(at, to), take);
    at = to;
  }
  return { requests, malformed, fits };
}

test("the reader splits requests at blank lines, whatever the reads' boundaries", () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat(40), { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(400), { maxLength: 10 }),
      (ids, cuts) => {
        const bytes = Buffer.from(ids.map((n) => REQUEST(n, `sender=élise${n}@x.fr\r\n`)).join(""));
        const { requests, fits } = read(bytes, cuts, ["client_address", "sender"]);
        assert.ok(fits);
        assert.deepEqual(
          requests,
          ids.map((n) => ({ client_address: `192.0.2.${n}`, sender: `élise${n}@x.fr` })),
        );
      },
    ),
  );
});

test("values keep their '=' signs; the last of a name wins; malformed lines are reported", () => {
  const bytes = Buffer.from(
    "ccert_subject=CN=mx,O=x\r\nnonsense line\nsender=a@b\nsender=c@d\n=novalue\nempty=\n\n",
  );
  const { requests, malformed } = read(bytes, [], ["ccert_subject", "sender", "empty", "absent"]);
  assert.deepEqual(requests, [
    { ccert_subject: "CN=mx,O=x", sender: "c@d", empty: "", absent: undefined },
  ]);
  assert.deepEqual(malformed, ["nonsense line", "=novalue"]);
});

test("an oversized request is refused, with or without its newline, after the ones before it", () => {
  const limits = { maxRequestBytes: 200 };
  const before = REQUEST(7);
  for (const big of [`x=${"y".repeat(300)}\n`, `x=${"y".repeat(300)}`]) {
    const whole = read(Buffer.from(before + big), [], ["client_address"], limits);
    assert.deepEqual(whole.requests, [{ client_address: "192.0.2.7" }]);
    assert.equal(whole.fits, false);
    const inPieces = read(Buffer.from(before + big), [10, 150, 250], ["client_address"], limits);
    assert.deepEqual(inPieces.requests, [{ client_address: "192.0.2.7" }]);
    assert.equal(inPieces.fits, false);
  }
});

test("the reader decodes UTF-8 split across reads", () => {
  const bytes = Buffer.from("sender=andré@exemple.fr\nsasl_username=zoë\n\n");
  const cut = bytes.indexOf(0xc3) + 1; // between the two bytes of é
  const { requests } = read(bytes, [cut], ["sender", "sasl_username"]);
  assert.deepEqual(requests, [{ sender: "andré@exemple.fr", sasl_username: "zoë" }]);
});

async function ask(socket: Socket, text: string, answers: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let got = "";
    const onData = (b: Buffer): void => {
      got += b.toString();
      const parts = got.split("\n\n").filter((p) => p !== "");
      if (parts.length >= answers && got.endsWith("\n\n")) {
        socket.off("data", onData);
        resolve(parts);
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write(text);
  });
}

test("TCP and UNIX socket, concurrent clients reusing connections, a throwing decide fails open", async () => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-policy-"));
  const logs: string[] = [];
  const server = new PolicyServer({
    tcp: { host: "127.0.0.1", port: 0 },
    socket: join(dir, "policy.sock"),
    decide: (req) => {
      if (req.get("client_address") === "192.0.2.13") throw new Error("boom");
      return req.get("client_address") === "192.0.2.7" ? "REJECT 5.7.1 no" : "DUNNO";
    },
    log: (l) => logs.push(l),
  });
  await server.start();
  try {
    const port = server.tcpAddress!.port;
    const clients = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0 ? connect({ host: "127.0.0.1", port }) : connect(join(dir, "policy.sock")),
      ).map((s) => new Promise<Socket>((resolve) => s.once("connect", () => resolve(s)))),
    );
    const results = await Promise.all(
      clients.map((s, i) => ask(s, REQUEST(i + 20) + REQUEST(7) + REQUEST(13), 3)),
    );
    for (const r of results) {
      assert.equal(r[1], "action=REJECT 5.7.1 no");
      assert.equal(r[2], "action=DUNNO", "an error answers the fail-open action");
    }
    assert.equal(results[3]![0], "action=DUNNO");
    assert.equal(server.stats.requests, 60);
    assert.equal(server.stats.failures, 20);
    assert.match(logs.join("\n"), /boom; answered DUNNO/);
    for (const s of clients) s.destroy();
  } finally {
    await server.stop();
  }
});

test("the UNIX socket is writable by smtpd's user (0666 by default), or as configured", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-policy-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  const start = async (name: string, socketMode?: number) => {
    const server = new PolicyServer({
      socket: join(dir, name),
      ...(socketMode === undefined ? {} : { socketMode }),
      decide: () => "DUNNO",
      log: () => {},
    });
    await server.start();
    t.after(() => server.stop());
    return join(dir, name);
  };
  const open = await start("open.sock");
  const closed = await start("closed.sock", 0o600);
  assert.equal((await stat(open)).mode & 0o777, 0o666);
  assert.equal((await stat(closed)).mode & 0o777, 0o600);
  // As another user (smtpd runs as postfix): root may connect anywhere, so only as root can
  // the test change user and see the permission bite.
  if (process.getuid?.() !== 0) return;
  const as = (path: string) =>
    spawnSync(
      process.execPath,
      [
        "-e",
        `require("node:net").connect(${JSON.stringify(path)}).on("connect", () => process.exit(0)).on("error", (e) => { console.error(e.code); process.exit(1); })`,
      ],
      { uid: 65534, gid: 65534, encoding: "utf8" },
    );
  assert.equal(as(open).status, 0, as(open).stderr);
  const refused = as(closed);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /EACCES/);
});
