/**
 * `rempart demo`: an example application — a petition page and a sign-up page — that asks the
 * running daemon about each submission through the JS client (clients/js), as an application
 * would. The pages are in web/demo/; everything they echo is escaped.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  altchaWidget,
  escapeHtml,
  formFields,
  RempartGuard,
  RempartGuardError,
  splitForm,
  type Assessment,
} from "../../clients/js/src/index.ts";
import { listenError, RempartError, webDir } from "../core/index.ts";
import { normalizeIp } from "../net/index.ts";

const FORMS = ["petition", "signup"] as const;
type FormId = (typeof FORMS)[number];
/** The pages' own fields (web/demo/*.html), which the honeypot must not be named after. */
const FIELDS: Readonly<Record<FormId, readonly string[]>> = {
  petition: ["name", "email", "comment"],
  signup: ["email", "password"],
};
const MAX_BODY = 64 * 1024;
const KEEP_SIGNATURES = 10;

// Scripts only from here; the widget runs its proof of work in workers made from blobs and
// styles itself inline. An XSS that slipped past the escaping would still not run.
const CSP =
  "default-src 'self'; script-src 'self'; worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export interface DemoOptions {
  readonly guard: RempartGuard;
  readonly host: string;
  readonly port: number;
  /** Take the client's address from X-Forwarded-For (its last hop): for tests behind loopback. */
  readonly trustForwardedFor?: boolean;
}

export interface RunningDemo {
  readonly url: string;
  close(): Promise<void>;
}

/** `{{x}}` is escaped, `{{{x}}}` is HTML made here; a placeholder without a value is a bug. */
function render(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{(\{?)(\w+)\}?\}\}/g, (_, raw: string, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`demo template: no value for ${name}`);
    return raw === "{" ? v : escapeHtml(v);
  });
}

function clientAddress(req: IncomingMessage, trustForwardedFor: boolean): string {
  const header = req.headers["x-forwarded-for"];
  if (trustForwardedFor && typeof header === "string") {
    const last = header.split(",").at(-1)?.trim() ?? "";
    const ip = normalizeIp(last);
    if (ip !== undefined) return ip;
  }
  return normalizeIp(req.socket.remoteAddress ?? "") ?? "127.0.0.1";
}

async function readForm(req: IncomingMessage): Promise<Record<string, string> | undefined> {
  const type = req.headers["content-type"] ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) return undefined;
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    const chunk = c as Buffer;
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
}

interface Signature {
  readonly name: string;
  readonly comment: string;
}

interface Pending {
  readonly form: FormId;
  readonly ip: string;
  readonly email: string;
  readonly account?: string;
}

export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const dir = webDir("demo", "page.html", "rempart demo: its pages");
  const templates = Object.fromEntries(
    await Promise.all(
      ["page", "index", "petition", "signup"].map(
        async (n) => [n, await readFile(`${dir}${n}.html`, "utf8")] as const,
      ),
    ),
  );
  const css = await readFile(`${dir}demo.css`, "utf8");
  const widgetFile = fileURLToPath(import.meta.resolve("altcha"));
  const widget = await readFile(widgetFile);
  const { guard } = options;
  const trust = options.trustForwardedFor ?? false;
  const signatures: Signature[] = [];
  const pending = new Map<string, Pending>();

  const page = (title: string, outcome: string, content: string): string =>
    render(templates.page!, { title, outcome, content });

  const notice = (kind: string, text: string): string =>
    `<p class="notice ${kind}">${escapeHtml(text)}</p>`;

  const signatureList = (): string =>
    signatures.length === 0
      ? "<p>None yet.</p>"
      : signatures
          .map(
            (s) =>
              `<p class="signature"><strong>${escapeHtml(s.name)}</strong> ${escapeHtml(s.comment)}</p>`,
          )
          .join("\n");

  async function formPage(
    form: FormId,
    values: Readonly<Record<string, string>>,
    extra: { notice?: string; challenge?: Assessment["challenge"] } = {},
  ): Promise<string> {
    const token = await guard.token(form, { fields: FIELDS[form] });
    const widgetTag =
      extra.challenge === undefined
        ? altchaWidget({ challengeUrl: `/altcha/challenge?form=${form}` })
        : // A harder challenge: shown, so people see why they wait.
          altchaWidget({ challenge: extra.challenge, display: "standard" });
    const common = { notice: extra.notice ?? "", guard: formFields(token) + widgetTag };
    return form === "petition"
      ? render(templates.petition!, {
          ...common,
          name: values.name ?? "",
          email: values.email ?? "",
          comment: values.comment ?? "",
          signatures: signatureList(),
        })
      : render(templates.signup!, { ...common, email: values.email ?? "" });
  }

  function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
    res.writeHead(status, {
      "content-type": type,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      ...(type.startsWith("text/html") ? { "content-security-policy": CSP } : {}),
    });
    res.end(body);
  }
  const html = (res: ServerResponse, status: number, body: string): void =>
    send(res, status, "text/html; charset=utf-8", body);

  async function submit(form: FormId, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const posted = await readForm(req);
    if (posted === undefined) {
      html(res, 400, page("Not understood", "error", notice("refused", "Send the form.")));
      return;
    }
    const ip = clientAddress(req, trust);
    const email = posted.email ?? "";
    const account = form === "signup" ? `demo-${randomBytes(6).toString("hex")}` : undefined;
    const { token, altcha, fields } = splitForm(posted, ["password", "email"]);
    const ua = req.headers["user-agent"];
    const a = await guard.assess({
      kind: form === "signup" ? "signup" : "form.submit",
      form,
      ip,
      fields,
      ...(email === "" ? {} : { email }),
      ...(account === undefined ? {} : { account }),
      ...(ua === undefined ? {} : { userAgent: ua }),
      ...(token === undefined ? {} : { token }),
      ...(altcha === undefined ? {} : { altcha }),
    });
    const title = form === "petition" ? "Petition" : "Sign-up";
    switch (a.verdict) {
      case "allow": {
        if (form === "petition") {
          signatures.unshift({ name: posted.name ?? "", comment: posted.comment ?? "" });
          signatures.length = Math.min(signatures.length, KEEP_SIGNATURES);
          const thanks = `Signed. Thank you, ${posted.name ?? ""}.`;
          html(res, 200, page(title, "signed", notice("done", thanks) + signatureList()));
        } else
          html(res, 200, page(title, "created", notice("done", `Account created for ${email}.`)));
        return;
      }
      case "challenge": {
        const why =
          "One more step: your browser is doing a short computation. Submit again once it is done.";
        const body = await formPage(form, posted, {
          notice: notice("", why),
          ...(a.challenge === undefined ? {} : { challenge: a.challenge }),
        });
        html(res, 200, page(title, "challenge", body));
        return;
      }
      case "verify": {
        const code = randomBytes(16).toString("hex");
        pending.set(code, { form, ip, email, ...(account === undefined ? {} : { account }) });
        // A real application mails this link; the demo shows it.
        const body =
          notice("", `Check your e-mail: we sent a link to ${email} to confirm.`) +
          `<p>(Demo: no mail is sent. <a href="/confirm?code=${code}">This is the link it would carry.</a>)</p>`;
        html(res, 202, page(title, "verify", body));
        return;
      }
      case "deny":
        html(res, 403, page(title, "refused", notice("refused", "Refused.")));
    }
  }

  async function confirm(url: URL, res: ServerResponse): Promise<void> {
    const code = url.searchParams.get("code") ?? "";
    const p = pending.get(code);
    if (p === undefined) {
      html(res, 404, page("Confirmation", "error", notice("refused", "This link is not valid.")));
      return;
    }
    pending.delete(code);
    await guard.event({
      type: "email.confirmed",
      source: { ip: p.ip },
      actor: { email: p.email, ...(p.account === undefined ? {} : { account: p.account }) },
      form: p.form,
    });
    let state = "";
    if (p.account !== undefined) {
      const s = await guard.account(p.account).catch(() => undefined);
      if (s !== undefined) state = `<pre>${escapeHtml(JSON.stringify(s, null, 2))}</pre>`;
    }
    html(res, 200, page("Confirmation", "confirmed", notice("done", "Confirmed.") + state));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://demo");
    const path = url.pathname;
    if (req.method === "GET" && path === "/altcha.js") {
      send(res, 200, "text/javascript; charset=utf-8", widget);
      return;
    }
    if (req.method === "GET" && path === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    if (req.method === "GET" && path === "/demo.css") {
      send(res, 200, "text/css; charset=utf-8", css);
      return;
    }
    if (req.method === "GET" && path === "/altcha/challenge") {
      const form = url.searchParams.get("form") ?? "";
      try {
        const c = await guard.challenge(form, clientAddress(req, trust));
        send(res, 200, "application/json", JSON.stringify(c));
      } catch (e) {
        // Rempart's refusal passes through as Rempart said it (a bad form id, too many
        // challenges from this address); anything else means it cannot answer now.
        const status =
          e instanceof RempartGuardError && (e.status === 400 || e.status === 429) ? e.status : 503;
        const body = JSON.stringify({
          code: e instanceof RempartGuardError ? (e.code ?? "UNAVAILABLE") : "UNAVAILABLE",
          message: e instanceof Error ? e.message : "no challenge now",
        });
        res.writeHead(status, {
          "content-type": "application/json",
          ...(status === 429 && { "retry-after": "30" }),
        });
        res.end(body);
      }
      return;
    }
    if (req.method === "GET" && path === "/") {
      html(res, 200, page("Examples", "index", templates.index!));
      return;
    }
    if (req.method === "GET" && path === "/confirm") {
      await confirm(url, res);
      return;
    }
    const form = FORMS.find((f) => path === `/${f}`);
    if (form === undefined) {
      html(res, 404, page("Not found", "error", notice("refused", "No such page.")));
      return;
    }
    const title = form === "petition" ? "Petition" : "Sign-up";
    if (req.method === "GET") html(res, 200, page(title, "form", await formPage(form, {})));
    else if (req.method === "POST") await submit(form, req, res);
    else html(res, 405, page(title, "error", notice("refused", "Method not allowed.")));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const why =
        e instanceof RempartGuardError
          ? `Rempart refused the demo's request (${e.message}): check the demo's key and URL.`
          : "Something went wrong.";
      process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`);
      if (!res.headersSent) html(res, 500, page("Error", "error", notice("refused", why)));
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) =>
      reject(listenError("demo", `${options.host}:${options.port}`, "--listen", e)),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function usage(message: string, hint?: string): RempartError {
  return new RempartError("USAGE", `demo: ${message}`, hint === undefined ? {} : { hint });
}

function hostPort(listen: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[0-9.]+|localhost):(\d{1,5})$/.exec(listen);
  if (m === null) throw usage(`--listen "${listen}" is not host:port`, "e.g. 127.0.0.1:8090");
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

/**
 * The command. The API key: --key or REMPART_API_KEY; else, with the daemon's --config, the
 * demo makes a sensor key in the daemon's database and deletes it when it stops — one command
 * on the daemon's machine, and no key left behind.
 */
export async function cmdDemo(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: "string" },
        listen: { type: "string" },
        api: { type: "string" },
        key: { type: "string" },
        "trust-forwarded-for": { type: "boolean" },
      },
      strict: true,
    }));
  } catch (e) {
    throw usage((e as Error).message, "see `rempart --help`");
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const configFile = values.config;
  const config =
    configFile === undefined
      ? undefined
      : await import("../daemon/config.ts").then((m) => m.loadConfig(configFile));
  let api = values.api ?? process.env.REMPART_URL;
  if (api === undefined && config !== undefined) {
    const { host, port } = hostPort(config.http.listen);
    if (port !== 0) api = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  }
  api ??= "http://127.0.0.1:8080";
  let key = values.key ?? process.env.REMPART_API_KEY;
  let dropKey: (() => Promise<void>) | undefined;
  if (key === undefined) {
    if (config === undefined)
      throw usage(
        "needs an API key with role sensor: give --key, or the daemon's --config to make one",
        "rempart keys create demo --role sensor, then rempart demo --key rmp_…",
      );
    const { createKeyOffline } = await import("./keys.ts");
    const { parseApiKey } = await import("../http/api-keys.ts");
    const { openConfiguredStorage } = await import("../daemon/storage-config.ts");
    const made = await createKeyOffline(config, `demo ${process.pid}`, "sensor");
    key = made;
    const id = parseApiKey(made)?.id;
    dropKey = async () => {
      if (id === undefined) return;
      const storage = await openConfiguredStorage(config);
      try {
        await storage.deleteApiKey(id);
      } finally {
        await storage.close();
      }
    };
    log("demo: made a sensor key in the daemon's database; it is deleted when the demo stops");
  }
  const { host, port } = hostPort(values.listen ?? "127.0.0.1:8090");
  const guard = new RempartGuard({ url: api, key });
  // A wrong key or URL is said now, not on the first page a visitor opens.
  try {
    if ((await guard.token(FORMS[0])).token === "")
      log(`demo: Rempart does not answer at ${api} yet; the pages will work once it does`);
  } catch (e) {
    await dropKey?.();
    throw usage(
      `Rempart at ${api} refused the demo's key (${e instanceof Error ? e.message : String(e)})`,
      "give a key with role sensor: rempart keys create demo --role sensor",
    );
  }
  const demo = await startDemo({
    guard,
    host,
    port,
    trustForwardedFor: values["trust-forwarded-for"] === true,
  }).catch(async (e: unknown) => {
    await dropKey?.();
    throw e;
  });
  log(`demo: served at ${demo.url}/ (petition: ${demo.url}/petition, sign-up: ${demo.url}/signup)`);
  log(`demo: asks the Rempart API at ${api}`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  await demo.close();
  await dropKey?.();
  log("demo: stopped");
  return 0;
}
