/**
 * Abuse reports as an operator runs them: `rempart start` reads a mail log in which an address
 * guesses passwords, bans it, finds the abuse contact of its network by RDAP, and sends the
 * report through a real Postfix (Debian's, the private instance of test/support/postfix.ts),
 * which relays it to the test's sink on loopback.
 *
 * The RDAP registry is a small server on loopback answering as RIPE's does (bootstrap file,
 * network with an `abuse` entity): a mock, because tests reach no address outside the machine
 * and no registry's software is packaged for Debian. The guesser is a documentation address in
 * the log; Rempart never acts on loopback.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  apiCaller,
  createKey,
  rempartCli,
  startDaemon,
  writeDaemonConfig,
} from "../support/daemon.ts";
import { postfixMissing, startPostfix } from "../support/postfix.ts";
import { syslogTime } from "../support/syslog-time.ts";

const GUESSER = "203.0.113.9";

test(
  "a guesser's ban is reported to its network's abuse desk, through Postfix",
  { skip: postfixMissing(), timeout: 120_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-abuse-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const postfix = await startPostfix({ users: { "reports@site.example": "s3cret" } });
    t.after(() => postfix.stop());

    const asked: string[] = [];
    const registry = createServer((req, res) => {
      asked.push(req.url ?? "");
      const json = (body: unknown): true => {
        res.writeHead(200, { "content-type": "application/rdap+json" });
        res.end(JSON.stringify(body));
        return true;
      };
      if (req.url === "/bootstrap/ipv4.json")
        return json({ services: [[["203.0.113.0/24"], [`${base}/ripe/`]]] });
      if (req.url === `/ripe/ip/${GUESSER}`)
        return json({
          objectClassName: "ip network",
          handle: "203.0.113.0 - 203.0.113.255",
          name: "EXAMPLE-HOSTING",
          cidr0_cidrs: [{ v4prefix: "203.0.113.0", length: 24 }],
          entities: [
            {
              roles: ["abuse"],
              vcardArray: [
                "vcard",
                [
                  ["version", {}, "text", "4.0"],
                  ["email", {}, "text", "abuse@hoster.example"],
                ],
              ],
            },
          ],
        });
      res.writeHead(404);
      res.end();
      return true;
    });
    await new Promise<void>((resolve) => registry.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise((resolve) => registry.close(resolve)));
    const base = `http://127.0.0.1:${(registry.address() as AddressInfo).port}`;

    const log = join(dir, "mail.log");
    await writeFile(log, "");
    const config = await writeDaemonConfig(dir, [
      "sources:",
      `  - { name: mail, type: syslog, paths: [${log}], from: start }`,
      "abuse_reports:",
      "  enabled: true",
      "  from: reports@site.example",
      '  reporter: "Association Exemple, mx.site.example"',
      "  every: 1h",
      `  smtp: { host: 127.0.0.1, port: ${postfix.submissionPort}, user: reports@site.example, password: s3cret }`,
      `  rdap: { bootstrap: ${base}/bootstrap/ }`,
    ]);
    const daemon = startDaemon(config);
    t.after(() => daemon.stop());
    const base_ = await daemon.url();
    const key = await createKey(config);
    const api = apiCaller(base_, key);
    const rempart = rempartCli(base_, key);
    assert.match(
      daemon.stderr(),
      /reporting: bans to the attackers' abuse desks every 1h, from reports@site\.example through 127\.0\.0\.1:\d+/,
    );

    for (let i = 0; i < 12; i++)
      await appendFile(
        log,
        `${syslogTime(new Date())} mx postfix/submission/smtpd[${900 + i}]: warning: unknown[${GUESSER}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n`,
      );
    let queued: { ip: string; status: string }[] = [];
    for (let i = 0; queued.length === 0; i++) {
      assert.ok(i < 100, `no report queued:\n${daemon.stderr()}`);
      await sleep(100);
      queued = ((await api("GET", "/v1/abuse-reports")) as { reports: typeof queued }).reports;
    }
    assert.deepEqual(
      queued.map((r) => `${r.ip} ${r.status}`),
      [`${GUESSER} pending`],
    );

    // The operator sends the round now rather than wait the hour.
    const round = await rempart("abuse-reports", "send");
    assert.equal(round.code, 0, round.stderr);
    assert.equal(
      round.stdout,
      "1 addresses reported in 1 messages; 0 without an abuse contact, 0 waiting for the next round, 0 given up\n",
    );
    const [mail] = await postfix.sink.waitFor(1, 30_000);
    assert.deepEqual(mail!.to, ["abuse@hoster.example"]);
    assert.equal(mail!.from, "reports@site.example");
    // Headers unfolded (a long subject is folded over two lines).
    const headers = mail!.data.split("\r\n\r\n")[0]!.replace(/\r\n[ \t]+/g, " ");
    assert.match(
      headers,
      /^Subject: Abuse report: 203\.0\.113\.9 in EXAMPLE-HOSTING \(203\.0\.113\.0\/24\) \(Association Exemple, mx\.site\.example\)$/m,
    );
    assert.match(mail!.data, /^Auto-Submitted: auto-generated\r$/m);
    // The CSV attachment, as an abuse desk's tools read it.
    const part = /filename=abuse-report\.csv\r\n\r\n([A-Za-z0-9+/=\r\n]+?)\r\n--/.exec(mail!.data);
    assert.ok(part !== null, mail!.data);
    const csv = Buffer.from(part[1]!.replace(/\r\n/g, ""), "base64").toString("utf8").split("\r\n");
    assert.equal(csv[0], "ip,time,categories,scenario,what");
    assert.match(
      csv[1] ?? "",
      /^203\.0\.113\.9,\d{4}-\d\d-\d\dT[\d:]+\+00:00,Brute-Force,mail-bruteforce,"?Fast password guessing on SMTP\/IMAP\/POP from one address/,
    );
    // Postfix took it from Rempart, and delivered it.
    await postfix.waitForLog(/to=<abuse@hoster\.example>.*status=sent/);
    assert.deepEqual(asked, ["/bootstrap/ipv4.json", `/ripe/ip/${GUESSER}`]);

    const listed = await rempart("abuse-reports", "list");
    assert.match(
      listed.stdout,
      /203\.0\.113\.9 {2}sent to abuse@hoster\.example {2}mail-bruteforce {2}\(250 /,
    );
    const { reports } = (await api("GET", "/v1/abuse-reports")) as {
      reports: { status: string; contact: string; note: string }[];
    };
    assert.equal(reports[0]!.status, "sent");
    assert.equal(reports[0]!.contact, "abuse@hoster.example");
    assert.match(reports[0]!.note, /^250 /);
  },
);
