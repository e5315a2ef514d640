import { stat, readFile } from "node:fs/promises";
import { DELTA_IM } from "./delta.ts";

/** What we remember of the version we hold, to ask only for something newer. */
export interface Validators {
  readonly etag?: string;
  readonly lastModified?: string;
}

export type FetchOutcome =
  | { readonly kind: "unchanged" }
  | { readonly kind: "full"; readonly text: string; readonly validators: Validators }
  | {
      readonly kind: "delta";
      readonly delta: Uint8Array;
      readonly base: string;
      readonly validators: Validators;
    }
  | { readonly kind: "failed"; readonly message: string };

export interface FetchOptions {
  /** Ask for a `rempart-delta` against the version held (RFC 3229). */
  readonly delta: boolean;
  readonly timeoutMs?: number;
  /** A larger body is refused (a list is not a video). */
  readonly maxBytes?: number;
  readonly fetch?: typeof fetch;
}

const MAX_BYTES = 64 * 1024 * 1024;

async function readBody(res: Response, max: number): Promise<Uint8Array | string> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > max) return `the list is larger than ${max} bytes`;
  if (!res.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > max) return `the list is larger than ${max} bytes`;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Fetches a list from a URL with conditional requests; never throws. */
export async function fetchUrl(
  url: string,
  held: Validators,
  options: FetchOptions,
): Promise<FetchOutcome> {
  const headers: Record<string, string> = { "user-agent": "rempart (list refresh)" };
  if (held.etag !== undefined) headers["if-none-match"] = held.etag;
  if (held.lastModified !== undefined) headers["if-modified-since"] = held.lastModified;
  if (options.delta && held.etag !== undefined) headers["a-im"] = DELTA_IM;
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(url, {
      headers,
      redirect: "follow",
      signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    return { kind: "failed", message: `cannot fetch ${url}: ${cause ?? (e as Error).message}` };
  }
  if (res.status === 304) {
    await res.body?.cancel();
    return { kind: "unchanged" };
  }
  const validators: Validators = {
    ...(res.headers.get("etag") === null ? {} : { etag: res.headers.get("etag")! }),
    ...(res.headers.get("last-modified") === null
      ? {}
      : { lastModified: res.headers.get("last-modified")! }),
  };
  if (res.status !== 200 && res.status !== 226) {
    await res.body?.cancel();
    return { kind: "failed", message: `${url} answered HTTP ${res.status}` };
  }
  let body: Uint8Array | string;
  try {
    body = await readBody(res, options.maxBytes ?? MAX_BYTES);
  } catch (e) {
    return { kind: "failed", message: `reading ${url}: ${(e as Error).message}` };
  }
  if (typeof body === "string") return { kind: "failed", message: `${url}: ${body}` };
  if (res.status === 226) {
    const im = res.headers.get("im") ?? "";
    const base = res.headers.get("delta-base") ?? "";
    if (im.trim() !== DELTA_IM || base !== held.etag)
      return { kind: "failed", message: `${url} sent a delta we did not ask for (IM ${im})` };
    return { kind: "delta", delta: body, base, validators };
  }
  const text = new TextDecoder("utf-8", { fatal: false }).decode(body);
  return { kind: "full", text, validators };
}

/** Reads a list from a local file, as unchanged when its size and time are the ones held. */
export async function fetchFile(path: string, held: Validators): Promise<FetchOutcome> {
  try {
    const s = await stat(path);
    const etag = `file:${s.size}:${Math.trunc(s.mtimeMs)}`;
    if (held.etag === etag) return { kind: "unchanged" };
    const text = await readFile(path, "utf8");
    return { kind: "full", text, validators: { etag } };
  } catch (e) {
    return { kind: "failed", message: `cannot read ${path}: ${(e as Error).message}` };
  }
}
