import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { expectEvent, fixtureLines, parseAll, type Expected } from "../test-support.ts";
import { ApacheParserPlugin, NginxParserPlugin } from "./index.ts";

const request = (
  method: string | null,
  path: string | null,
  protocol: string | null,
  status: number,
  bytes: number,
  referer: string | null,
  userAgent: string | null,
) => ({ method, path, protocol, status, bytes, referer, user_agent: userAgent });

describe("http access parser", () => {
  it("reads combined, common and vhost_combined lines", () => {
    const lines = fixtureLines(new URL("./fixtures/combined.log", import.meta.url));
    const got = parseAll(ApacheParserPlugin.create({}), "access.log", lines);
    const want: [string, number, Expected][] = [
      [
        "2024-09-28T13:01:07+02:00",
        120,
        {
          type: "http.request",
          ip: "203.0.113.7",
          fields: request(
            "GET",
            "/index.html",
            "HTTP/1.1",
            200,
            5123,
            "https://example.org/",
            "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
          ),
        },
      ],
      [
        "2024-09-28T13:01:08+02:00",
        120,
        {
          type: "http.request",
          ip: "2001:db8::7",
          account: "alice",
          fields: request("POST", "/wp-login.php", "HTTP/1.1", 401, 0, "-", "curl/8.5.0"),
        },
      ],
      [
        "2024-09-28T13:01:09-07:00",
        -420,
        {
          type: "http.request",
          ip: "198.51.100.7",
          fields: request(
            "GET",
            '/search?q="quoted"',
            "HTTP/1.1",
            404,
            0,
            "-",
            'Evil "agent" \\ 1.0',
          ),
        },
      ],
      [
        "2024-09-28T13:01:10Z",
        0,
        {
          type: "http.request",
          ip: "198.51.100.8",
          fields: request(null, "\\x16\\x03\\x01\\x00\\xca\\x01", null, 400, 157, "-", "-"),
        },
      ],
      [
        "2024-09-28T13:01:11+02:00",
        120,
        {
          type: "http.request",
          ip: "198.51.100.9",
          fields: request(null, null, null, 408, 0, "-", "-"),
        },
      ],
      [
        "2024-09-28T13:01:12+02:00",
        120,
        {
          type: "http.request",
          ip: "198.51.100.10",
          fields: request("GET", "/common", "HTTP/1.0", 200, 42, null, null),
        },
      ],
      [
        "2024-09-28T13:01:13+02:00",
        120,
        {
          type: "http.request",
          ip: "198.51.100.11",
          account: "bob",
          fields: {
            ...request("GET", "/vhost", "HTTP/2.0", 301, 178, "-", "Wget/1.21"),
            host: "www.example.org",
          },
        },
      ],
      [
        "2024-09-28T13:01:14+02:00",
        120,
        {
          type: "http.request",
          ip: "198.51.100.12",
          fields: request("GET", "/extra", "HTTP/1.1", 200, 10, "-", "ua"),
        },
      ],
    ];
    assert.equal(got.length, want.length);
    got.forEach((events, i) => {
      const [iso, tz, e] = want[i]!;
      assert.deepEqual(
        events,
        [expectEvent("access.log", i + 1, "apache", Date.parse(iso), tz, e)],
        lines[i],
      );
    });
  });

  it("reads a configured nginx log_format", () => {
    const format =
      '\'$remote_addr - $remote_user [$time_local] \' \'"$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time\'';
    const parser = NginxParserPlugin.create({ format });
    const lines = fixtureLines(new URL("./fixtures/custom.log", import.meta.url));
    const got = parseAll(parser, "a", lines);
    assert.deepEqual(got, [
      [
        expectEvent("a", 1, "nginx", Date.parse("2024-09-28T13:01:07+02:00"), 120, {
          type: "http.request",
          ip: "203.0.113.7",
          fields: {
            ...request("GET", "/api", "HTTP/1.1", 200, 512, "-", "Mozilla/5.0"),
            request_time: 0.012,
          },
        }),
      ],
      [
        expectEvent("a", 2, "nginx", Date.parse("2024-09-28T13:01:08+02:00"), 120, {
          type: "http.request",
          ip: "198.51.100.7",
          account: "carol",
          fields: {
            ...request(
              "POST",
              "/login",
              "HTTP/2.0",
              429,
              0,
              "https://example.org/login",
              "python-requests/2.31",
            ),
            request_time: 1.25,
          },
        }),
      ],
    ]);
    assert.equal(parser.parse("garbage", { source: "a", offset: 3 }).ok, false);
  });

  it("refuses a log_format it cannot use", () => {
    assert.throws(() => NginxParserPlugin.create({ format: "$status $request" }), /remote_addr/);
    assert.throws(() => NginxParserPlugin.create({ format: "$remote_addr$time_local" }), /split/);
  });

  it("refuses lines that are not access logs", () => {
    const p = NginxParserPlugin.create({});
    for (const line of [
      "",
      "hello world",
      '1.2.3.4 - - [bad] "GET /" 200 1',
      "Sep 28 13:01:07 mx x: y",
    ]) {
      assert.equal(p.parse(line, { source: "s", offset: 1 }).ok, false, line);
    }
  });

  it("sniffs access log lines", () => {
    assert.ok(
      NginxParserPlugin.sniff(
        '203.0.113.7 - - [28/Sep/2024:13:01:07 +0200] "GET / HTTP/1.1" 200 1',
      ),
    );
    assert.ok(
      ApacheParserPlugin.sniff('h:80 203.0.113.7 - - [28/Sep/2024:13:01:07 +0200] "GET /" 200 1'),
    );
    assert.ok(!NginxParserPlugin.sniff("Sep 28 13:01:07 mx postfix/smtpd[1]: x"));
    assert.ok(!NginxParserPlugin.sniff('{"time":"[28/Sep/2024"}'));
  });

  it("never throws on arbitrary lines", () => {
    const plain = NginxParserPlugin.create({});
    const custom = NginxParserPlugin.create({
      format:
        '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $foo',
    });
    const pieces = fc.constantFrom(
      "1.2.3.4 ",
      "- ",
      "[28/Sep/2024:13:01:07 +0200]",
      ' "',
      '"',
      "\\",
      " 200 ",
      "-",
      "h:80 ",
      " [",
    );
    const line = fc.oneof(
      fc.string(),
      fc.array(fc.oneof(pieces, fc.string()), { maxLength: 12 }).map((a) => a.join("")),
    );
    fc.assert(
      fc.property(line, (l) => {
        assert.equal(typeof plain.parse(l, { source: "s", offset: 0 }).ok, "boolean");
        assert.equal(typeof custom.parse(l, { source: "s", offset: 0 }).ok, "boolean");
        assert.equal(typeof NginxParserPlugin.sniff(l), "boolean");
      }),
      { numRuns: 5000 },
    );
  });
});
