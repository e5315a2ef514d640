/**
 * A FAKE of the guard's HTTP contract (docs/guard-integration.md), on 127.0.0.1, for the unit
 * tests of the JS client and of `rempart demo`: it speaks the routes and shapes of
 * `POST /v1/guard/assess`, `GET /v1/guard/token`, `GET /v1/guard/challenge`, `POST /v1/events`
 * and `GET /v1/accounts/:id`, and answers by simple rules the tests can steer. It decides
 * nothing like the real guard does: the real daemon is exercised by test/e2e/guard-chromium.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";

export const FAKE_KEY = "rmp_000000000000_fakefakefakefakefakefakefakefakefakefakefak";

export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: unknown;
}

export interface FakeGuardApi {
  readonly url: string;
  /** Every request, in order. */
  readonly requests: FakeRequest[];
  /** What the next assessments answer; by default the rules below. */
  verdictFor: (body: Record<string, unknown>) => string;
  /** Delay before answering, ms (to play a slow daemon). */
  delayMs: number;
  /** Answer every request with this status (to play a broken daemon). */
  failWith: number | undefined;
  close(): Promise<void>;
}

export const FAKE_CHALLENGE = Object.freeze({
  parameters: Object.freeze({
    algorithm: "SHA-256",
    nonce: "00",
    salt: "00",
    cost: 1,
    keyLength: 32,
    keyPrefix: "00",
  }),
  signature: "fake",
});

/**
 * The default rules: no token → `challenge`; a `name` field with "bezos" → `deny`; an e-mail at
 * verify.test → `verify`; a filled honeypot (`hp_website`) → `deny`; else `allow`.
 */
function defaultVerdict(body: Record<string, unknown>): string {
  const fields = (body.fields ?? {}) as Record<string, string>;
  if (body.token === undefined) return "challenge";
  if (fields.hp_website !== undefined && fields.hp_website !== "") return "deny";
  if ((fields.name ?? "").toLowerCase().includes("bezos")) return "deny";
  if (typeof body.email === "string" && body.email.endsWith("@verify.test")) return "verify";
  return "allow";
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text === "" ? undefined : (JSON.parse(text) as unknown);
}

export async function startFakeGuardApi(): Promise<FakeGuardApi> {
  const fake: Omit<FakeGuardApi, "url" | "close"> = {
    requests: [],
    verdictFor: defaultVerdict,
    delayMs: 0,
    failWith: undefined,
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const body = await readBody(req);
      fake.requests.push({
        method: req.method ?? "",
        path: url.pathname,
        headers: req.headers,
        body,
      });
      if (fake.delayMs > 0) await new Promise((r) => setTimeout(r, fake.delayMs));
      const send = (status: number, json: unknown): void => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(json === undefined ? "" : JSON.stringify(json));
      };
      if (fake.failWith !== undefined) {
        send(fake.failWith, { code: "INTERNAL", message: "fake failure" });
        return;
      }
      const route = `${req.method ?? ""} ${url.pathname}`;
      if (route === "GET /v1/guard/challenge") {
        send(200, { ...FAKE_CHALLENGE, form: url.searchParams.get("form") });
        return;
      }
      if (req.headers.authorization !== `Bearer ${FAKE_KEY}`) {
        send(401, { code: "UNAUTHORIZED", message: "an API key is required" });
        return;
      }
      if (route === "POST /v1/guard/assess") {
        const b = body as Record<string, unknown>;
        if (typeof b.form !== "string" || typeof b.ip !== "string") {
          send(400, { code: "INPUT_INVALID", message: "body.form, body.ip: required" });
          return;
        }
        const verdict = fake.verdictFor(b);
        send(200, {
          id: typeof b.id === "string" ? b.id : "fake-1",
          verdict,
          score: verdict === "allow" ? 0.1 : 0.8,
          reasons: verdict === "allow" ? [] : ["fake-rule"],
          ...(verdict === "challenge" ? { challenge: FAKE_CHALLENGE } : {}),
        });
      } else if (route === "GET /v1/guard/token") {
        send(200, {
          token: `tok.${url.searchParams.get("form") ?? ""}`,
          honeypot: "hp_website",
          min_fill_ms: 1500,
        });
      } else if (route === "POST /v1/events") {
        send(202, { accepted: Array.isArray(body) ? body.length : 0 });
      } else if (req.method === "GET" && url.pathname.startsWith("/v1/accounts/")) {
        const id = decodeURIComponent(url.pathname.slice("/v1/accounts/".length));
        if (id === "unknown") send(404, { code: "NOT_FOUND", message: "no such account" });
        else send(200, { id, state: "pending-email", transitions: [] });
      } else send(404, { code: "NOT_FOUND", message: "no such route" });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
