/**
 * The guard end to end, as people and scripts meet it: the real daemon (`rempart start`), the
 * example application (`rempart demo`) asking it through the JS client, and Debian's Chromium
 * driven by playwright-core. (a) A person's page solves the invisible proof of work and the
 * signature is accepted; (b) a script posting the form directly is refused or challenged;
 * (c) a flood from two /24s turns the under-attack mode on — the daemon then challenges those
 * networks — while a person from another network still signs.
 *
 * All on 127.0.0.1. Rempart never acts on loopback, so the clients are documentation addresses
 * that the demo (`--trust-forwarded-for`) reads from X-Forwarded-For.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { BrowserContext, Page } from "playwright-core";
import { launchChromium } from "../support/chromium.ts";
import { apiCaller, createKey, startDaemon, writeDaemonConfig } from "../support/daemon.ts";
import { BIN } from "../support/replay.ts";

/** The two networks the flood comes from, and the people's. */
const FLOOD_NETS = ["198.51.100", "203.0.113"] as const;
const PERSON = "192.0.2.10";
const LATER_PERSON = "192.0.2.30";
const SCRIPT = "192.0.2.20";

/** `rempart demo` as a user starts it; resolves with its address once it serves. */
async function startDemo(
  args: readonly string[],
): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, "demo", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr.on("data", (b: Buffer) => (err += b.toString()));
  const end = Date.now() + 20_000;
  for (;;) {
    const url = /demo: served at (http:\/\/127\.0\.0\.1:\d+)\//.exec(err)?.[1];
    if (url !== undefined) return { child, url, stderr: () => err };
    if (Date.now() > end || child.exitCode !== null)
      throw new Error(`rempart demo did not start:\n${err}`);
    await sleep(50);
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/**
 * The slice of the page's `document` the test reads (this project compiles without the DOM
 * types). Functions, not strings, go to the page (its CSP forbids evaluating strings), and
 * they run there alone: they may name nothing of this module.
 */
interface PageDocument {
  querySelector(selector: string): { value: string } | null;
  readyState: string;
  rempartOld?: boolean;
}
type PageGlobal = { document: PageDocument };

/** The page's outcome, as the demo marks it on <main>. */
const outcome = (page: Page): Promise<string | null> =>
  page.locator("main").getAttribute("data-outcome");

/**
 * A person signs in the browser, from `ip`: fills the form, lets the widget finish its work,
 * submits; on a challenge, waits for the harder work and submits again, as a person would.
 */
async function signAsPerson(context: BrowserContext, demo: string, ip: string): Promise<string> {
  const page = await context.newPage();
  try {
    await page.setExtraHTTPHeaders({ "x-forwarded-for": ip });
    await page.goto(`${demo}/petition`);
    await page.fill('input[name="name"]', "Ada Lovelace");
    await page.fill('input[name="email"]', "ada@example.org");
    await page.fill('textarea[name="comment"]', "Keep the pond.");
    for (let round = 0; round < 3; round++) {
      // The widget puts its payload in the form once the proof of work is done.
      await page.waitForFunction(
        () =>
          ((globalThis as unknown as PageGlobal).document.querySelector('input[name="altcha"]')
            ?.value ?? "") !== "",
        undefined,
        {
          timeout: 60_000,
        },
      );
      await sleep(1_200); // people take longer than the form's min_fill (1s here)
      // The answer is a new document: wait until the old one, marked here, is gone.
      await page.evaluate(
        () => void ((globalThis as unknown as PageGlobal).document.rempartOld = true),
      );
      await page.click('button[type="submit"]');
      await page.waitForFunction(
        () =>
          (globalThis as unknown as PageGlobal).document.rempartOld !== true &&
          (globalThis as unknown as PageGlobal).document.readyState === "complete",
      );
      const o = await outcome(page);
      if (o !== "challenge") return o ?? "";
    }
    return "challenge";
  } finally {
    await page.close();
  }
}

/** A direct POST to the demo, as a script would send it, from `ip`. */
async function postForm(demo: string, ip: string, form: Record<string, string>): Promise<Response> {
  return fetch(`${demo}/petition`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": ip },
    body: new URLSearchParams(form).toString(),
  });
}

const outcomeOf = (html: string): string | undefined =>
  /<main data-outcome="([a-z]+)"/.exec(html)?.[1];

test(
  "a person signs in Chromium, a script does not, a flood from two networks turns the under-attack mode on",
  { timeout: 240_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-guard-e2e-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const config = await writeDaemonConfig(dir, [
      // The demo relays the widget's challenge with the browser's address.
      "  trusted_proxies: [127.0.0.1/32]",
      "sources: []",
      "guard:",
      // No DNS look-ups of real names in tests.
      "  email: { mx: { enabled: false } }",
      "  forms:",
      "    petition:",
      "      min_fill: 1s",
      "      identities: [[name], [comment]]",
      // Low enough to reach in a test; the browser's own few fetches stay far below it.
      "  challenges_per_address: 30",
      // A flood the test can afford: a few hundred posts in seconds, not thousands a minute.
      "surge:",
      "  interval: 10s",
      "  min_rate: 40",
      "  new_target_rate: 100",
      "  evaluate_every: 1s",
      "  range: { min_hits: 20, min_addresses: 8 }",
    ]);
    // An admin key for the test's own questions to the API (the demo makes its own sensor key).
    const adminKey = await createKey(config);

    const daemon = startDaemon(config);
    t.after(() => daemon.stop());
    const api = await daemon.url();
    const demo = await startDemo([
      "--config",
      config,
      "--api",
      api,
      "--listen",
      "127.0.0.1:0",
      "--trust-forwarded-for",
    ]);
    t.after(() => stop(demo.child));

    const context = await launchChromium(join(dir, "chromium"));
    t.after(() => context.close());

    const ask = apiCaller(api, adminKey);

    await t.test(
      "(a) the page solves the proof of work and the signature is accepted",
      async () => {
        assert.equal(
          await signAsPerson(context, demo.url, PERSON),
          "signed",
          `demo: ${demo.stderr()}`,
        );
      },
    );

    await t.test("(b) a script posting the form directly is refused or challenged", async () => {
      const res = await postForm(demo.url, SCRIPT, {
        name: "Jeff Bezos",
        email: "jeff@example.org",
        comment: "déso pas déso",
      });
      const o = outcomeOf(await res.text());
      // Not `verify`: holding it would make the site mail an address a script made up.
      assert.ok(o === "refused" || o === "challenge", `the script's post came back ${o}`);
      if (o === "refused") assert.equal(res.status, 403);
    });

    await t.test(
      "(c) a flood from two /24s: those networks are challenged, others sign",
      async () => {
        const posts: Promise<void>[] = [];
        let sent = 0;
        const flood = async (): Promise<void> => {
          while (sent < 600) {
            const i = sent++;
            const ip = `${FLOOD_NETS[i % 2]!}.${1 + ((i >> 1) % 40)}`;
            const res = await postForm(demo.url, ip, {
              name: i % 3 === 0 ? "Bill Gates" : "Jeff Bezos",
              email: `fake${i}@example.org`,
              comment: "déso pas déso",
            });
            await res.arrayBuffer();
          }
        };
        for (let w = 0; w < 16; w++) posts.push(flood());
        await Promise.all(posts);

        // Through the API: an address of those /24s that never posted is challenged (or worse),
        // for its network; or the surge put a decision on the range itself.
        const ranges = FLOOD_NETS.map((n) => `${n}.0/24`);
        const probe = async (): Promise<{ hit: boolean; seen: string }> => {
          const { decisions } = (await ask("GET", "/v1/decisions?scope=range")) as {
            decisions: { value: string; action: string }[];
          };
          const a = (await ask("POST", "/v1/guard/assess", {
            form: "petition",
            ip: `${FLOOD_NETS[0]}.200`,
            email: "someone@example.org",
            fields: { name: "Someone Else", comment: "hello" },
          })) as { verdict: string; reasons: string[] };
          const onRange = decisions.some((d) => ranges.includes(d.value));
          const network = a.reasons.includes("concentrated-network");
          return {
            hit: a.verdict !== "allow" && (onRange || network),
            seen: `verdict ${a.verdict} (${a.reasons.join(", ")}); range decisions: ${JSON.stringify(decisions)}`,
          };
        };
        let p = await probe();
        for (const end = Date.now() + 30_000; !p.hit; p = await probe()) {
          assert.ok(Date.now() < end, `the flood did not turn the under-attack mode on: ${p.seen}`);
          await sleep(500);
        }
        t.diagnostic(`under attack: ${p.seen}`);

        assert.equal(
          await signAsPerson(context, demo.url, LATER_PERSON),
          "signed",
          `a person from another network during the flood (${p.seen})`,
        );
      },
    );

    await t.test(
      "(d) the public challenge endpoint refuses an address past its limit",
      async () => {
        const fetchChallenge = (ip: string): Promise<Response> =>
          fetch(`${api}/v1/guard/challenge?form=petition`, { headers: { "x-forwarded-for": ip } });
        for (let i = 0; i < 30; i++) {
          const res = await fetchChallenge("203.0.113.77");
          assert.equal(res.status, 200, `challenge ${i + 1} of the allowed 30`);
          await res.arrayBuffer();
        }
        const refused = await fetchChallenge("203.0.113.77");
        assert.equal(refused.status, 429);
        assert.equal(refused.headers.get("retry-after"), "30");
        assert.equal(((await refused.json()) as { code: string }).code, "RATE_LIMITED");
        const other = await fetchChallenge("203.0.113.78");
        assert.equal(other.status, 200, "another address is not refused");
        await other.arrayBuffer();
      },
    );
  },
);
