import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { NODE_NAME, nodeName } from "./node-name.ts";

test("a node's name: configured, else kept in data_dir/node from the host's name", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-node-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.equal(await nodeName({ data_dir: dir, node_name: "mx1" }), "mx1");
  const data = join(dir, "data");
  const first = await nodeName({ data_dir: data });
  assert.match(first, NODE_NAME);
  assert.equal(
    first,
    hostname()
      .replace(/[^A-Za-z0-9_.-]/g, "-")
      .slice(0, 48) || first,
  );
  assert.equal(await readFile(join(data, "node"), "utf8"), `${first}\n`);
  // Kept: a later host name does not change it.
  await writeFile(join(data, "node"), "mx-kept\n");
  assert.equal(await nodeName({ data_dir: data }), "mx-kept");
  // Concurrent first starts agree on one name.
  const fresh = join(dir, "fresh");
  const names = await Promise.all([1, 2, 3].map(() => nodeName({ data_dir: fresh })));
  assert.equal(new Set(names).size, 1);
});
