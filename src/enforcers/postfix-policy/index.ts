/**
 * The Postfix policy enforcer: a `check_policy_service` server answering from Rempart's
 * decisions and feeding what it sees to detection. See docs/postfix.md.
 */
import { z } from "zod";
import { listenCode, listenError, RempartError } from "../../core/index.ts";
import type { EnforcerDeps, EnforcerPlugin, EnforcerService } from "../plugin.ts";
import { MailPolicy } from "./mail-policy.ts";
import { PolicyServer } from "./policy-server.ts";

export const PostfixPolicyConfigSchema = z
  .strictObject({
    listen: z
      .string()
      .regex(
        /^(\[[0-9a-fA-F:]+\]|[0-9.]+|localhost):\d{1,5}$/,
        "expected host:port, e.g. 127.0.0.1:10040",
      )
      .optional(),
    socket: z.string().optional(),
    socket_mode: z
      .string()
      .regex(/^0?[0-7]{3}$/, "expected an octal mode, e.g. 0666 or 0660")
      .default("0666"),
    fail_open: z.boolean().default(true),
    max_connections: z.number().int().min(1).max(100_000).default(1000),
  })
  .refine((c) => c.listen !== undefined || c.socket !== undefined, {
    message: "give listen (host:port) or socket (a UNIX socket path)",
  });

export type PostfixPolicyConfig = z.infer<typeof PostfixPolicyConfigSchema>;

function hostPort(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(":");
  return {
    host: listen.slice(0, colon).replace(/^\[|\]$/g, ""),
    port: Number(listen.slice(colon + 1)),
  };
}

export const postfixPolicyPlugin: EnforcerPlugin<PostfixPolicyConfig> = {
  id: "postfix_policy",
  configSchema: PostfixPolicyConfigSchema,
  create(
    config: PostfixPolicyConfig,
    deps: EnforcerDeps,
  ): EnforcerService & { server: PolicyServer } {
    const policy = new MailPolicy({
      check: (subject) => deps.book.match(subject, deps.clock.now()),
      ingest: (e) => {
        if (!deps.ingest)
          throw new RempartError("UNAVAILABLE", "this daemon does not take live events");
        deps.ingest(e);
      },
      now: () => deps.clock.now(),
    });
    const server = new PolicyServer({
      ...(config.listen === undefined ? {} : { tcp: hostPort(config.listen) }),
      ...(config.socket === undefined
        ? {}
        : { socket: config.socket, socketMode: parseInt(config.socket_mode, 8) }),
      decide: (req) => policy.decide(req),
      failAction: config.fail_open
        ? "DUNNO"
        : "DEFER_IF_PERMIT 4.3.0 Mail policy service error, try again later",
      maxConnections: config.max_connections,
      log: deps.log,
    });
    return {
      server,
      start: () =>
        server.start().catch((e: unknown) => {
          throw listenCode(e) !== undefined
            ? listenError(
                "postfix policy service",
                config.listen ?? config.socket ?? "",
                "enforcers.postfix_policy.listen or socket",
                e,
              )
            : e;
        }),
      stop: () => server.stop(),
      describe: () => {
        const a = server.tcpAddress;
        const tcp =
          a === undefined
            ? undefined
            : `inet:${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
        const unix = config.socket === undefined ? undefined : `unix:${config.socket}`;
        return `Postfix policy service at ${[tcp, unix].filter((x) => x !== undefined).join(" and ")} (check_policy_service)`;
      },
    };
  },
};
