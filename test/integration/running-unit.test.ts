// docs/running.md gives operators a systemd unit to copy: it must be one systemd accepts, and
// it must start the daemon with the flags the `rempart` command uses.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { NODE_FLAGS } from "../../bin/entry.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const doc = readFileSync(join(ROOT, "docs/running.md"), "utf8");
const unit = /```ini\n([\s\S]*?)```/.exec(doc)?.[1];
const run = promisify(execFile);

async function hasSystemdAnalyze(): Promise<boolean> {
  try {
    await run("systemd-analyze", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

describe("the systemd unit in docs/running.md", () => {
  it("starts the daemon with the rempart command's Node flags", () => {
    assert.ok(unit !== undefined, "docs/running.md has an ini block");
    const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1];
    assert.equal(
      exec,
      `/opt/rempart/node_modules/.bin/node ${NODE_FLAGS.join(" ")} /opt/rempart/bin/rempart.js start --config /etc/rempart/rempart.yaml`,
    );
  });

  it("is accepted by systemd-analyze verify", async (t) => {
    if (!(await hasSystemdAnalyze())) {
      t.skip("systemd-analyze is not installed (Debian package systemd)");
      return;
    }
    // This checkout stands for /opt/rempart, so that the command it names exists.
    const dir = await mkdtemp(join(tmpdir(), "rempart-unit-"));
    try {
      const file = join(dir, "rempart.service");
      await writeFile(file, unit!.replaceAll("/opt/rempart", ROOT));
      const { stderr } = await run("systemd-analyze", ["verify", file]);
      assert.equal(stderr.trim(), "", "systemd-analyze verify prints nothing for a sound unit");
      // and it does complain about a broken one: the check above can fail
      await writeFile(file, unit!.replaceAll("/opt/rempart", ROOT).replace("=strict", "=bogus"));
      const broken = await run("systemd-analyze", ["verify", file]).catch(
        (e: unknown) => e as { stderr: string },
      );
      assert.match(broken.stderr, /protect system value/i);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
