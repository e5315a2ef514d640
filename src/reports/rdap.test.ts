import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { abuseContactOf, parseBootstrap, RdapClient } from "./rdap.ts";

/**
 * A network as RIPE's RDAP server shapes it (RFC 9083, with the cidr0 extension): the abuse
 * contact is an entity of its own, with a jCard. Addresses and names are documentation ones.
 */
const RIPE_LIKE = {
  rdapConformance: ["cidr0", "rdap_level_0"],
  objectClassName: "ip network",
  handle: "203.0.113.0 - 203.0.113.255",
  startAddress: "203.0.113.0",
  endAddress: "203.0.113.255",
  ipVersion: "v4",
  name: "EXAMPLE-HOSTING",
  cidr0_cidrs: [{ v4prefix: "203.0.113.0", length: 24 }],
  entities: [
    {
      objectClassName: "entity",
      handle: "ORG-EX1-RIPE",
      roles: ["registrant"],
      vcardArray: [
        "vcard",
        [
          ["version", {}, "text", "4.0"],
          ["fn", {}, "text", "Example SAS"],
        ],
      ],
    },
    {
      objectClassName: "entity",
      handle: "AR123-RIPE",
      roles: ["abuse"],
      vcardArray: [
        "vcard",
        [
          ["version", {}, "text", "4.0"],
          ["fn", {}, "text", "Abuse contact"],
          ["kind", {}, "text", "group"],
          ["email", {}, "text", "Abuse@Example.NET"],
        ],
      ],
    },
  ],
};

/** As ARIN nests it: the abuse point of contact inside the organisation's entity. */
const ARIN_LIKE = {
  objectClassName: "ip network",
  handle: "NET-198-51-100-0-1",
  startAddress: "198.51.100.0",
  endAddress: "198.51.100.255",
  name: "EXAMPLE-NET",
  entities: [
    {
      handle: "EXMPL",
      roles: ["registrant"],
      vcardArray: ["vcard", [["version", {}, "text", "4.0"]]],
      entities: [
        {
          handle: "ABUSE1-ARIN",
          roles: ["abuse"],
          vcardArray: [
            "vcard",
            [
              ["version", {}, "text", "4.0"],
              ["email", {}, "text", "abuse@example.com"],
            ],
          ],
        },
      ],
    },
  ],
};

void describe("RDAP answers", () => {
  it("finds the abuse e-mail, nested or not, with the network's name and range", () => {
    assert.deepEqual(abuseContactOf(RIPE_LIKE), {
      email: "abuse@example.net",
      network: "EXAMPLE-HOSTING",
      range: "203.0.113.0/24",
    });
    assert.deepEqual(abuseContactOf(ARIN_LIKE), {
      email: "abuse@example.com",
      network: "EXAMPLE-NET",
      range: "198.51.100.0 - 198.51.100.255",
    });
  });

  it("answers nothing for a network without an abuse entity or with no e-mail in it", () => {
    assert.equal(abuseContactOf({ handle: "X", entities: [RIPE_LIKE.entities[0]] }), undefined);
    assert.equal(
      abuseContactOf({
        entities: [{ roles: ["abuse"], vcardArray: ["vcard", [["tel", {}, "uri", "tel:+1"]]] }],
      }),
      undefined,
    );
    assert.equal(abuseContactOf({}), undefined);
    assert.equal(abuseContactOf("nonsense"), undefined);
  });

  it("reads IANA's bootstrap services, skipping what is not a range", () => {
    const services = parseBootstrap({
      version: "1.0",
      services: [
        [
          ["203.0.0.0/8", "nonsense"],
          ["https://rdap.example/ripe/", "http://rdap.example/ripe/"],
        ],
        [["2001:db8::/32"], ["https://rdap.example/v6/"]],
      ],
    });
    assert.equal(services.length, 2);
    assert.equal(services[0]!.ranges.length, 1);
    assert.throws(() => parseBootstrap({}), /not an RDAP bootstrap file/);
  });
});

void describe("RdapClient against a registry on loopback", () => {
  let server: Server;
  let base: string;
  const asked: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? "/";
      asked.push(path);
      const send = (status: number, body: unknown, headers: Record<string, string> = {}): true => {
        res.writeHead(status, { "content-type": "application/rdap+json", ...headers });
        res.end(JSON.stringify(body));
        return true;
      };
      if (path === "/bootstrap/ipv4.json")
        return send(200, {
          services: [
            [["203.0.113.0/24"], [`${base}/ripe/`]],
            [["198.51.0.0/16"], [`${base}/arin/`]],
            [["198.51.100.0/24"], [`${base}/more-specific/`]],
          ],
        });
      if (path === "/bootstrap/ipv6.json") return send(200, { services: [] });
      if (path === "/ripe/ip/203.0.113.9") return send(200, RIPE_LIKE);
      // A registry that sends the question on, as ARIN does for other registries' blocks.
      if (path === "/more-specific/ip/198.51.100.7")
        return send(301, {}, { location: `${base}/arin/ip/198.51.100.7` });
      if (path === "/arin/ip/198.51.100.7") return send(200, ARIN_LIKE);
      if (path.startsWith("/ripe/ip/")) return send(404, { errorCode: 404 });
      return send(500, {});
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  it("asks the registry of the most specific block, follows redirections, keeps the bootstrap", async () => {
    const rdap = new RdapClient({ bootstrap: `${base}/bootstrap/`, timeoutMs: 2000 });
    assert.equal((await rdap.abuseContact("203.0.113.9"))?.email, "abuse@example.net");
    assert.equal((await rdap.abuseContact("198.51.100.7"))?.email, "abuse@example.com");
    assert.equal(asked.filter((p) => p === "/bootstrap/ipv4.json").length, 1);
    // No block for the address, or no network: no contact. A registry's error: an error.
    assert.equal(await rdap.abuseContact("192.0.2.1"), undefined);
    assert.equal(await rdap.abuseContact("2001:db8::1"), undefined);
    await assert.rejects(rdap.abuseContact("198.51.7.7"), /answered 500/);
  });
});
