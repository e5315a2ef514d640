/**
 * The policy service Postfix's smtpd talks to (`check_policy_service inet:…` or `unix:…`):
 * many concurrent connections, each reused for many requests, answered in order. Answers come
 * from a synchronous `decide`; anything that goes wrong answers the fail-open action (Postfix's
 * own `default_action=DUNNO` covers a stopped server), so Rempart never stops mail by accident.
 */
import { chmod, rm } from "node:fs/promises";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { formatAnswer, PolicyReader, type PolicyRequest } from "./policy-protocol.ts";

export interface PolicyServerOptions {
  /** TCP address, e.g. { host: "127.0.0.1", port: 10040 }. */
  readonly tcp?: { readonly host: string; readonly port: number };
  /** UNIX socket path (inside Postfix's chroot if smtpd is chrooted). */
  readonly socket?: string;
  /**
   * The socket's permissions. Default 0o666, as Postfix's own sockets in `private/`: smtpd runs
   * as `postfix` and must be able to write to it; the directory is what keeps others out.
   */
  readonly socketMode?: number;
  /** Returns the action text for a request (`DUNNO`, `HOLD reason`, `REJECT 5.7.1 …`). */
  readonly decide: (request: PolicyRequest) => string;
  /** The action when `decide` throws or a request is malformed. Default `DUNNO`. */
  readonly failAction?: string;
  /** Close connections idle for this long. Default 300 s (longer than smtpd's reuse). */
  readonly idleTimeoutMs?: number;
  readonly maxConnections?: number;
  readonly maxRequestBytes?: number;
  readonly log: (line: string) => void;
}

export interface PolicyServerStats {
  requests: number;
  malformed: number;
  failures: number;
  connections: number;
}

export class PolicyServer {
  readonly #options: PolicyServerOptions;
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();
  readonly stats: PolicyServerStats = { requests: 0, malformed: 0, failures: 0, connections: 0 };
  tcpAddress: AddressInfo | undefined;

  constructor(options: PolicyServerOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    const { tcp, socket } = this.#options;
    if (tcp) {
      const server = this.#server();
      await listen(server, () => server.listen(tcp.port, tcp.host));
      this.tcpAddress = server.address() as AddressInfo;
    }
    if (socket !== undefined) {
      await rm(socket, { force: true }); // a stale socket from a crash
      const server = this.#server();
      await listen(server, () => server.listen(socket));
      await chmod(socket, this.#options.socketMode ?? 0o666);
    }
  }

  #server(): Server {
    const server = createServer({ noDelay: true }, (s) => this.#connection(s));
    if (this.#options.maxConnections !== undefined)
      server.maxConnections = this.#options.maxConnections;
    server.on("error", (e) => this.#options.log(`rempart: postfix policy: ${e.message}`));
    this.#servers.push(server);
    return server;
  }

  #connection(socket: Socket): void {
    this.#sockets.add(socket);
    this.stats.connections++;
    const reader = new PolicyReader({
      maxRequestBytes: this.#options.maxRequestBytes ?? 64 * 1024,
    });
    const fail = this.#options.failAction ?? "DUNNO";
    socket.setTimeout(this.#options.idleTimeoutMs ?? 300_000, () => socket.end());
    let answers = "";
    const answer = (request: PolicyRequest, malformed: readonly string[]): void => {
      this.stats.requests++;
      if (malformed.length > 0) {
        this.stats.malformed++;
        this.#options.log(
          `rempart: postfix policy: malformed lines ignored: ${malformed.join(" | ")}`,
        );
      }
      let action: string;
      try {
        action = this.#options.decide(request);
      } catch (e) {
        this.stats.failures++;
        this.#options.log(
          `rempart: postfix policy: ${e instanceof Error ? e.message : String(e)}; answered ${fail}`,
        );
        action = fail;
      }
      answers += formatAnswer(action);
    };
    let refused = false;
    socket.on("data", (bytes: Buffer) => {
      if (refused) return;
      answers = "";
      const fits = reader.push(bytes, answer);
      if (answers !== "") socket.write(answers);
      if (fits) return;
      // What was answered before the oversized request still goes out; then the connection ends.
      refused = true;
      this.stats.malformed++;
      this.#options.log(
        "rempart: postfix policy: a request over the size limit; connection closed",
      );
      socket.end(() => socket.destroy());
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => this.#sockets.delete(socket));
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.end();
    await Promise.all(
      this.#servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
          }),
      ),
    );
    for (const s of this.#sockets) s.destroy();
    if (this.#options.socket !== undefined) await rm(this.#options.socket, { force: true });
  }
}

function listen(server: Server, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.once("listening", () => {
      server.off("error", reject);
      resolve();
    });
    start();
  });
}
