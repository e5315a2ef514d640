/**
 * Watches Postfix's queue on a schedule (seed 003: a stolen account was first seen on a queue
 * graph). Each look gives the sizes per queue and the senders with the most queued messages,
 * for metrics, and becomes events for detection: `mail.queue` (the sizes, and whether the
 * total is growing against its recent level) and `mail.queue.sender` for each sender holding
 * many messages, which the built-in scenarios turn into alerts.
 */
import type { Event } from "../core/index.ts";
import type { QueuedMessage } from "./postfix-queue.ts";

export interface QueueSnapshot {
  readonly at: number;
  readonly total: number;
  /** Messages per queue: active, deferred, hold, incoming, maildrop. */
  readonly byQueue: Readonly<Record<string, number>>;
  /** The senders with the most queued messages, most first (at most `topSenders`). */
  readonly senders: readonly { readonly sender: string; readonly count: number }[];
  /** The total's recent level (exponential average of earlier looks). */
  readonly usual: number;
}

export interface QueueWatchOptions {
  /** Reads the queue (`postqueue -j`). */
  readonly read: () => Promise<readonly QueuedMessage[]>;
  readonly everyMs: number;
  readonly now: () => number;
  readonly ingest: (e: Event) => void;
  readonly log: (line: string) => void;
  /** Senders with at least this many queued messages become `mail.queue.sender` events. */
  readonly senderThreshold?: number;
  readonly topSenders?: number;
}

export class QueueWatch {
  readonly #o: QueueWatchOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #usual: number | undefined;
  #seq = 0;
  #failing = false;
  last: QueueSnapshot | undefined;

  constructor(options: QueueWatchOptions) {
    this.#o = options;
  }

  start(): void {
    const tick = (): void => {
      this.#running = this.look().then(
        () => undefined,
        (e: unknown) => {
          if (!this.#failing)
            this.#o.log(`rempart: queue watch: ${e instanceof Error ? e.message : String(e)}`);
          this.#failing = true;
        },
      );
    };
    tick();
    this.#timer = setInterval(tick, this.#o.everyMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }

  /** One look at the queue: the snapshot, and its events fed to detection. */
  async look(): Promise<QueueSnapshot> {
    const queue = await this.#o.read();
    this.#failing = false;
    const at = this.#o.now();
    const byQueue: Record<string, number> = {};
    const perSender = new Map<string, number>();
    for (const m of queue) {
      byQueue[m.queue] = (byQueue[m.queue] ?? 0) + 1;
      const sender = m.sender === "" ? "<>" : m.sender;
      perSender.set(sender, (perSender.get(sender) ?? 0) + 1);
    }
    const senders = [...perSender]
      .sort((a, b) => b[1] - a[1])
      .slice(0, this.#o.topSenders ?? 10)
      .map(([sender, count]) => ({ sender, count }));
    const total = queue.length;
    const usual = this.#usual ?? total;
    this.last = Object.freeze({ at, total, byQueue, senders, usual });
    this.#usual = usual * 0.9 + total * 0.1;

    const id = `queue:${at}:${++this.#seq}`;
    this.#o.ingest({
      id,
      type: "mail.queue",
      time: at,
      tzOffset: 0,
      service: "postfix",
      fields: {
        total,
        usual: Math.round(usual),
        growth: usual > 0 ? total / usual : total > 0 ? total : 1,
        hold: byQueue.hold ?? 0,
        deferred: byQueue.deferred ?? 0,
        active: byQueue.active ?? 0,
        incoming: byQueue.incoming ?? 0,
      },
    });
    const threshold = this.#o.senderThreshold ?? 100;
    for (const s of senders) {
      if (s.count < threshold || s.sender === "<>") continue;
      this.#o.ingest({
        id: `${id}:${s.sender}`,
        type: "mail.queue.sender",
        time: at,
        tzOffset: 0,
        service: "postfix",
        email: s.sender,
        fields: { count: s.count },
      });
    }
    return this.last;
  }
}
