import assert from "node:assert/strict";
import { test } from "node:test";
import type { Action, Scope } from "../../core/index.ts";
import { EXPORT_FORMATS, type ExportItem } from "./index.ts";

const item = (value: string, scope: Scope = "ip", action: Action = "ban"): ExportItem => ({
  action,
  scope,
  value,
  expiresAt: Date.parse("2024-05-02T00:00:00Z"),
  origin: "import",
  scenario: "drop",
  reason: "on list drop",
});

const ITEMS: ExportItem[] = [
  item("198.51.100.8"),
  item("198.51.100.9"),
  item("203.0.113.0/25", "range"),
  item("203.0.113.128/25", "range"),
  item("2001:db8::1"),
  item("2001:db8:1::/48", "range", "challenge"),
  item("mallory@example.org", "email"),
];

test("plain lists each address and range once; aggregated merges them", () => {
  assert.equal(
    EXPORT_FORMATS.plain([...ITEMS, item("198.51.100.8")]),
    "198.51.100.8\n198.51.100.9\n203.0.113.0/25\n203.0.113.128/25\n2001:db8::1\n2001:db8:1::/48\n",
  );
  assert.equal(
    EXPORT_FORMATS.aggregated(ITEMS),
    "198.51.100.8/31\n203.0.113.0/24\n2001:db8::1\n2001:db8:1::/48\n",
  );
});

test("nft: one transaction that declares, flushes and fills both sets", () => {
  const s = EXPORT_FORMATS.nft(ITEMS);
  assert.match(
    s,
    /^table inet rempart_export \{\n {2}set export_v4 \{ type ipv4_addr; flags interval; \}/m,
  );
  assert.match(s, /^flush set inet rempart_export export_v4$/m);
  assert.match(
    s,
    /^add element inet rempart_export export_v4 \{ 198\.51\.100\.8\/31, 203\.0\.113\.0\/24 \}$/m,
  );
  assert.match(
    s,
    /^add element inet rempart_export export_v6 \{ 2001:db8::1, 2001:db8:1::\/48 \}$/m,
  );
});

test("ipset: filled under a temporary name, then swapped", () => {
  const s = EXPORT_FORMATS.ipset(ITEMS).split("\n");
  assert.deepEqual(s.slice(0, 8), [
    "create rempart-v4 hash:net family inet maxelem 65536 -exist",
    "create rempart-v4-tmp hash:net family inet maxelem 65536 -exist",
    "flush rempart-v4-tmp",
    "add rempart-v4-tmp 198.51.100.8/31",
    "add rempart-v4-tmp 203.0.113.0/24",
    "swap rempart-v4-tmp rempart-v4",
    "destroy rempart-v4-tmp",
    "create rempart-v6 hash:net family inet6 maxelem 65536 -exist",
  ]);
});

test("rbldnsd: ip4trie and ip6trie datasets, a code for actions other than ban", () => {
  assert.equal(
    EXPORT_FORMATS.rbldnsd(ITEMS),
    "# ip4trie dataset, 4 prefixes, written by Rempart\n:127.0.0.2:Listed by Rempart: $\n198.51.100.8\n198.51.100.9\n203.0.113.0/25\n203.0.113.128/25\n",
  );
  assert.match(
    EXPORT_FORMATS.rbldnsd6(ITEMS),
    /^2001:db8:1::\/48 :127\.0\.0\.3:Listed by Rempart: \$$/m,
  );
});

test("rbldnsd: the codes Rempart's DNSBL is configured with, lowest first, none for an action without", () => {
  const items = [
    item("198.51.100.1", "ip", "throttle"),
    item("198.51.100.2", "ip", "verify"),
    { ...item("198.51.100.3", "ip", "challenge"), scenario: "spamhaus-drop" },
    item("198.51.100.4", "ip", "challenge"),
    item("198.51.100.4", "ip", "throttle"),
  ];
  // By default as the DNSBL by default: throttle is 127.0.0.4, verify is not published.
  const byDefault = EXPORT_FORMATS.rbldnsd(items).split("\n");
  assert.ok(byDefault.includes("198.51.100.1 :127.0.0.4:Listed by Rempart: $"));
  assert.ok(!byDefault.some((l) => l.startsWith("198.51.100.2")));
  const configured = EXPORT_FORMATS.rbldnsd(items, {
    dnsbl: {
      codes: {
        ban: "127.0.0.2",
        throttle: "127.0.0.10",
        verify: "127.0.0.9",
        challenge: "127.0.0.3",
      },
      scenarioCodes: { "spamhaus-drop": "127.0.0.20" },
    },
  }).split("\n");
  assert.deepEqual(configured.slice(2, -1), [
    "198.51.100.1 :127.0.0.10:Listed by Rempart: $",
    "198.51.100.2 :127.0.0.9:Listed by Rempart: $",
    "198.51.100.3 :127.0.0.20:Listed by Rempart: $",
    // 127.0.0.3 before 127.0.0.10: the codes compare as numbers.
    "198.51.100.4 :127.0.0.3:Listed by Rempart: $",
  ]);
});

test("csv: every scope, quoted, formulas defused", () => {
  const s = EXPORT_FORMATS.csv([
    { ...item("198.51.100.8"), reason: '=HYPERLINK("x"), said "hi"' },
    item("mallory@example.org", "email"),
  ]);
  assert.equal(
    s,
    "action,scope,value,expires_at,origin,source,reason\r\n" +
      `ban,ip,198.51.100.8,2024-05-02T00:00:00.000Z,import,drop,"'=HYPERLINK(""x""), said ""hi"""\r\n` +
      "ban,email,mallory@example.org,2024-05-02T00:00:00.000Z,import,drop,on list drop\r\n",
  );
});
