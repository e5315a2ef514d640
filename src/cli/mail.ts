/**
 * `rempart mail release ACCOUNT`: after a review, lift the account's hold and suspension and
 * release its held messages (`postsuper -H`), or delete them (`--delete`, `postsuper -d`).
 */
import { parseArgs } from "node:util";
import { RempartError } from "../core/index.ts";
import { heldFor, postsuper, readQueue, type PostfixTools } from "../mail/index.ts";
import { call, clientOptions } from "./api-client.ts";

const USAGE =
  "rempart mail release ACCOUNT [--delete] [--sender ADDRESS]... [--postfix-config DIR] [--url URL] [--key KEY]";

interface ApiDecision {
  readonly id: string;
  readonly action: string;
}

export async function cmdMail(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "release")
    throw new RempartError("USAGE", `mail: unknown subcommand "${sub ?? ""}"`, { hint: USAGE });
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        delete: { type: "boolean" },
        sender: { type: "string", multiple: true },
        "postfix-config": { type: "string" },
        url: { type: "string" },
        key: { type: "string" },
      },
    });
  } catch (e) {
    throw new RempartError("USAGE", `mail release: ${(e as Error).message}`, { hint: USAGE });
  }
  const { values: v, positionals } = parsed;
  if (positionals.length !== 1)
    throw new RempartError("USAGE", "mail release: give one account", { hint: USAGE });
  const account = positionals[0]!;
  const tools: PostfixTools =
    v["postfix-config"] === undefined ? {} : { configDir: v["postfix-config"] };
  const api = clientOptions(v.url, v.key);

  // Lift the decisions first, so nothing new is held while the queue is being released.
  let lifted = 0;
  let liftNote = "";
  try {
    for (const scope of ["account", "email"]) {
      // Mail logins are kept in lower case (docs/postfix.md), as e-mail addresses are.
      const q = new URLSearchParams({ scope, value: account.toLowerCase(), active: "true" });
      const r = (await call(api, "GET", `/v1/decisions?${q.toString()}`)) as {
        decisions: ApiDecision[];
      };
      for (const d of r.decisions.filter((x) => x.action === "hold" || x.action === "suspend")) {
        await call(api, "DELETE", `/v1/decisions/${encodeURIComponent(d.id)}`);
        lifted++;
      }
    }
  } catch (e) {
    liftNote = ` (decisions not lifted: ${(e as Error).message})`;
  }

  let held;
  try {
    held = heldFor(await readQueue(tools), [account, ...(v.sender ?? [])]);
    await postsuper(
      v.delete === true ? "delete" : "release",
      held.map((m) => m.id),
      tools,
    );
  } catch (e) {
    // The decisions are gone already: say so, or the operator would think nothing happened.
    if (e instanceof RempartError)
      throw new RempartError(
        e.code,
        `${account}: ${lifted} decision(s) lifted${liftNote}, but its held mail was not ${v.delete === true ? "deleted" : "released"}: ${e.message}`,
        {
          cause: e,
          hint: e.hint ?? "release it with postsuper -H, or run this again once Postfix answers",
        },
      );
    throw e;
  }
  process.stdout.write(
    `${account}: ${lifted} decision(s) lifted${liftNote}; ${held.length} held message(s) ${v.delete === true ? "deleted" : "released"}\n`,
  );
  return liftNote === "" ? 0 : 1;
}
