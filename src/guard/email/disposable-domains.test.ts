import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { disposableEmailBlocklist } from "disposable-email-domains-js";
import { isRempartError } from "../../core/index.ts";
import { DisposableDomains, parseDomainList } from "./disposable-domains.ts";
import { EmailSignalsConfigSchema, createEmailSignals } from "./email-config.ts";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "rempart-disposable-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("DisposableDomains", () => {
  it("loads the package's list once, whole", async () => {
    const list = disposableEmailBlocklist();
    const set = await DisposableDomains.load();
    assert.ok(list.length > 1000, "the package ships a real list");
    assert.ok(set.size > list.length * 0.99, `${set.size} of ${list.length} kept`);
    for (const d of [list[0]!, list[Math.floor(list.length / 2)]!, list[list.length - 1]!]) {
      assert.equal(set.has(d), true, d);
    }
    assert.equal(set.has("mailinator.com"), true);
  });

  const set = new DisposableDomains({
    base: ["mailinator.com", "Trash-Mail.example", "bücher-weg.example"],
    extra: ["burner.test"],
    allow: ["good.mailinator.com"],
  });

  it("matches a listed domain and its subdomains, in any case, with a trailing dot", () => {
    for (const d of [
      "mailinator.com",
      "a.b.mailinator.com",
      "MAILINATOR.COM",
      "mailinator.com.",
      "trash-mail.example",
      "burner.test",
      "xn--bcher-weg-q9a.example",
    ]) {
      assert.equal(set.has(d), true, d);
    }
  });

  it("does not match a parent, a lookalike suffix or an unlisted domain", () => {
    for (const d of ["com", "notmailinator.com", "mailinator.com.evil.example", "gmail.com", ""]) {
      assert.equal(set.has(d), false, d);
    }
  });

  it("lets an allowed domain and its subdomains win over the lists", () => {
    assert.equal(set.has("good.mailinator.com"), false);
    assert.equal(set.has("x.good.mailinator.com"), false);
    assert.equal(set.has("bad.mailinator.com"), true);
  });

  it("reads a file of additions with comments", async () => {
    const file = join(dir, "extra.txt");
    await writeFile(
      file,
      "# local burners\nburner-one.test\n\n  Burner-Two.test  # seen 2026-01\n#x.test\n",
    );
    assert.deepEqual(parseDomainList("a.test\r\n# c\nb.test # d\n"), ["a.test", "b.test"]);
    const loaded = await DisposableDomains.load({ base: [], extraFile: file });
    assert.equal(loaded.size, 2);
    assert.equal(loaded.has("burner-two.test"), true);
    assert.equal(loaded.has("x.test"), false);
  });

  it("says which file it cannot read", async () => {
    const file = join(dir, "missing.txt");
    await assert.rejects(DisposableDomains.load({ extraFile: file }), (e: unknown) => {
      assert.ok(isRempartError(e));
      assert.equal(e.code, "SOURCE_UNREADABLE");
      assert.match(e.message, /missing\.txt/);
      return true;
    });
  });
});

describe("EmailSignalsConfigSchema", () => {
  it("has defaults for everything", () => {
    const c = EmailSignalsConfigSchema.parse({});
    assert.deepEqual(c.disposable, { extra_domains: [], allow_domains: [] });
    assert.equal(c.mx.enabled, true);
    assert.equal(c.mx.timeout, "300ms");
  });

  it("refuses unknown keys, bad domains, bad durations and bad servers", () => {
    for (const bad of [
      { x: 1 },
      { disposable: { extra_domains: ["not a domain"] } },
      { disposable: { allow_domain: [] } },
      { mx: { timeout: "soon" } },
      { mx: { servers: ["dns.example.org"] } },
      { mx: { servers: [] } },
    ]) {
      assert.equal(EmailSignalsConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
    assert.equal(
      EmailSignalsConfigSchema.safeParse({ mx: { servers: ["127.0.0.1:5353", "[::1]:53", "::1"] } })
        .success,
      true,
    );
  });

  it("builds the signals, without an MX checker when disabled", async () => {
    const on = await createEmailSignals(
      EmailSignalsConfigSchema.parse({ disposable: { extra_domains: ["x.test"] } }),
      { base: [] },
    );
    assert.equal(on.disposable.has("x.test"), true);
    assert.ok(on.mx !== undefined);
    on.close();
    const off = await createEmailSignals(
      EmailSignalsConfigSchema.parse({ mx: { enabled: false } }),
      {
        base: [],
      },
    );
    assert.equal(off.mx, undefined);
  });
});
