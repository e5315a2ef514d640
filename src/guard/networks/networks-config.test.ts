import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NetworksConfigSchema } from "./networks-config.ts";

const problems = (input: unknown): string[] => {
  const r = NetworksConfigSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("NetworksConfigSchema", () => {
  it("fills every default from nothing", () => {
    assert.deepEqual(NetworksConfigSchema.parse({}), {
      as: { hosting_asns: [], not_hosting_asns: [], refresh: "1d" },
      tor: { format: "auto", refresh: "6h" },
    });
  });

  it("takes one file or several, and the operator's corrections", () => {
    const c = NetworksConfigSchema.parse({
      as: {
        file: ["/a.csv", "/b.csv"],
        hosting_asns: [64500],
        not_hosting_asns: [16276],
        refresh: "1h",
      },
      tor: { url: "https://check.torproject.org/torbulkexitlist", refresh: "30m" },
    });
    assert.deepEqual(c.as.file, ["/a.csv", "/b.csv"]);
    assert.equal(c.tor.url, "https://check.torproject.org/torbulkexitlist");
  });

  it("says where each mistake is", () => {
    assert.deepEqual(problems({ as: { hosting_asns: [16276], not_hosting_asns: [16276] } }), [
      "as.not_hosting_asns: an AS number is in both hosting_asns and not_hosting_asns",
    ]);
    assert.deepEqual(problems({ tor: { file: "/x", url: "https://example.org/x" } }), [
      "tor: give file or url, not both",
    ]);
    assert.match(
      problems({ as: { refresh: "daily" } })[0] ?? "",
      /^as\.refresh: expected a duration/,
    );
    assert.match(
      problems({ as: { hosting_asns: [0] } })[0] ?? "",
      /^as\.hosting_asns\.0: AS numbers start at 1/,
    );
    assert.match(problems({ tor: { url: "ftp://x" } })[0] ?? "", /^tor\.url: expected an http/);
    assert.match(problems({ tor: { format: "csv" } })[0] ?? "", /^tor\.format:/);
    assert.match(problems({ as: { files: "/a.csv" } })[0] ?? "", /Unrecognized key/);
  });
});
