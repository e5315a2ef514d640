/**
 * The look-up page and its appeal, as a person meets them: real nginx with docs/reputation.md's
 * locations in front of `rempart start`, and Debian's Chromium in French. The visitor's address
 * is banned; the page says so (without the reason), the person appeals through its form, and
 * once an operator forgives the appeal the page says nothing is held any more.
 *
 * All on loopback. The visitor's address is a documentation address that Chromium sends as
 * X-Forwarded-For; nginx takes it from loopback (real_ip) and passes it on, and Rempart trusts
 * nginx (http.trusted_proxies).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { launchChromium } from "../support/chromium.ts";
import {
  apiCaller,
  createKey,
  rempartCli,
  startDaemon,
  writeDaemonConfig,
} from "../support/daemon.ts";
import { nginxMissing, startNginx } from "../support/nginx.ts";

const VISITOR = "198.51.100.61";

test(
  "a banned visitor sees it on the look-up page, appeals, and is forgiven",
  { skip: nginxMissing, timeout: 120_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-appeal-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const config = await writeDaemonConfig(dir, [
      "  trusted_proxies: [127.0.0.1/32]",
      "sources: []",
    ]);
    const daemon = startDaemon(config);
    t.after(() => daemon.stop());
    const api = await daemon.url();
    const adminKey = await createKey(config);
    const admin = apiCaller(api, adminKey);
    await admin("POST", "/v1/decisions", {
      action: "ban",
      scope: "ip",
      value: VISITOR,
      duration: "1d",
      reason: "guessed marie@example.org's password",
    });

    // docs/reputation.md's locations, with the test's address for Rempart.
    const nginx = await startNginx(
      dir,
      () => `
    location /.rempart/lookup/ {
      proxy_pass ${api}/v1/lookup/;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
    location = /.rempart/appeals {
      proxy_pass ${api}/v1/appeals;
      proxy_set_header X-Forwarded-For $remote_addr;
    }`,
      {
        http: "  set_real_ip_from 127.0.0.0/8;\n  real_ip_header X-Forwarded-For;",
        probe: "/.rempart/lookup/",
      },
    );
    t.after(() => nginx.stop());
    const site = `http://127.0.0.1:${nginx.port}`;

    const context = await launchChromium(join(dir, "chromium"), {
      locale: "fr-FR",
      headers: { "x-forwarded-for": VISITOR },
    });
    t.after(() => context.close());
    const page = await context.newPage();
    await page.goto(`${site}/.rempart/lookup/`);
    assert.equal(await page.locator("h1").textContent(), "Cette adresse est-elle listée ici ?");
    assert.equal(await page.locator('input[name="ip"]').first().inputValue(), VISITOR);
    const text = (await page.locator("main").textContent()) ?? "";
    assert.match(text, /bloquée \(198\.51\.100\.61, par un opérateur\)/);
    assert.doesNotMatch(text, /marie@example\.org/, "the reason stays with the operator");

    await page.locator('input[name="contact"]').fill("paul@example.org");
    await page.locator('textarea[name="message"]').fill("C'est la connexion de la médiathèque.");
    await page.locator('form[method="post"] button').click();
    await page.waitForURL(/appeal=sent/);
    assert.equal(new URL(page.url()).pathname, "/.rempart/lookup/");
    assert.match(
      (await page.locator("p.sent").textContent()) ?? "",
      /Votre demande a bien été reçue/,
    );
    assert.equal(await page.locator('form[method="post"]').count(), 0, "one appeal at a time");

    // The operator answers with the command line.
    const rempart = rempartCli(api, adminKey);
    const listed = await rempart("appeals", "list");
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(
      listed.stdout,
      /open {2}198\.51\.100\.61 {2}from 198\.51\.100\.61 {2}<paul@example\.org>/,
    );
    assert.match(listed.stdout, /^ {4}C'est la connexion de la médiathèque\.$/m);
    const { appeals } = JSON.parse((await rempart("appeals", "list", "--json")).stdout) as {
      appeals: { id: string; ip: string; contact: string; message: string; sender: string }[];
    };
    assert.equal(appeals.length, 1);
    assert.equal(appeals[0]!.ip, VISITOR);
    assert.equal(appeals[0]!.sender, VISITOR, "the visitor's address, through nginx");
    assert.equal(appeals[0]!.contact, "paul@example.org");
    assert.equal(appeals[0]!.message, "C'est la connexion de la médiathèque.");
    const done = await rempart(
      "appeals",
      "forgive",
      appeals[0]!.id,
      "--note",
      "a library's connection",
    );
    assert.equal(done.code, 0, done.stderr);
    assert.match(
      done.stdout,
      /^forgiven: \S+ \(198\.51\.100\.61\): 1 decisions lifted, 1 reports forgotten$/m,
    );
    assert.match(done.stdout, /\(answer them at paul@example\.org\)/);
    const again = await rempart("appeals", "refuse", appeals[0]!.id);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no open appeal has the id/);

    await page.goto(`${site}/.rempart/lookup/`);
    const after = (await page.locator("main").textContent()) ?? "";
    assert.match(after, /Rien n'est retenu contre 198\.51\.100\.61 ici\./);
    assert.match(after, /La dernière demande pour cette adresse a été acceptée\./);
    const check = (await admin("GET", `/v1/check?ip=${VISITOR}`)) as { verdict: string };
    assert.equal(check.verdict, "allow");
  },
);
