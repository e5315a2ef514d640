/** A background task run again and again: what `watch()` answers. */
export interface Periodic {
  /** Stops the timer and waits for a run in flight; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Runs `task` after `firstDelayMs`, then again after whatever delay `task` answers, on a timer
 * that never keeps the process alive. A task that throws is a bug: it is logged and the
 * schedule goes on with `fallbackMs`.
 */
export function runPeriodically(
  task: () => Promise<number>,
  options: { firstDelayMs: number; fallbackMs: number; log: (line: string) => void; name: string },
): Periodic {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const schedule = (delay: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = (async () => {
        let next = options.fallbackMs;
        try {
          next = await task();
        } catch (e) {
          options.log(`rempart: ${options.name}: ${String(e)}`);
        }
        running = undefined;
        schedule(next);
      })();
    }, delay);
    timer.unref();
  };
  schedule(options.firstDelayMs);
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
