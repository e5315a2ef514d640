import { err } from "../../core/index.ts";
import { ListBuilder, listLines, type ListParser } from "./list-builder.ts";

// `Downloaded` heads CollecTor's archived copies (after `@type tordnsel 1.0`).
const KEYWORDS = new Set(["Downloaded", "ExitNode", "Published", "LastStatus", "ExitAddress"]);

/**
 * The Tor Project's `exit-addresses` document: blocks of `ExitNode <fingerprint>`,
 * `Published`, `LastStatus` and one or more `ExitAddress <ip> <date> <time>` lines. Only the
 * `ExitAddress` lines give entries; the note is the relay's fingerprint.
 */
export const parseTorExitAddresses: ListParser = (text, options) => {
  const lines = listLines(text, "tor-exit");
  if (!lines.ok) return lines;
  const b = new ListBuilder("tor-exit", options);
  let node: string | undefined;
  for (let i = 0; i < lines.value.length; i++) {
    const line = lines.value[i]!.trim();
    if (line === "" || line.startsWith("@")) continue; // `@type tordnsel 1.0` annotations
    const words = line.split(/\s+/);
    const keyword = words[0]!;
    let e;
    if (!KEYWORDS.has(keyword))
      e = b.invalid(i + 1, `unknown keyword ${JSON.stringify(keyword.slice(0, 30))}`);
    else if (keyword === "ExitNode") node = words[1];
    else if (keyword === "ExitAddress") {
      e =
        words[1] === undefined
          ? b.invalid(i + 1, "ExitAddress without an address")
          : b.add(words[1], i + 1, node === undefined ? undefined : `exit ${node}`, true);
    }
    if (e) return err(e);
  }
  return b.result();
};
