import { resolve } from "node:path";
import type { ListSourceConfig } from "./list-config.ts";
import { ListRefresher, type ListRuntime, type RefreshReport } from "./list-refresher.ts";

export interface ListService {
  /** The last report of each list (for status and metrics). */
  reports(): readonly RefreshReport[];
  /** Stops the timers and waits for a refresh in flight. */
  stop(): Promise<void>;
}

const describe = (r: RefreshReport): string =>
  `rempart: list ${r.list}: ${r.outcome}${r.transport === "none" ? "" : ` (${r.transport})`}, ${r.entries} entries: +${r.added} -${r.removed}, ${r.renewed} renewed, ${r.covered} already covered, ${r.refused} refused`;

/**
 * Refreshes every configured list on its own schedule: first at start, then every `refresh`,
 * sooner with back-off after a failure. Starts in the background: a slow list server never
 * delays the daemon's start.
 */
export function startListRefresh(
  config: { readonly data_dir: string; readonly lists: readonly ListSourceConfig[] },
  runtime: ListRuntime,
  log: (line: string) => void,
  options: { fetch?: typeof fetch } = {},
): ListService {
  const dir = resolve(config.data_dir, "lists");
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  const last = new Map<string, RefreshReport>();
  let stopped = false;

  const schedule = (r: ListRefresher, delay: number): void => {
    if (stopped) return;
    const t = setTimeout(() => {
      timers.delete(t);
      run(r);
    }, delay);
    t.unref();
    timers.add(t);
  };
  const run = (r: ListRefresher): void => {
    const p = (async () => {
      try {
        const report = await r.refresh();
        last.set(r.config.name, report);
        if (report.outcome !== "failed") log(describe(report));
      } catch (e) {
        // A bug, not bad input: log it and keep the schedule.
        log(`rempart: list ${r.config.name}: refresh failed: ${String(e)}`);
      }
      schedule(r, r.nextDelayMs());
    })();
    running.add(p);
    void p.finally(() => running.delete(p));
  };

  for (const l of config.lists) {
    const r = new ListRefresher(l, {
      runtime,
      dir,
      log,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
    const p = r.load().then(
      () => run(r),
      (e: unknown) => log(`rempart: list ${l.name}: ${String(e)}`),
    );
    running.add(p);
    void p.finally(() => running.delete(p));
  }

  return {
    reports: () => [...last.values()],
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}
