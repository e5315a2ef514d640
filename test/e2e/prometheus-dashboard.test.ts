/**
 * The Grafana dashboard's queries, run by a real Prometheus (Debian package prometheus) that
 * scrapes a real daemon (`rempart start`) while it works: every query must be one Prometheus
 * accepts, and the core panels must show data. (Grafana itself is not in Debian; what it adds
 * to a query is its variables, substituted here as it would.)
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { apiCaller, createKey, startDaemon, writeDaemonConfig } from "../support/daemon.ts";
import { freePort } from "../support/free-port.ts";

const PROMETHEUS = "/usr/bin/prometheus";
const missing =
  spawnSync(PROMETHEUS, ["--version"]).status !== 0
    ? "needs Prometheus (Debian package prometheus)"
    : false;

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly targets?: readonly { readonly expr: string }[];
}
interface QueryAnswer {
  readonly status: string;
  readonly error?: string;
  readonly data?: { readonly result: readonly unknown[] };
}

/** Panels that must show data once the daemon has worked a little. */
const WITH_DATA = [
  "Decisions in force",
  "Decisions made (1 h)",
  "Events per second, by type",
  "Guard verdicts per second",
  "API requests per second, by route",
  "Resident memory",
  "CPU",
];

test(
  "every query of the Grafana dashboard runs in Prometheus against a working daemon",
  { skip: missing, timeout: 120_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-prometheus-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const config = await writeDaemonConfig(dir, [
      "sources: []",
      "guard:",
      "  email: { mx: { enabled: false } }",
    ]);
    const key = await createKey(config);
    const daemon = startDaemon(config);
    t.after(() => daemon.stop());
    const api = new URL(await daemon.url());
    const ask = apiCaller(api.origin, key);
    let n = 0;
    /** A little of everything the dashboard graphs: a decision, assessments, look-ups. */
    const work = async (): Promise<void> => {
      n++;
      await ask("POST", "/v1/decisions", {
        action: "ban",
        scope: "ip",
        value: `198.51.100.${n % 250}`,
        duration: "1h",
        reason: "e2e",
      });
      for (let i = 0; i < 5; i++)
        await ask("POST", "/v1/guard/assess", {
          form: "petition",
          ip: `203.0.113.${(n * 5 + i) % 250}`,
          fields: { name: `Person ${n}-${i}` },
        });
      await ask("GET", "/v1/check?ip=192.0.2.1");
    };
    await work();

    const promPort = await freePort();
    const promConfig = join(dir, "prometheus.yml");
    await writeFile(
      promConfig,
      `global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: rempart
    static_configs: [{ targets: ["${api.host}"] }]
`,
    );
    const prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${promConfig}`,
        `--storage.tsdb.path=${join(dir, "tsdb")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let promErr = "";
    prometheus.stderr.on("data", (b: Buffer) => (promErr = (promErr + b.toString()).slice(-4000)));
    t.after(async () => {
      if (prometheus.exitCode !== null) return;
      const exited = new Promise((resolve) => prometheus.once("exit", resolve));
      prometheus.kill("SIGTERM");
      await exited;
    });
    const query = async (q: string): Promise<QueryAnswer> => {
      const r = await fetch(
        `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`,
      );
      return (await r.json()) as QueryAnswer;
    };
    // Scraped, then a few seconds of work so that every rate has samples to compare.
    const end = Date.now() + 30_000;
    for (;;) {
      const up = await query('up{job="rempart"} == 1').catch(() => undefined);
      if ((up?.data?.result.length ?? 0) > 0) break;
      assert.ok(Date.now() < end, `Prometheus did not scrape the daemon:\n${promErr}`);
      await sleep(250);
    }
    for (let i = 0; i < 6; i++) {
      await work();
      await sleep(1_000);
    }

    const dashboard = JSON.parse(
      await readFile(new URL("../../docs/grafana/rempart.json", import.meta.url), "utf8"),
    ) as { readonly panels: readonly Panel[] };
    // Grafana's variables, as it substitutes them: every node, and a rate window.
    const grafana = (expr: string): string =>
      expr.replaceAll("$__rate_interval", "30s").replaceAll("$instance", ".*");
    let ran = 0;
    for (const p of dashboard.panels) {
      for (const target of p.targets ?? []) {
        const answer = await query(grafana(target.expr));
        assert.equal(answer.status, "success", `${p.title}: ${target.expr}: ${answer.error}`);
        ran++;
        if (WITH_DATA.includes(p.title))
          assert.ok(
            (answer.data?.result.length ?? 0) > 0,
            `${p.title}: ${target.expr} shows nothing`,
          );
      }
    }
    assert.ok(ran >= 20, `${ran} queries ran`);
    for (const title of WITH_DATA)
      assert.ok(
        dashboard.panels.some((p) => p.title === title),
        `no panel "${title}" any longer`,
      );
    // The node picker's query.
    const instances = (await (
      await fetch(
        `http://127.0.0.1:${promPort}/api/v1/label/instance/values?match[]=rempart_active_decisions`,
      )
    ).json()) as { data: string[] };
    assert.deepEqual(instances.data, [api.host]);
  },
);
