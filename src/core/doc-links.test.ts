// Links between the documents must lead somewhere: a file that exists and, for `#anchor`, a
// heading of it (GitHub's anchors: lower case, punctuation dropped, spaces as hyphens).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, normalize } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** GitHub's anchor for a heading's text. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

const anchors = new Map<string, Set<string>>();
async function anchorsOf(file: string): Promise<Set<string>> {
  let set = anchors.get(file);
  if (set === undefined) {
    const text = await readFile(file, "utf8");
    set = new Set(
      [...text.replace(/```[\s\S]*?```/g, "").matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
        anchorOf(m[1]!),
      ),
    );
    anchors.set(file, set);
  }
  return set;
}

test("anchors are GitHub's", () => {
  assert.equal(anchorOf("The challenge page and its pass"), "the-challenge-page-and-its-pass");
  assert.equal(anchorOf("nginx (`auth_request`)"), "nginx-auth_request");
  assert.equal(anchorOf("Forward-auth: nginx, Caddy, Traefik"), "forward-auth-nginx-caddy-traefik");
  assert.equal(anchorOf("What survives a restart"), "what-survives-a-restart");
});

test("every link between the documents leads to a file and a heading that exist", async () => {
  const docs = (await readdir(join(root, "docs")))
    .filter((f) => f.endsWith(".md"))
    .map((f) => join(root, "docs", f));
  const broken: string[] = [];
  let links = 0;
  for (const file of [join(root, "README.md"), ...docs]) {
    const text = (await readFile(file, "utf8")).replace(/```[\s\S]*?```/g, "");
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      links++;
      const [path = "", anchor] = target.split("#");
      const to = path === "" ? file : normalize(join(dirname(file), path));
      const where = `${file.slice(root.length)} → ${target}`;
      if (!existsSync(to)) {
        broken.push(`${where}: no such file`);
        continue;
      }
      if (anchor !== undefined && to.endsWith(".md") && !(await anchorsOf(to)).has(anchor))
        broken.push(`${where}: no such heading`);
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(links > 50, `${links} links checked`);
});
