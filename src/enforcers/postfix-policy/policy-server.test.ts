import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { PolicyReader, type ReadOutcome } from "./policy-protocol.ts";
import { PolicyServer } from "./policy-server.ts";

const REQUEST = (n: number, extra = ""): string =>
  `request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.${n}\nsasl_username=u${n}@example.org\n${extra}\n`;

test("the reader splits requests at blank lines, whatever the reads' boundaries", () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat(40), { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(30), { maxLength: 10 }),
      (ids, cuts) => {
        const bytes = Buffer.from(ids.map((n) => REQUEST(n)).join(""));
        const reader = new PolicyReader();
        const out: ReadOutcome[] = [];
        let at = 0;
        for (const c of [...cuts].sort((a, b) => a - b)) {
          const to = Math.min(bytes.length, at + c);
          reader.push(bytes.subarray(at, to), out);
          at = to;
        }
        reader.push(bytes.subarray(at), out);
        assert.deepEqual(
          out.map((o) => (o.kind === "request" ? o.request.client_address : o.kind)),
          ids.map((n) => `192.0.2.${n}`),
        );
      },
    ),
  );
});

test("values keep their '=' signs; malformed lines are reported; oversized requests refused", () => {
  const reader = new PolicyReader({ maxRequestBytes: 200 });
  const out: ReadOutcome[] = [];
  reader.push(Buffer.from("ccert_subject=CN=mx,O=x\r\nnonsense line\nsender=a@b\n\n"), out);
  assert.equal(out[0]?.kind, "request");
  if (out[0]?.kind === "request") {
    assert.equal(out[0].request.ccert_subject, "CN=mx,O=x");
    assert.deepEqual(out[0].malformed, ["nonsense line"]);
  }
  out.length = 0;
  reader.push(Buffer.from(`x=${"y".repeat(300)}\n`), out);
  assert.deepEqual(out, [{ kind: "too-large" }]);
  // A partial line counts too: no newline needed to refuse it.
  out.length = 0;
  reader.push(Buffer.from(`x=${"y".repeat(300)}`), out);
  assert.deepEqual(out, [{ kind: "too-large" }]);
});

test("the reader decodes UTF-8 split across reads, and keeps __proto__ out of a request", () => {
  const bytes = Buffer.from("sender=andré@exemple.fr\n__proto__=x\nsasl_username=zoë\n\n");
  const cut = bytes.indexOf(0xc3) + 1; // between the two bytes of é
  const reader = new PolicyReader();
  const out: ReadOutcome[] = [];
  reader.push(bytes.subarray(0, cut), out);
  assert.equal(out.length, 0, "no request before its blank line");
  reader.push(bytes.subarray(cut), out);
  assert.equal(out[0]?.kind, "request");
  if (out[0]?.kind !== "request") return;
  assert.equal(out[0].request.sender, "andré@exemple.fr");
  assert.equal(out[0].request.sasl_username, "zoë");
  assert.equal(Object.getPrototypeOf(out[0].request), Object.prototype);
  assert.equal(Object.hasOwn(out[0].request, "__proto__"), false);
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
      if (req.client_address === "192.0.2.13") throw new Error("boom");
      return req.client_address === "192.0.2.7" ? "REJECT 5.7.1 no" : "DUNNO";
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
