/**
 * A private, real Postfix (Debian's package) with a private Dovecot as its SASL server, for
 * end-to-end tests: everything lives in one temp directory, listens on 127.0.0.1 random ports and
 * relays every message to an in-process SMTP sink, so no test mail ever leaves the machine and
 * nothing depends on /etc/postfix or a system instance.
 *
 * Gotchas (each found the hard way, Postfix 3.7 / Dovecot 2.3 on Debian 12):
 * - Daemons run as `postfix` (smtpd, qmgr) and `dovecot`: the temp directory must be
 *   world-searchable (mkdtemp makes it 0700) or they cannot read main.cf or reach the auth socket.
 * - queue_directory must exist before `postfix start` (it chdirs there first), and
 *   data_directory must be owned by `postfix`: a root-owned one fails with "open lock file
 *   …/master.lock: Permission denied". The harness makes both as `postfix set-permissions`
 *   would, and skips `postfix start`'s slow integrity checks (see createQueue).
 * - Postfix rereads a main.cf or master.cf younger than a second, 300 ms at a time: written
 *   files are dated back (see backdate), or each start and reload costs ~2 s.
 * - `postfix stop` polls once a second, and the master it stops is reaped slowly by this
 *   machine's init (a zombie for ~1.4 s): stop signals master itself and watches /proc.
 * - maillog_file must start with one of maillog_file_prefixes (default /var, /dev/stdout), and it
 *   needs the `postlog unix-dgram … postlogd` service in master.cf.
 * - All services run unchrooted (chroot column `n`): the Dovecot socket and a policy socket are
 *   absolute paths outside the queue directory.
 * - smtpd_peername_lookup = no and smtp_dns_support_level = disabled with a bracketed relayhost:
 *   not a single DNS query, so no packet leaves loopback (client names log as unknown[127.0.0.1]).
 * - The sink must not greet with Postfix's own myhostname, or the smtp client reports a loop.
 * - smtpd_error_sleep_time = 0s, or every failed AUTH costs the test a second.
 * - `postqueue -c` and `postsuper -c` with a non-default config directory are allowed for root
 *   only (others need alternate_config_directories in /etc/postfix/main.cf): tests run as root.
 * - Dovecot delays every AUTH from an address that failed once (auth penalty, up to 15 s) and
 *   each failure by 2 s: both off here, since tests fail logins on purpose.
 * - Bounces and notices go to the sink too (mydestination is empty): count them in.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, chown, mkdir, utimes, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./free-port.ts";
import { startSink, type MailSink, type RcptReply } from "./postfix-sink.ts";

export type { MailSink, RcptReply, SinkMessage } from "./postfix-sink.ts";

/** A reason to skip naming the missing Debian packages, or `false` when all are installed. */
export function postfixMissing(): string | false {
  const absent = [
    ["/usr/sbin/postfix", "postfix"],
    ["/usr/sbin/dovecot", "dovecot-core"],
    ["/usr/lib/dovecot/imap", "dovecot-imapd"],
    ["/usr/bin/swaks", "swaks"],
  ]
    .filter(([path]) => !existsSync(path!))
    .map(([, pkg]) => pkg!);
  if (absent.length > 0)
    return `needs the Debian packages ${absent.join(", ")} (.ci/run installs them)`;
  if (process.getuid?.() !== 0) return "needs root to run a private Postfix and Dovecot";
  return false;
}

/** Where smtpd asks the policy service: SMTP stage → restriction list. */
export type PolicyStage = "recipient" | "data" | "end-of-data";

const STAGE_PARAMETER: Readonly<Record<PolicyStage, string>> = {
  recipient: "smtpd_recipient_restrictions",
  data: "smtpd_data_restrictions",
  "end-of-data": "smtpd_end_of_data_restrictions",
};

export interface PolicyOptions {
  /** `inet:127.0.0.1:PORT` or `unix:/absolute/path` (smtpd runs unchrooted). */
  readonly service: string;
  /** Default `["recipient"]`. */
  readonly stages?: readonly PolicyStage[];
  /** Per-service attributes (Postfix ≥ 3.0 `{ … }` syntax); defaults: timeout=10s, default_action=DUNNO. */
  readonly attributes?: Readonly<Record<string, string>>;
}

export interface PostfixOptions {
  /** SASL accounts in the private Dovecot: login → password. */
  readonly users?: Readonly<Record<string, string>>;
  readonly policy?: PolicyOptions;
  /** Also run Dovecot's imap-login on 127.0.0.1, so tests can produce Dovecot login lines. */
  readonly imap?: boolean;
  /** How the sink answers each RCPT (to make Postfix log bounced or deferred). */
  readonly sinkRcptReply?: RcptReply;
  /** Extra or overriding main.cf parameters, written last. */
  readonly mainCf?: Readonly<Record<string, string>>;
  /** Postfix's syslog_name; default `postfix-rempart` (Rempart reads `postfix-*` as an instance). */
  readonly syslogName?: string;
}

export interface SendOptions {
  readonly from: string;
  readonly to: string | readonly string[];
  /** SASL login; without it, no AUTH (so relaying is refused). */
  readonly user?: string;
  readonly password?: string;
  readonly mechanism?: "PLAIN" | "LOGIN";
  readonly subject?: string;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly helo?: string;
  /** swaks --quit-after: CONNECT, EHLO, AUTH, MAIL, RCPT, … */
  readonly quitAfter?: string;
  readonly extraArgs?: readonly string[];
}

export interface SendResult {
  /** swaks's exit code: 0 sent; 23–25 the server refused at MAIL/RCPT/DATA; 28 AUTH failed. */
  readonly code: number;
  readonly transcript: string;
  /** Postfix's queue id from "queued as …", when the message was accepted. */
  readonly queueId: string | undefined;
}

export interface QueuedMessage {
  readonly queue: string;
  readonly id: string;
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly size: number;
  readonly arrivalTime: number;
}

export interface PostfixHarness {
  readonly dir: string;
  readonly configDir: string;
  /** Port of the submission smtpd (SASL AUTH, no TLS) on 127.0.0.1. */
  readonly submissionPort: number;
  /** Port of Dovecot's imap-login on 127.0.0.1, when `imap` was asked for. */
  readonly imapPort: number | undefined;
  readonly maillog: string;
  readonly dovecotLog: string;
  /** The path of Dovecot's auth socket that smtpd uses. */
  readonly authSocket: string;
  readonly sink: MailSink;
  send(options: SendOptions): Promise<SendResult>;
  /** Every queued message (`postqueue -j`); `holdQueue()` those in the hold queue only. */
  queue(): Promise<readonly QueuedMessage[]>;
  holdQueue(): Promise<readonly QueuedMessage[]>;
  /** `postsuper -H`: release held messages (all by default). */
  release(ids?: readonly string[]): Promise<void>;
  /** `postsuper -d`: delete messages (all, or all of one queue, by default). */
  remove(ids?: readonly string[], queue?: string): Promise<void>;
  /** `postqueue -f`: retry deferred mail now. */
  flush(): Promise<void>;
  /** Sets main.cf parameters (`postconf -e`) and reloads Postfix. */
  configure(parameters: Readonly<Record<string, string>>): Promise<void>;
  /** Logs in to Dovecot's IMAP (`imap: true`) and out; true when the login was accepted. */
  imapLogin(user: string, password: string): Promise<boolean>;
  /** The maillog's lines so far. */
  log(): Promise<readonly string[]>;
  /** Resolves with the maillog lines matching `pattern` once there are `count` (default 1). */
  waitForLog(pattern: RegExp, count?: number, timeoutMs?: number): Promise<readonly string[]>;
  /** The same for Dovecot's log, which Dovecot writes after it answers (a disconnect's line). */
  waitForDovecotLog(
    pattern: RegExp,
    count?: number,
    timeoutMs?: number,
  ): Promise<readonly string[]>;
  /** Stops Postfix, Dovecot and the sink; safe to call twice and after a failed start. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.on("error", reject);
    // On exit, not close: a daemon the command starts may inherit the pipes and hold them.
    // Output still in flight gets a moment to arrive.
    child.on("exit", (code, signal) => {
      const done = (): void => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      const timer = setTimeout(done, 50);
      child.once("close", () => {
        clearTimeout(timer);
        done();
      });
    });
  });
}

async function runOk(command: string, args: readonly string[]): Promise<string> {
  const r = await run(command, args);
  if (r.code !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Whether `pid` still runs: a zombie does not (init here takes a second or more to reap). */
function alive(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return !/^State:\s+Z/m.test(status);
  } catch {
    return false;
  }
}

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

function parseQueueLine(line: string): QueuedMessage | undefined {
  const raw: unknown = JSON.parse(line);
  if (typeof raw !== "object" || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const recipients = Array.isArray(r.recipients) ? (r.recipients as unknown[]) : [];
  return Object.freeze({
    queue: String(r.queue_name),
    id: String(r.queue_id),
    sender: String(r.sender),
    recipients: Object.freeze(
      recipients.map((x) =>
        typeof x === "object" && x !== null ? String((x as Record<string, unknown>).address) : "",
      ),
    ),
    size: Number(r.message_size),
    arrivalTime: Number(r.arrival_time),
  });
}

/** One IMAP LOGIN (quoted strings) then LOGOUT, so Dovecot logs a login or a failure. */
async function imapLogin(port: number | undefined, user: string, password: string) {
  if (port === undefined) throw new Error("imapLogin needs startPostfix({ imap: true })");
  const quote = (s: string): string => `"${s.replace(/[\\"]/g, "\\$&")}"`;
  const socket = connect(port, "127.0.0.1");
  socket.setEncoding("utf8");
  let received = "";
  const next = (pattern: RegExp): Promise<RegExpExecArray> =>
    until(`IMAP reply ${pattern}`, 10_000, () => pattern.exec(received) ?? undefined);
  try {
    socket.on("data", (s: string) => (received += s));
    await next(/^\* OK/m);
    socket.write(`a LOGIN ${quote(user)} ${quote(password)}\r\n`);
    const reply = await next(/^a (OK|NO|BAD)/m);
    if (reply[1] !== "OK") return false; // hang up, as a password guesser does
    socket.write("b LOGOUT\r\n");
    await next(/^\* BYE/m).catch(() => undefined);
    return true;
  } finally {
    socket.destroy();
  }
}

/**
 * Postfix will not read a main.cf or master.cf changed in the last second (it sleeps 300 ms and
 * rereads, against half-written files), which made each start and reload ~2 s slower: the
 * harness writes them whole, so it dates them back.
 */
async function backdate(configDir: string): Promise<void> {
  const past = new Date(Date.now() - 10_000);
  for (const file of ["main.cf", "master.cf"]) await utimes(join(configDir, file), past, past);
}

/** uid or gid of a name in /etc/passwd or /etc/group. */
async function systemId(file: "/etc/passwd" | "/etc/group", name: string): Promise<number> {
  const line = (await readFile(file, "utf8")).split("\n").find((l) => l.startsWith(`${name}:`));
  const id = Number(line?.split(":")[2]);
  if (!Number.isInteger(id)) throw new Error(`no ${name} in ${file}: is Postfix installed?`);
  return id;
}

/**
 * The queue and data directories as `postfix set-permissions` makes them, plus `quick-start`:
 * `postfix start` then skips its integrity checks, which `find` through /usr/lib/postfix and
 * /etc/postfix and cost about 2.5 s a start; a fresh queue has nothing for them to find.
 */
async function createQueue(queueDir: string, dataDir: string): Promise<void> {
  const postfix = await systemId("/etc/passwd", "postfix");
  const postdrop = await systemId("/etc/group", "postdrop");
  const own = ["active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming"];
  own.push("private", "saved", "trace");
  const dirs: readonly (readonly [string, number, number, number])[] = [
    ...own.map((d) => [d, postfix, 0, 0o700] as const),
    ["maildrop", postfix, postdrop, 0o730],
    ["public", postfix, postdrop, 0o710],
    ["pid", 0, 0, 0o755],
  ];
  await mkdir(queueDir, { mode: 0o755 });
  for (const [name, uid, gid, mode] of dirs) {
    const path = join(queueDir, name);
    await mkdir(path);
    await chown(path, uid, gid);
    await chmod(path, mode);
  }
  // Owned by mail_owner, or master fails: "open lock file …/master.lock: Permission denied".
  await mkdir(dataDir);
  await chown(dataDir, postfix, 0);
  await chmod(dataDir, 0o700);
  await writeFile(join(queueDir, "quick-start"), "");
}

function policyRestriction(policy: PolicyOptions): string {
  const attributes = { timeout: "10s", default_action: "DUNNO", ...policy.attributes };
  const list = Object.entries(attributes).map(([k, v]) => `${k}=${v}`);
  return `check_policy_service { ${[policy.service, ...list].join(", ")} }`;
}

// Every service unchrooted; `postlog` carries maillog_file. Column order: service type private
// unpriv chroot wakeup maxproc command.
const MASTER_CF = `
pickup    unix  n  -  n  60    1  pickup
cleanup   unix  n  -  n  -     0  cleanup
qmgr      unix  n  -  n  300   1  qmgr
rewrite   unix  -  -  n  -     -  trivial-rewrite
bounce    unix  -  -  n  -     0  bounce
defer     unix  -  -  n  -     0  bounce
trace     unix  -  -  n  -     0  bounce
verify    unix  -  -  n  -     1  verify
flush     unix  n  -  n  1000? 0  flush
proxymap  unix  -  -  n  -     -  proxymap
smtp      unix  -  -  n  -     -  smtp
relay     unix  -  -  n  -     -  smtp
showq     unix  n  -  n  -     -  showq
error     unix  -  -  n  -     -  error
retry     unix  -  -  n  -     -  error
discard   unix  -  -  n  -     -  discard
anvil     unix  -  -  n  -     1  anvil
scache    unix  -  -  n  -     1  scache
postlog   unix-dgram n - n -   1  postlogd
`;

/**
 * Starts Dovecot, the sink and Postfix in a fresh temp directory. Call `stop()` in the test's
 * cleanup (`t.after`) or hold it with `await using`: Postfix runs as a daemon of its own.
 */
export async function startPostfix(options: PostfixOptions = {}): Promise<PostfixHarness> {
  const dir = await mkdtemp(join(tmpdir(), "rempart-postfix-"));
  await chmod(dir, 0o755);
  const configDir = join(dir, "etc");
  const queueDir = join(dir, "queue");
  const maillog = join(dir, "maillog");
  const dovecotLog = join(dir, "dovecot.log");
  const dovecotBase = join(dir, "dovecot");
  const authSocket = join(dovecotBase, "auth-client");
  const syslogName = options.syslogName ?? "postfix-rempart";

  let sink: MailSink | undefined;
  let dovecot: ReturnType<typeof spawn> | undefined;
  let dovecotExited: Promise<unknown> = Promise.resolve();
  let postfixStarted = false;
  let postfixPid: number | undefined;
  let stopped: Promise<void> | undefined;
  const onExit = (): void => {
    // The test process dies without cleanup: at least take the daemons down with it.
    if (postfixPid !== undefined) process.kill(postfixPid, "SIGTERM");
    dovecot?.kill("SIGTERM");
  };
  process.once("exit", onExit);

  const masterPid = async (): Promise<number | undefined> => {
    const text = await readFile(join(queueDir, "pid", "master.pid"), "utf8").catch(() => "");
    const pid = Number.parseInt(text.trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  };
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      process.removeListener("exit", onExit);
      // Both at once: each takes about a second to go.
      const stopPostfix = async (): Promise<void> => {
        if (postfixStarted) {
          // What `postfix stop` does (SIGTERM to master, which takes its children down), minus
          // its one-second polling. The pid file stays behind, so watch the process; SIGKILL the
          // process group (as `postfix stop` does at last) if it lingers.
          const pid = await masterPid();
          if (pid === undefined) await run("postfix", ["-c", configDir, "stop"]);
          else if (alive(pid)) {
            process.kill(pid, "SIGTERM");
            const gone = await until("Postfix to stop", 10_000, () =>
              alive(pid) ? undefined : true,
            ).catch(() => false);
            if (!gone) process.kill(-pid, "SIGKILL");
          }
        }
      };
      const stopDovecot = async (): Promise<void> => {
        if (dovecot !== undefined && dovecot.exitCode === null) {
          dovecot.kill("SIGTERM");
          await Promise.race([dovecotExited, sleep(5_000)]);
        }
      };
      await Promise.all([stopPostfix(), stopDovecot()]);
      await sink?.close();
      if (process.env.REMPART_KEEP_POSTFIX_DIR === undefined) {
        await rm(dir, { recursive: true, force: true });
      }
    })());

  try {
    const users = options.users ?? {};
    const userLines = Object.entries(users).map(([u, p]) => {
      if (/[:\n]/.test(u + p)) throw new Error(`user ${u}: no ":" or newline in passwd-file`);
      return `${u}:{PLAIN}${p}::::::\n`;
    });
    await writeFile(join(dir, "users"), userLines.join(""), { mode: 0o644 });
    await mkdir(dovecotBase, { mode: 0o755 });
    if (options.imap === true && !existsSync("/usr/lib/dovecot/imap")) {
      throw new Error("imap: true needs the Debian package dovecot-imapd");
    }
    const imapPort = options.imap === true ? await freePort() : undefined;
    const mailHome = join(dir, "mail");
    await mkdir(mailHome, { mode: 0o777 });
    await chmod(mailHome, 0o777);
    const dovecotConf = join(dir, "dovecot.conf");
    await writeFile(
      dovecotConf,
      [
        `base_dir = ${dovecotBase}`,
        `state_dir = ${join(dovecotBase, "state")}`,
        `log_path = ${dovecotLog}`,
        `protocols = ${imapPort === undefined ? "" : "imap"}`,
        "listen = 127.0.0.1",
        "ssl = no",
        // Plaintext AUTH over loopback, as the submission smtpd offers it without TLS.
        "disable_plaintext_auth = no",
        "auth_mechanisms = plain login",
        "auth_verbose = yes",
        // A failed login answers at once, not after 2 s: tests send many.
        "auth_failure_delay = 0",
        "default_internal_user = dovecot",
        "default_login_user = dovenull",
        `mail_location = maildir:${mailHome}/%u`,
        "passdb {",
        "  driver = passwd-file",
        `  args = scheme=PLAIN username_format=%u ${join(dir, "users")}`,
        "}",
        "userdb {",
        "  driver = static",
        `  args = uid=nobody gid=nogroup home=${mailHome}/%u`,
        "}",
        "service auth {",
        "  unix_listener auth-client {",
        "    mode = 0666",
        "  }",
        "}",
        // No auth penalty: after one failure from 127.0.0.1, every later AUTH from it (SMTP or
        // IMAP) would wait up to 15 s. Mode 0 is Dovecot's documented way to turn it off.
        "service anvil {",
        "  unix_listener anvil-auth-penalty {",
        "    mode = 0",
        "  }",
        "}",
        "service imap-login {",
        "  inet_listener imap {",
        "    address = 127.0.0.1",
        `    port = ${imapPort ?? 0}`,
        "  }",
        "  inet_listener imaps {",
        "    port = 0",
        "  }",
        "}",
        "",
      ].join("\n"),
    );
    dovecot = spawn("dovecot", ["-F", "-c", dovecotConf], { stdio: ["ignore", "ignore", "pipe"] });
    let dovecotStderr = "";
    dovecot.stderr?.setEncoding("utf8").on("data", (s: string) => (dovecotStderr += s));
    const child = dovecot;
    dovecotExited = new Promise((resolve) => child.once("exit", resolve));
    sink = await startSink(options.sinkRcptReply);
    const submissionPort = await freePort();
    await mkdir(configDir, { mode: 0o755 });
    await createQueue(queueDir, join(dir, "data"));

    const main: Record<string, string> = {
      compatibility_level: "3.6",
      config_directory: configDir,
      queue_directory: queueDir,
      data_directory: join(dir, "data"),
      mail_owner: "postfix",
      setgid_group: "postdrop",
      syslog_name: syslogName,
      maillog_file: maillog,
      maillog_file_prefixes: dir,
      myhostname: "mx.rempart.test",
      mydomain: "rempart.test",
      myorigin: "$myhostname",
      mydestination: "",
      relay_domains: "",
      local_recipient_maps: "",
      alias_maps: "",
      alias_database: "",
      mynetworks: "127.0.0.1/32",
      inet_interfaces: "loopback-only",
      inet_protocols: "ipv4",
      relayhost: `[127.0.0.1]:${sink.port}`,
      default_transport: "smtp",
      smtp_dns_support_level: "disabled",
      smtp_host_lookup: "native",
      smtpd_peername_lookup: "no",
      smtp_tls_security_level: "none",
      smtpd_tls_security_level: "none",
      smtpd_sasl_auth_enable: "yes",
      smtpd_sasl_type: "dovecot",
      smtpd_sasl_path: authSocket,
      smtpd_sasl_security_options: "noanonymous",
      smtpd_tls_auth_only: "no",
      smtpd_error_sleep_time: "0s",
      // Only authenticated clients relay; mynetworks is not trusted.
      smtpd_relay_restrictions: "permit_sasl_authenticated, reject",
      smtpd_recipient_restrictions: "permit_sasl_authenticated, reject",
      // Deferred mail is retried within seconds, not minutes.
      queue_run_delay: "2s",
      minimal_backoff_time: "2s",
      maximal_backoff_time: "4s",
      biff: "no",
    };
    if (options.policy !== undefined) {
      const restriction = policyRestriction(options.policy);
      for (const stage of options.policy.stages ?? ["recipient"]) {
        const parameter = STAGE_PARAMETER[stage];
        const rest = stage === "recipient" ? main[parameter] : "permit";
        // Before permit_sasl_authenticated: the policy server judges authenticated senders.
        main[parameter] = `${restriction}, ${rest ?? "permit"}`;
      }
    }
    Object.assign(main, options.mainCf);
    await writeFile(
      join(configDir, "main.cf"),
      Object.entries(main)
        .map(([k, v]) => `${k} = ${v}\n`)
        .join(""),
    );
    await writeFile(
      join(configDir, "master.cf"),
      `127.0.0.1:${submissionPort} inet n - n - - smtpd\n` +
        `  -o syslog_name=${syslogName}/submission\n` +
        MASTER_CF,
    );
    await backdate(configDir);

    postfixStarted = true;
    // Dovecot starts meanwhile: smtpd only connects to its socket when a client AUTHs.
    await runOk("postfix", ["-c", configDir, "start"]);
    postfixPid = await masterPid();
    await until("Dovecot's auth socket", 10_000, () => {
      if (child.exitCode !== null) {
        throw new Error(`dovecot exited ${child.exitCode}: ${dovecotStderr}`);
      }
      return existsSync(authSocket) ? true : undefined;
    });

    // `postfix start` returns once master has bound its listeners (master -w): no probe,
    // which would log a connection of its own.

    const linesOf = (file: string) => async (): Promise<readonly string[]> => {
      const text = await readFile(file, "utf8").catch(() => "");
      return text.split("\n").filter((l) => l.length > 0);
    };
    const log = linesOf(maillog);
    const waitForLines =
      (what: string, read: () => Promise<readonly string[]>) =>
      (pattern: RegExp, count = 1, timeoutMs = 20_000): Promise<readonly string[]> =>
        until(`${count} ${what} line(s) matching ${pattern}`, timeoutMs, async () => {
          const lines = (await read()).filter((l) => pattern.test(l));
          return lines.length >= count ? lines : undefined;
        });
    const postsuper = async (flag: string, ids: readonly string[], queue?: string) => {
      if (ids.length === 0) {
        await runOk("postsuper", [
          "-c",
          configDir,
          flag,
          "ALL",
          ...(queue === undefined ? [] : [queue]),
        ]);
        return;
      }
      // "-" reads the queue ids from standard input, one a line.
      const child = spawn("postsuper", ["-c", configDir, flag, "-"], {
        stdio: ["pipe", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
      child.stdin.end(ids.join("\n") + "\n");
      const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
      if (code !== 0) throw new Error(`postsuper ${flag} exited ${code}: ${stderr}`);
    };
    const queue = async (): Promise<readonly QueuedMessage[]> => {
      const out = await runOk("postqueue", ["-c", configDir, "-j"]);
      return out
        .split("\n")
        .filter((l) => l.length > 0)
        .map(parseQueueLine)
        .filter((m) => m !== undefined);
    };
    const harness: PostfixHarness = {
      dir,
      configDir,
      submissionPort,
      imapPort,
      maillog,
      dovecotLog,
      authSocket,
      sink,
      send: async (o) => {
        const args = [
          "--server",
          "127.0.0.1",
          "--port",
          String(submissionPort),
          "--timeout",
          "30",
          "--from",
          o.from,
          "--to",
          typeof o.to === "string" ? o.to : o.to.join(","),
          "--helo",
          o.helo ?? "client.rempart.test",
        ];
        if (o.user !== undefined) {
          args.push("--auth", o.mechanism ?? "PLAIN", "--auth-user", o.user);
          args.push("--auth-password", o.password ?? "");
        }
        if (o.subject !== undefined) args.push("--h-Subject", o.subject);
        for (const [k, v] of Object.entries(o.headers ?? {}))
          args.push("--add-header", `${k}: ${v}`);
        if (o.body !== undefined) args.push("--body", o.body);
        if (o.quitAfter !== undefined) args.push("--quit-after", o.quitAfter);
        args.push(...(o.extraArgs ?? []));
        const r = await run("swaks", args, 60_000);
        const transcript = r.stdout + r.stderr;
        const queueId = /queued as ([0-9A-Za-z]+)/.exec(transcript)?.[1];
        return { code: r.code, transcript, queueId };
      },
      queue,
      holdQueue: async () => (await queue()).filter((m) => m.queue === "hold"),
      release: (ids = []) => postsuper("-H", ids),
      remove: (ids = [], q) => postsuper("-d", ids, q),
      flush: async () => {
        await runOk("postqueue", ["-c", configDir, "-f"]);
      },
      configure: async (parameters) => {
        const settings = Object.entries(parameters).map(([k, v]) => `${k}=${v}`);
        await runOk("postconf", ["-c", configDir, "-e", ...settings]);
        await backdate(configDir);
        await runOk("postfix", ["-c", configDir, "reload"]);
      },
      imapLogin: (user, password) => imapLogin(imapPort, user, password),
      log,
      waitForLog: waitForLines("maillog", log),
      waitForDovecotLog: waitForLines("Dovecot log", linesOf(dovecotLog)),
      stop,
      [Symbol.asyncDispose]: stop,
    };
    return harness;
  } catch (error) {
    const tail = (await readFile(maillog, "utf8").catch(() => "")).slice(-2000);
    await stop();
    throw new Error(`the test Postfix did not start; maillog:\n${tail}`, { cause: error });
  }
}
