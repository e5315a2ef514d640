/**
 * Decision hooks: run a command, or call a webhook, when a decision of a given kind appears or
 * ends — to lock a suspended account in the user directory (LDAP, SQL, a passwd file), open a
 * ticket, page someone. Commands run without a shell, arguments templated; webhooks are POSTed
 * as JSON with an HMAC-SHA256 signature of the body. Failures are logged and never block the
 * pipeline.
 */
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { z } from "zod";
import {
  ACTIONS,
  formatTime,
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
      .strictObject({ url: z.url({ protocol: /^https?$/ }), secret: z.string().min(16) })
      .optional(),
    timeout: z
      .string()
      .regex(/^\d+(ms|s)$/)
      .default("30s"),
  })
  .refine((h) => (h.command === undefined) !== (h.webhook === undefined), {
    message: "give either command or webhook",
  });

export const HooksConfigSchema = z.array(HookSchema).min(1);
export type HooksConfig = z.infer<typeof HooksConfigSchema>;
type Hook = HooksConfig[number];

const ms = (t: string): number =>
  t.endsWith("ms") ? Number(t.slice(0, -2)) : Number(t.slice(0, -1)) * 1000;

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

function runCommand(hook: Hook, d: Decision): Promise<void> {
  const [cmd, ...args] = hook.command!.map((a) => expand(a, d));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, {
      stdio: ["ignore", "ignore", "pipe"],
      timeout: ms(hook.timeout),
    });
    let err = "";
    child.stderr.on("data", (b: Buffer) => (err = (err + b.toString()).slice(-500)));
    child.once("error", reject);
    child.once("close", (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`exited ${code ?? signal ?? "?"}: ${err.trim()}`)),
    );
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
  const fire = (hook: Hook, change: DecisionChange): void => {
    const p = (hook.command ? runCommand(hook, change.decision) : callWebhook(hook, change)).then(
      () =>
        deps.log(
          `rempart: hook ${hook.name}: ${change.decision.action} ${change.decision.scope} ${change.decision.value} done`,
        ),
      (e: unknown) =>
        deps.log(
          `rempart: hook ${hook.name} failed for ${change.decision.value}: ${e instanceof Error ? e.message : String(e)}`,
        ),
    );
    running.add(p);
    void p.finally(() => running.delete(p));
  };
  return {
    start() {
      unsubscribe = deps.feed.subscribe((change) => {
        for (const hook of hooks) {
          if (hook.on !== change.kind) continue;
          if (
            !hook.actions.includes(change.decision.action) ||
            !hook.scopes.includes(change.decision.scope)
          )
            continue;
          fire(hook, change);
        }
      });
      return Promise.resolve();
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

export const hooksPlugin: EnforcerPlugin<HooksConfig> = {
  id: "hooks",
  configSchema: HooksConfigSchema,
  create: createHooks,
};
