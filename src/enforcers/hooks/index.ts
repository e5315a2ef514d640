/**
 * Decision hooks: run a command, or call a webhook, when a subject comes to be held by a decision
 * of a given kind, or stops being held — to lock a suspended account in the user directory
 * (LDAP, SQL, a passwd file), open a ticket, page someone. Commands run without a shell,
 * arguments templated; webhooks are POSTed as JSON with an HMAC-SHA256 signature of the body.
 * Failures are logged and never block the pipeline.
 *
 * - `removed` fires when the subject is no longer held by any decision of that action: not when
 *   a longer decision replaces a shorter one, nor when one of two lists drops it.
 * - The runs for one subject are in order, across hooks (an unlock never overtakes the lock
 *   before it); at most MAX_RUNNING run at once, the others wait.
 * - A command that overruns its timeout is killed with the processes it started.
 */
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { access, constants } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { positiveDuration } from "../../config/schemas.ts";
import {
  ACTIONS,
  formatTime,
  parseDuration,
  RempartError,
  SCOPES,
  type Action,
  type Decision,
  type DecisionChange,
  type Scope,
} from "../../core/index.ts";
import type { EnforcerDeps, EnforcerPlugin, EnforcerService } from "../plugin.ts";

const HookSchema = z
  .strictObject({
    name: z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)"),
    on: z.enum(["added", "removed"]).default("added"),
    actions: z.array(z.enum(ACTIONS as [Action, ...Action[]])).min(1),
    scopes: z.array(z.enum(SCOPES as [Scope, ...Scope[]])).default(["account"]),
    command: z.array(z.string()).min(1).optional(),
    webhook: z
      .strictObject({
        url: z.url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" }),
        secret: z.string().min(16),
      })
      .optional(),
    timeout: positiveDuration.default("30s"),
  })
  .refine((h) => (h.command === undefined) !== (h.webhook === undefined), {
    message: "give either command or webhook",
  })
  .superRefine((h, ctx) => {
    (h.command ?? []).forEach((arg, i) => {
      for (const [, name] of arg.matchAll(/\{([A-Za-z_]+)\}/g))
        if (!PLACEHOLDERS.includes(name!))
          ctx.addIssue({
            code: "custom",
            path: ["command", i],
            message: `{${name}} is not a placeholder: use ${PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}`,
          });
    });
    if (h.command !== undefined && h.command[0] === "")
      ctx.addIssue({ code: "custom", path: ["command", 0], message: "name the program to run" });
  });

export const HooksConfigSchema = z.array(HookSchema).min(1);
export type HooksConfig = z.infer<typeof HooksConfigSchema>;
type Hook = HooksConfig[number];

const ms = (t: string): number => parseDuration(t)!;

/** Hook runs at once, all hooks together; the others wait their turn. */
export const MAX_RUNNING = 16;
/** Runs waiting beyond this are dropped, and said (a list of a million entries, say). */
const MAX_WAITING = 100_000;
/** After SIGTERM at the timeout, this long before SIGKILL. */
const KILL_GRACE_MS = 2_000;

const PLACEHOLDERS = ["value", "action", "scope", "scenario", "reason", "until", "id"];

/** `{value}`, `{action}`, `{scope}`, `{scenario}`, `{reason}`, `{until}`, `{id}` in an argument. */
export function expand(arg: string, d: Decision): string {
  const until = d.expiresAt === null ? "" : formatTime(d.expiresAt, 0);
  const values: Record<string, string> = {
    value: d.value,
    action: d.action,
    scope: d.scope,
    scenario: d.scenario,
    reason: d.reason,
    until,
    id: d.id,
  };
  return arg.replace(
    /\{(value|action|scope|scenario|reason|until|id)\}/g,
    (_, k: string) => values[k] ?? "",
  );
}

/** Signals the command's whole process group: what it started goes with it. */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function runCommand(hook: Hook, d: Decision): Promise<void> {
  const [cmd, ...args] = hook.command!.map((a) => expand(a, d));
  return new Promise((resolve, reject) => {
    // Its own process group, so that a timeout ends the programs it started too.
    const child = spawn(cmd!, args, { stdio: ["ignore", "ignore", "pipe"], detached: true });
    let err = "";
    let timedOut = false;
    child.stderr.on("data", (b: Buffer) => (err = (err + b.toString()).slice(-500)));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, "SIGTERM");
      setTimeout(() => killGroup(child.pid, "SIGKILL"), KILL_GRACE_MS).unref();
    }, ms(hook.timeout));
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // On exit, not close: a child it left behind may hold stderr open long after.
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      child.stderr.destroy();
      const said = err.trim().replace(/\s*\n\s*/g, " | ");
      if (code === 0) resolve();
      else if (timedOut) reject(new Error(`timed out after ${hook.timeout}`));
      else reject(new Error(`exited ${code ?? signal ?? "?"}${said === "" ? "" : `: ${said}`}`));
    });
  });
}

async function callWebhook(hook: Hook, change: DecisionChange): Promise<void> {
  const d = change.decision;
  const body = JSON.stringify({
    event: change.kind,
    hook: hook.name,
    decision: {
      id: d.id,
      action: d.action,
      scope: d.scope,
      value: d.value,
      scenario: d.scenario,
      reason: d.reason,
      until: d.expiresAt === null ? null : formatTime(d.expiresAt, 0),
      origin: d.origin,
    },
  });
  const signature = createHmac("sha256", hook.webhook!.secret).update(body).digest("hex");
  const res = await fetch(hook.webhook!.url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-rempart-signature": `sha256=${signature}` },
    body,
    signal: AbortSignal.timeout(ms(hook.timeout)),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

/** The running hooks; `settled` waits for the ones in flight (tests, shutdown). */
export function createHooks(
  hooks: HooksConfig,
  deps: EnforcerDeps,
): EnforcerService & { settled(): Promise<void> } {
  let unsubscribe: (() => void) | undefined;
  const running = new Set<Promise<void>>();
  /** The last run for each subject (of any hook): the next one starts after it. */
  const tails = new Map<string, Promise<void>>();
  let active = 0;
  const waiting: (() => void)[] = [];
  const slot = (): Promise<void> => {
    if (active < MAX_RUNNING) {
      active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  const run = async (hook: Hook, change: DecisionChange): Promise<void> => {
    await slot();
    try {
      await (hook.command ? runCommand(hook, change.decision) : callWebhook(hook, change));
      deps.log(
        `rempart: hook ${hook.name}: ${change.decision.action} ${change.decision.scope} ${change.decision.value} done`,
      );
    } catch (e) {
      deps.log(
        `rempart: hook ${hook.name} failed for ${change.decision.value}: ${e instanceof Error ? e.message : String(e)}`,
      );
    } finally {
      release();
    }
  };
  let dropped = 0;
  const fire = (hook: Hook, change: DecisionChange): void => {
    if (waiting.length >= MAX_WAITING) {
      if (dropped++ % 10_000 === 0)
        deps.log(
          `rempart: hook ${hook.name}: ${MAX_WAITING} runs waiting already; ${change.decision.value} and others skipped`,
        );
      return;
    }
    const d = change.decision;
    const key = `${d.scope}\u0000${d.value}`;
    const p = (tails.get(key) ?? Promise.resolve()).then(() => run(hook, change));
    tails.set(key, p);
    running.add(p);
    void p.finally(() => {
      running.delete(p);
      if (tails.get(key) === p) tails.delete(key);
    });
  };
  // A decision's end comes before the one that replaces it is in the book: looked at once the
  // change that caused it is complete.
  let ended: DecisionChange[] = [];
  const settleEnded = (): void => {
    const changes = ended;
    ended = [];
    for (const change of changes) {
      if (deps.book.heldByAnother(change.decision, deps.clock.now())) continue;
      for (const hook of hooks) if (matches(hook, change)) fire(hook, change);
    }
  };
  const matches = (hook: Hook, change: DecisionChange): boolean =>
    hook.on === change.kind &&
    hook.actions.includes(change.decision.action) &&
    hook.scopes.includes(change.decision.scope);
  return {
    async start() {
      await Promise.all(hooks.filter((h) => h.command !== undefined).map(checkProgram));
      unsubscribe = deps.feed.subscribe((change) => {
        if (change.kind === "removed") {
          if (ended.length === 0) queueMicrotask(settleEnded);
          ended.push(change);
          return;
        }
        for (const hook of hooks) if (matches(hook, change)) fire(hook, change);
      });
    },
    async stop() {
      unsubscribe?.();
      await Promise.all(running);
    },
    async settled() {
      await Promise.all(running);
    },
    describe: () =>
      `hooks: ${hooks.map((h) => `${h.name} (${h.on} ${h.actions.join("/")} on ${h.scopes.join("/")})`).join(", ")}`,
  };
}

/** A hook's program must exist and be executable: said at start, not at its first run. */
async function checkProgram(hook: Hook): Promise<void> {
  const program = hook.command![0]!;
  const candidates = program.includes("/")
    ? [program]
    : (process.env["PATH"] ?? "").split(":").map((dir) => join(dir || ".", program));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return;
    } catch {
      // Not this one.
    }
  }
  throw new RempartError(
    "CONFIG_INVALID",
    `hook ${hook.name}: ${program} ${program.includes("/") ? "does not exist or cannot be run" : "is not found in PATH"}`,
    { hint: "give enforcers.hooks[].command an executable program, by its absolute path" },
  );
}

export const hooksPlugin: EnforcerPlugin<HooksConfig> = {
  id: "hooks",
  configSchema: HooksConfigSchema,
  create: createHooks,
};
