import { DELTA_IM, encodeDelta } from "./delta.ts";
import { sortValues } from "./entry.ts";

export interface PublishedResponse {
  readonly status: 200 | 226 | 304;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/**
 * The publishing side of a list with delta encoding: keeps the last versions, answers a
 * conditional request with 304, a delta (226) from a version it still has, or the whole
 * list. Used by the tests and the benchmark; the API can serve Rempart's own exports with it.
 */
export class ListPublisher {
  readonly #versions = new Map<string, readonly string[]>();
  readonly #keep: number;
  readonly #render: (values: readonly string[]) => string;
  #current = "";
  #serial = 0;
  #full = new Uint8Array();
  #lastModified = "";

  constructor(options: { keep?: number; render?: (values: readonly string[]) => string } = {}) {
    this.#keep = options.keep ?? 48;
    this.#render = options.render ?? ((vs) => vs.map((v) => `${v}\n`).join(""));
  }

  get etag(): string {
    return this.#current;
  }

  /** Publishes a new version; `at` is its modification time. */
  publish(values: Iterable<string>, at: number): string {
    const sorted = sortValues(new Set(values));
    this.#serial++;
    this.#current = `"v${this.#serial}"`;
    this.#versions.set(this.#current, sorted);
    while (this.#versions.size > this.#keep) {
      const oldest = this.#versions.keys().next().value!;
      this.#versions.delete(oldest);
    }
    this.#full = new TextEncoder().encode(this.#render(sorted));
    this.#lastModified = new Date(at).toUTCString();
    return this.#current;
  }

  respond(headers: Readonly<Record<string, string | string[] | undefined>>): PublishedResponse {
    const header = (k: string): string => {
      const v = headers[k];
      return Array.isArray(v) ? v.join(", ") : (v ?? "");
    };
    const common = { etag: this.#current, "last-modified": this.#lastModified };
    const inm = header("if-none-match")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    if (inm.includes(this.#current))
      return { status: 304, headers: common, body: new Uint8Array() };
    const wantsDelta = header("a-im")
      .split(",")
      .some((s) => s.trim().split(";")[0] === DELTA_IM);
    const base = inm.map((e) => [e, this.#versions.get(e)] as const).find(([, v]) => v);
    if (wantsDelta && base) {
      const body = encodeDelta(base[1]!, this.#versions.get(this.#current)!);
      return {
        status: 226,
        headers: {
          ...common,
          im: DELTA_IM,
          "delta-base": base[0],
          "content-type": "application/octet-stream",
          "cache-control": "no-store, im",
        },
        body,
      };
    }
    return {
      status: 200,
      headers: { ...common, "content-type": "text/plain; charset=utf-8" },
      body: this.#full,
    };
  }
}
