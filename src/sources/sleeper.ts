/** A sleep that can be cut short: sources poll, and `stop` or a file-system hint wakes them. */
export class Sleeper {
  #wake: (() => void) | undefined;

  /** Resolves after `ms`, or as soon as `wake` is called. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(wake, ms);
      function wake(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = wake;
    }).finally(() => {
      this.#wake = undefined;
    });
  }

  /** Ends the current sleep now, if there is one. */
  wake(): void {
    this.#wake?.();
  }
}
