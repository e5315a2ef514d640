// The `rempart` command's Node flags live in three places that cannot share code: the shebang
// of bin/rempart.js, `npm start` in package.json, and NODE_FLAGS (the hand-over from an older
// Node). A change to one that misses another would run the daemon with a heap nobody measured.
// (The systemd unit of docs/running.md is held to the same flags by running-unit.test.ts.)
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { NODE_FLAGS } from "../../bin/entry.js";

const read = (path: string): string =>
  readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

describe("the rempart command's Node flags", () => {
  it("are the same in the shebang, in npm start and in NODE_FLAGS", () => {
    const flags = NODE_FLAGS.join(" ");
    assert.ok(flags.length > 0);
    const shebang = read("bin/rempart.js").split("\n")[0];
    assert.equal(shebang, `#!/usr/bin/env -S node ${flags}`);
    const pkg = JSON.parse(read("package.json")) as { scripts: { start: string } };
    assert.equal(pkg.scripts.start, `node ${flags} bin/rempart.js start`);
  });
});
