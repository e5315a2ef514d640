import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { ManualClock } from "../../core/index.ts";
import { TorConfigSchema } from "./networks-config.ts";
import { TorExits } from "./tor-exits.ts";

const BULK = "185.220.101.1\n185.220.101.2\n2001:DB8:0:0::1\n";
const EXIT_ADDRESSES = `@type tordnsel 1.0
Downloaded 2024-05-01 10:00:00
ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E
Published 2024-04-30 21:24:40
LastStatus 2024-05-01 08:00:00
ExitAddress 162.247.74.201 2024-05-01 08:07:03
ExitNode 0091174DE56EA4ED5E3A1D2C1B0FB2A4B0E1D2C3
Published 2024-04-30 12:00:00
LastStatus 2024-05-01 09:00:00
ExitAddress 171.25.193.77 2024-05-01 09:10:00
ExitAddress 171.25.193.78 2024-05-01 09:10:00
`;

/** A list server on loopback: `answer` decides each response; `asked` records the requests. */
let answer: (req: IncomingMessage, res: ServerResponse) => void = (_q, res) => res.end();
const asked: { inm?: string; ims?: string }[] = [];
const server = createServer((req, res) => {
  asked.push({
    ...(req.headers["if-none-match"] === undefined ? {} : { inm: req.headers["if-none-match"] }),
    ...(req.headers["if-modified-since"] === undefined
      ? {}
      : { ims: req.headers["if-modified-since"] }),
  });
  answer(req, res);
});
let url = "";
let dir = "";
before(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/torbulkexitlist`;
  dir = await mkdtemp(join(tmpdir(), "rempart-tor-"));
});
after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => (asked.length = 0));

/** Answers `body` with an ETag, and 304 to a request that holds it. */
const withEtag =
  (body: () => string, etag: () => string) => (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers["if-none-match"] === etag()) {
      res.writeHead(304, { etag: etag() });
      res.end();
    } else {
      res.writeHead(200, { etag: etag(), "content-type": "text/plain" });
      res.end(body());
    }
  };

const make = (sub: string, extra: Record<string, unknown> = {}, logs: string[] = []) =>
  TorExits.fromConfig(TorConfigSchema.parse({ url, ...extra }), {
    dataDir: join(dir, sub),
    log: (l) => logs.push(l),
  });

describe("TorExits from a URL", () => {
  it("downloads the bulk list, then asks with its ETag and keeps it on 304", async () => {
    answer = withEtag(
      () => BULK,
      () => '"v1"',
    );
    const tor = make("etag");
    assert.equal(tor.has("185.220.101.1"), false);
    assert.deepEqual(await tor.refresh(1000), { outcome: "updated", entries: 3 });
    assert.ok(tor.has("185.220.101.1"));
    assert.ok(tor.has("2001:db8::1"), "IPv6 entries are normalised");
    assert.ok(!tor.has("185.220.101.3"));
    assert.deepEqual(await tor.refresh(2000), { outcome: "unchanged", entries: 3 });
    assert.deepEqual(asked, [{}, { inm: '"v1"' }]);
  });

  it("asks with If-Modified-Since when the server gives only Last-Modified", async () => {
    const lm = "Wed, 01 May 2024 10:00:00 GMT";
    answer = (req, res) => {
      if (req.headers["if-modified-since"] === lm) res.writeHead(304).end();
      else res.writeHead(200, { "last-modified": lm }).end(BULK);
    };
    const tor = make("lm");
    await tor.refresh(1000);
    assert.equal((await tor.refresh(2000)).outcome, "unchanged");
    assert.deepEqual(asked, [{}, { ims: lm }]);
  });

  it("reads the exit-addresses format, by itself or when told", async () => {
    answer = (_q, res) => res.end(EXIT_ADDRESSES);
    for (const format of ["auto", "tor-exit"]) {
      const tor = make(`exits-${format}`, { format });
      assert.deepEqual(await tor.refresh(1000), { outcome: "updated", entries: 3 });
      assert.ok(tor.has("171.25.193.78"));
    }
    const strict = make("exits-bulk", { format: "tor-bulk" });
    assert.equal((await strict.refresh(1000)).outcome, "failed", "not a bulk list");
  });

  it("keeps the addresses held when a download fails, is damaged or empty, and backs off", async () => {
    answer = (_q, res) => res.end(BULK);
    const logs: string[] = [];
    const tor = make("failures", { refresh: "6h" }, logs);
    await tor.refresh(1000);
    assert.equal(tor.nextDelayMs(), 6 * 3_600_000);
    const bad: [(q: IncomingMessage, s: ServerResponse) => void, RegExp][] = [
      [(_q, res) => res.writeHead(503).end(), /answered HTTP 503/],
      [(_q, res) => res.end("<html><body>captive portal</body></html>"), /looks like an HTML page/],
      [(_q, res) => res.end("185.220.101.1\nnot-an-address\n"), /line 2: .*not-an-address/],
      [(_q, res) => res.end("\n"), /the list is empty/],
    ];
    for (const [i, [handler, message]] of bad.entries()) {
      answer = handler;
      const r = await tor.refresh(2000);
      assert.equal(r.outcome, "failed");
      assert.match(r.message ?? "", message);
      assert.ok(tor.has("185.220.101.2"), "the last good list stays");
      assert.equal(tor.nextDelayMs(), 60_000 * 2 ** i);
    }
    assert.match(logs.at(-1) ?? "", /keeping 3 addresses, retrying in 480 s$/);
    answer = (_q, res) => res.end("185.220.101.9\n");
    await tor.refresh(3000);
    assert.equal(tor.nextDelayMs(), 6 * 3_600_000, "a success ends the back-off");
    assert.ok(tor.has("185.220.101.9") && !tor.has("185.220.101.2"));
  });

  it("starts from the copy kept on disk when the network is down", async () => {
    answer = withEtag(
      () => BULK,
      () => '"v1"',
    );
    await make("restart").refresh(1000);
    answer = (req) => req.socket.destroy();
    const logs: string[] = [];
    const again = make("restart", {}, logs);
    await again.start();
    assert.ok(again.has("185.220.101.1"), "known before any download");
    assert.match(logs.join("\n"), /3 addresses from the copy kept on disk/);
    assert.equal((await again.refresh(2000)).outcome, "failed");
    assert.ok(again.has("185.220.101.1"));
    // The copy's validators are used: the next request is conditional.
    answer = withEtag(
      () => BULK,
      () => '"v1"',
    );
    assert.equal((await again.refresh(3000)).outcome, "unchanged");
    assert.equal(asked.at(-1)?.inm, '"v1"');
  });

  it("ignores a copy kept for another source", async () => {
    answer = (_q, res) => res.end(BULK);
    await make("moved").refresh(1000);
    const other = TorExits.fromConfig(TorConfigSchema.parse({ url: `${url}?other` }), {
      dataDir: join(dir, "moved"),
    });
    await other.start();
    assert.equal(other.size, 0);
  });

  it("refreshes in the background with watch()", async () => {
    answer = (_q, res) => res.end(BULK);
    const tor = make("watch");
    const watch = tor.watch(new ManualClock(5000));
    const until = Date.now() + 5000;
    while (tor.size === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    await watch.stop();
    assert.equal(tor.size, 3);
  });
});

describe("TorExits from a file, or off", () => {
  it("reads a local file and notices when it changes", async () => {
    const file = join(dir, "exits.txt");
    await writeFile(file, BULK);
    const tor = TorExits.fromConfig(TorConfigSchema.parse({ file }), {
      dataDir: join(dir, "file"),
    });
    assert.equal((await tor.refresh(1000)).outcome, "updated");
    assert.equal((await tor.refresh(2000)).outcome, "unchanged");
    await writeFile(file, `${BULK}185.220.101.200\n`);
    // fetchFile compares size and mtime: the size changed.
    assert.deepEqual(await tor.refresh(3000), { outcome: "updated", entries: 4 });
    assert.ok(tor.has("185.220.101.200"));
  });

  it("is off without a source: nothing is a Tor exit and nothing is fetched", async () => {
    const tor = TorExits.fromConfig(TorConfigSchema.parse({}), { dataDir: join(dir, "off") });
    assert.equal(tor.enabled, false);
    await tor.start();
    assert.deepEqual(await tor.refresh(1000), { outcome: "off", entries: 0 });
    assert.equal(tor.has("185.220.101.1"), false);
    await tor.watch(new ManualClock()).stop();
  });
});
