/**
 * A thin node:http adapter over the API's pure handler: reads the body within a size limit,
 * calls `handle`, writes the answer. Keep-alive, timeouts against slow clients, and a close that
 * lets requests in flight finish.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Api, ApiResponse } from "./api.ts";

export interface HttpServerOptions {
  readonly host: string;
  /** 0: any free port (see `url`). */
  readonly port: number;
  /** Larger bodies get 413. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Time to receive a request's headers. Default 10 s. */
  readonly headersTimeoutMs?: number;
  /** Time to receive a whole request. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open. Default 5 s. */
  readonly keepAliveTimeoutMs?: number;
  /** How long `close` waits for requests in flight before cutting connections. Default 10 s. */
  readonly closeGraceMs?: number;
  /**
   * Share the port with other listeners that set it too (SO_REUSEPORT, Linux): the kernel
   * spreads new connections over them. The API threads listen so.
   */
  readonly reusePort?: boolean;
}

export interface HttpServer {
  /** `http://127.0.0.1:39123`, with the port actually bound. */
  readonly url: string;
  /** Stops accepting, lets requests in flight finish (within the grace time), then resolves. */
  close(): Promise<void>;
}

const MIB = 1024 * 1024;

class BodyTooLarge extends Error {}

export async function startHttpServer(
  api: Pick<Api, "handle">,
  options: HttpServerOptions,
): Promise<HttpServer> {
  const maxBody = options.maxBodyBytes ?? MIB;
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const server = createServer(
    {
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
      headersTimeout: options.headersTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      // How often those timeouts are checked (Node's default, 30 s, would let them run late).
      connectionsCheckingInterval: 2_000,
    },
    (req, res) => {
      inFlight++;
      serve(req, res)
        .catch((e: unknown) => {
          console.error("rempart http: cannot answer:", e);
          if (!res.headersSent) send(res, SERVER_ERROR, true);
          else res.destroy();
        })
        .finally(() => {
          inFlight--;
          if (closing && inFlight === 0) drained?.();
        });
    },
  );

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    let body: Buffer | undefined;
    const headers = req.headers;
    // Most requests (look-ups) have no body: skip the stream entirely.
    if (headers["content-length"] !== undefined || headers["transfer-encoding"] !== undefined) {
      try {
        body = await readBody(req, maxBody);
      } catch (e) {
        if (e instanceof BodyTooLarge) {
          send(res, tooLarge(maxBody), true);
          return;
        }
        throw e;
      }
      if (req.destroyed && res.destroyed) return; // the client went away
    }
    const response = await api.handle({
      method: req.method ?? "GET",
      path: q < 0 ? url : url.slice(0, q),
      ...(q >= 0 && { query: url.slice(q + 1) }),
      headers,
      ...(body !== undefined && { body }),
      ...(req.socket.remoteAddress !== undefined && { remoteAddress: req.socket.remoteAddress }),
      connection: req.socket,
    });
    send(res, response, closing);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    const reusePort = options.reusePort ?? false;
    server.listen({ port: options.port, host: options.host, reusePort }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        server.close(() => {
          resolve();
        });
        server.closeIdleConnections();
        const cut = setTimeout(() => server.closeAllConnections(), options.closeGraceMs ?? 10_000);
        cut.unref();
        const done = (): void => {
          clearTimeout(cut);
          // Connections whose last answer said `Connection: close` end by themselves; any
          // left idle are closed now.
          server.closeIdleConnections();
        };
        if (inFlight === 0) done();
        else drained = done;
      });
      return closed;
    },
  };
}

/** The body; rejects with BodyTooLarge past the limit. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > max) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        req.off("data", onData);
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => {
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.once("error", reject);
  });
}

const SERVER_ERROR: ApiResponse = {
  status: 500,
  headers: { "content-type": "application/json; charset=utf-8" },
  body: JSON.stringify({
    code: "INTERNAL",
    message: "internal error; the daemon's log has the details",
  }),
};

const tooLarge = (max: number): ApiResponse => ({
  status: 413,
  headers: { "content-type": "application/json; charset=utf-8" },
  body: JSON.stringify({
    code: "INPUT_INVALID",
    message: `body: larger than the ${max}-byte limit; send fewer events per request`,
  }),
});

function send(res: ServerResponse, response: ApiResponse, close: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const body = response.body;
  const headers: Record<string, string | number> = { ...response.headers };
  // A 204 must not carry Content-Length; every other answer does, so keep-alive works.
  if (response.status !== 204)
    headers["content-length"] =
      body === undefined ? 0 : typeof body === "string" ? Buffer.byteLength(body) : body.length;
  // Ask the client to reconnect elsewhere (closing), or drop the rest of a refused body.
  if (close) headers.connection = "close";
  res.writeHead(response.status, headers);
  res.end(body);
}
