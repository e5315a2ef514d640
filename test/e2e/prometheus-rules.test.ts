/**
 * The alerting rules operators load (docs/prometheus/rempart-alerts.yml), checked and unit-
 * tested by Prometheus's own promtool (Debian package prometheus): each rule parses, and fires
 * on the series of prometheus-rules.test.yml when it should, with the labels and words given
 * there, and not before.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const PROMTOOL = "/usr/bin/promtool";
const missing =
  spawnSync(PROMTOOL, ["--version"]).status !== 0
    ? "needs promtool (Debian package prometheus)"
    : false;
const path = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

test(
  "promtool checks Rempart's alerting rules and passes their unit tests",
  { skip: missing },
  () => {
    const check = spawnSync(
      PROMTOOL,
      ["check", "rules", path("../../docs/prometheus/rempart-alerts.yml")],
      {
        encoding: "utf8",
      },
    );
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /SUCCESS: 10 rules found/);
    const unit = spawnSync(PROMTOOL, ["test", "rules", path("prometheus-rules.test.yml")], {
      encoding: "utf8",
    });
    assert.equal(unit.status, 0, unit.stdout + unit.stderr);
    assert.match(unit.stdout, /SUCCESS/);
  },
);
