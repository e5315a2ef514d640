import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isRempartError } from "../core/index.ts";
import { loadScenarios } from "./compose.ts";

const FLOOD = `name: http-flood
description: a stricter flood limit
kind: leaky
filter: type == "http.request"
key: ip
capacity: 50
leak: 1s
decision:
  action: ban
  duration: 1h
`;

test("an operator's scenario with a built-in's name replaces it; two of their own clash", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-scenarios-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "flood.yaml"), FLOOD);
  const scenarios = await loadScenarios({ scenarios: { dirs: [dir], disable: [] } });
  const floods = scenarios.filter((s) => s.name === "http-flood");
  assert.equal(floods.length, 1);
  assert.equal(floods[0]!.description, "a stricter flood limit");
  assert.ok(
    scenarios.some((s) => s.name === "mail-bruteforce"),
    "the other built-ins stay",
  );
  // Disabling it by name disables the replacement too.
  const off = await loadScenarios({ scenarios: { dirs: [dir], disable: ["http-flood"] } });
  assert.ok(!off.some((s) => s.name === "http-flood"));

  await writeFile(join(dir, "flood-again.yaml"), FLOOD);
  await assert.rejects(
    loadScenarios({ scenarios: { dirs: [dir], disable: [] } }),
    (e: unknown) =>
      isRempartError(e) &&
      e.code === "SCENARIO_INVALID" &&
      /flood\.yaml:1: http-flood: scenario name already used at .*flood-again\.yaml:1/.test(
        e.message,
      ),
  );
});

test("an unknown name in scenarios.disable names the configuration file", async () => {
  await assert.rejects(
    loadScenarios({
      scenarios: { dirs: [], disable: ["mail-brutforce"] },
      origin: "/etc/rempart/rempart.yaml",
    }),
    (e: unknown) =>
      isRempartError(e) &&
      e.message ===
        "/etc/rempart/rempart.yaml: scenarios.disable names unknown scenarios: mail-brutforce",
  );
});
