/** `rempart start`: the daemon with its HTTP API, until SIGINT or SIGTERM. */
import { createServer } from "node:net";
import { availableParallelism } from "node:os";
import { setFlagsFromString } from "node:v8";
import { version } from "./version.ts";
import { createApi, startApiThreads, startHttpServer } from "../http/index.ts";
import type { Config } from "../daemon/config.ts";
import { Daemon } from "../daemon/daemon.ts";
import { lockDatabase } from "../daemon/storage-config.ts";
import { listenCode, listenError } from "../core/index.ts";

function hostPort(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(":");
  const host = listen.slice(0, colon).replace(/^\[|\]$/g, "");
  return { host, port: Number(listen.slice(colon + 1)) };
}

/** Resolves when nothing listens on `listen` (port 0 always is free); rejects with why not. */
export function portFree(listen: string): Promise<void> {
  const { host, port } = hostPort(listen);
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

export async function runDaemon(config: Config): Promise<number> {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const pkgVersion = await version();
  log(`rempart ${pkgVersion}: configuration from ${config.origin}`);
  const unlock = await lockDatabase(config);
  try {
    return await serve(config, log, pkgVersion);
  } finally {
    await unlock();
  }
}

async function serve(
  config: Config,
  log: (line: string) => void,
  pkgVersion: string,
): Promise<number> {
  // On one CPU (a small VPS, or a daemon pinned to a core), V8's concurrent marking threads
  // take that CPU from the thread answering requests, in scheduler slices of several ms. Marked
  // on the main thread instead, in V8's short incremental steps, the open-loop p99 of look-ups
  // at 11,000/s fell from 1.3–11.9 ms to 0.8–2.1 ms (bench/RESULTS.md, Look-up over HTTP).
  // Set before the decisions load, while the heap is small.
  if (availableParallelism() === 1) {
    setFlagsFromString("--no-concurrent-marking");
    log("one CPU: the heap is marked on the main thread, between requests");
  }
  const daemon = await Daemon.open(config, { log });
  const api = createApi(daemon, {
    version: pkgVersion,
    metricsRequireKey: config.http.metrics_require_key,
    trustedProxies: config.http.trusted_proxies,
    ...(config.http.challenge_url !== undefined && { challengeUrl: config.http.challenge_url }),
  });
  const threads = config.http.threads;
  // API threads share the port (SO_REUSEPORT), and so would another daemon's: a second Rempart
  // on the same address would take half the requests without a word. The port is first taken
  // alone for a moment, which fails if anything listens there.
  if (threads > 0)
    await portFree(config.http.listen).catch(async (e: unknown) => {
      await daemon.stop();
      throw listenError("http", config.http.listen, "http.listen", e);
    });
  const apiThreads =
    threads > 0
      ? startApiThreads(api, { ...hostPort(config.http.listen), threads, log })
      : undefined;
  const server = await (apiThreads ?? startHttpServer(api, hostPort(config.http.listen))).catch(
    async (e: unknown) => {
      await daemon.stop();
      throw listenCode(e) !== undefined
        ? listenError("http", config.http.listen, "http.listen", e)
        : e;
    },
  );
  try {
    await daemon.start();
  } catch (e) {
    // An enforcer that cannot start (its port taken): nothing is left running, and the
    // process ends with the error rather than serving half a daemon.
    await server.close();
    await daemon.stop();
    throw e;
  }
  if (apiThreads !== undefined) {
    // The guard runs now: the threads check its stateless signals from here on.
    const guard = daemon.guardPreparerInit();
    const running = await apiThreads;
    if (guard !== undefined) running.prepareGuard(guard);
    api.metrics.threads(() => running.report());
    log(`http: ${threads} API thread${threads === 1 ? "" : "s"} read requests and write answers`);
  }

  if (config.sources.length === 0) {
    log("watching: nothing — no configured sources, and none of the usual logs exist here");
    log(
      "          (looked for /var/log/mail.log, /var/log/maillog, /var/log/dovecot.log, /var/log/nginx/access.log, /var/log/apache2/access.log)",
    );
  } else {
    log(`watching${config.autodetected ? " (found on this host)" : ""}:`);
    for (const s of config.sources)
      log(`  ${s.name}: ${"paths" in s ? `${s.type} ${s.paths.join(", ")}` : "journald"}`);
  }
  for (const line of daemon.enforcers()) log(`enforcing: ${line}`);
  if (config.http.challenge_url !== undefined)
    log(
      `enforcing: forward-auth at ${server.url}/v1/forward-auth sends challenged visitors to ${config.http.challenge_url} (Rempart's page: ${server.url}/v1/challenge/)`,
    );
  const sharing = daemon.sharingDescription();
  if (sharing !== undefined) log(`sharing: ${sharing}`);
  log(daemon.reputationDescription());
  const abuse = config.abuse_reports;
  if (abuse.enabled)
    log(
      `reporting: bans to the attackers' abuse desks every ${abuse.every}, from ${abuse.from!} through ${abuse.smtp.host}:${abuse.smtp.port} (rempart abuse-reports list)`,
    );
  const guard = daemon.guardDescription();
  if (guard !== undefined) log(`assessing: ${guard} (POST /v1/guard/assess)`);
  log(`enforcing: decisions are served at ${server.url}/v1/check and ${server.url}/v1/decisions`);
  log(
    "           (application events: POST /v1/events; API document: /v1/openapi.json; metrics: /metrics)",
  );

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log(`rempart: ${signal}, stopping`);
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await server.close();
  await daemon.stop();
  log("rempart: stopped");
  return 0;
}
