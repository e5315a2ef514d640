/** The CLI's client of a running daemon's HTTP API. */
import { RempartError } from "../core/index.ts";

export interface ClientOptions {
  readonly url: string;
  readonly key: string | undefined;
}

/** The daemon's address and key: the flags, else REMPART_URL and REMPART_API_KEY. */
export function clientOptions(url?: string, key?: string): ClientOptions {
  return {
    url: url ?? process.env.REMPART_URL ?? "http://127.0.0.1:8080",
    key: key ?? process.env.REMPART_API_KEY,
  };
}

export async function call(
  opts: ClientOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(new URL(path, opts.url), {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    throw new RempartError("UNAVAILABLE", `cannot reach the Rempart API at ${opts.url}`, {
      cause: e,
      hint: "is `rempart start` running? Give the address with --url or REMPART_URL",
    });
  }
  if (res.status === 204) return undefined;
  const text = await res.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = json as { code?: string; message?: string } | undefined;
    const hint =
      res.status === 401
        ? "give an API key with --key or REMPART_API_KEY (create one with `rempart keys create`)"
        : undefined;
    throw new RempartError(
      res.status === 401
        ? "UNAUTHORIZED"
        : res.status === 403
          ? "FORBIDDEN"
          : res.status === 404
            ? "NOT_FOUND"
            : res.status === 422
              ? "DECISION_REFUSED"
              : "INPUT_INVALID",
      `${method} ${path}: ${err?.message ?? `HTTP ${res.status}`}`,
      hint === undefined ? {} : { hint },
    );
  }
  return json;
}
