/**
 * Builds the guard from its configuration: the same for the daemon and for replay. Creating
 * does no I/O; `GuardNetworks.start` loads the AS data and the Tor copy, `startGuard` reads the
 * secret, the lists and opens the stores (Redis when configured).
 */
import { createHmac, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { parseDuration, type Clock } from "../core/index.ts";
import type { DecisionBook } from "../decisions/index.ts";
import { AccountsConfigSchema } from "./accounts/index.ts";
import { GuardSectionSchema, guardOptions, nightTest } from "./config.ts";
import { createEmailSignals, EmailSignalsConfigSchema, normalizeEmail } from "./email/index.ts";
import { Guard, GuardPreparer, type GuardParts, type PreparerParts } from "./guard.ts";
import { CountersConfigSchema, createCounters } from "./limits/index.ts";
import {
  AsDatabase,
  NetworksConfigSchema,
  TorExits,
  type NetworksConfig,
} from "./networks/index.ts";
import type { Periodic } from "./networks/index.ts";
import {
  createAltchaPow,
  createChallengePasses,
  deriveGuardKeys,
  loadGuardSecret,
  openOnceStore,
  PowConfigSchema,
  type OnceStore,
} from "./pow/index.ts";
import { createFingerprint } from "./text/index.ts";
import { WebhooksConfigSchema } from "./webhooks/index.ts";
import { createFormTokens, FormTokenConfigSchema, formTokenLimits } from "./token/index.ts";

/** The whole `guard` section: the judgement's own keys and each signal provider's. */
export const GuardConfigSchema = GuardSectionSchema.extend({
  pow: PowConfigSchema.prefault({}),
  form_token: FormTokenConfigSchema.prefault({}),
  networks: NetworksConfigSchema.prefault({}),
  email: EmailSignalsConfigSchema.prefault({}),
  counters: CountersConfigSchema.prefault({}),
  accounts: AccountsConfigSchema.prefault({}),
  webhooks: WebhooksConfigSchema.prefault({}),
}).refine((c) => c.pow.store !== "redis" || c.counters.redis_url !== undefined, {
  message:
    'store "redis" shares the counters\' Redis: set guard.counters.redis_url, such as redis://127.0.0.1:6379',
  path: ["pow", "store"],
});
export type GuardConfig = z.infer<typeof GuardConfigSchema>;

/**
 * The AS data and the Tor exits, made before detection (surge detection reads the AS) and
 * loaded by `start` (look-ups answer nothing until then).
 */
export class GuardNetworks {
  readonly as: AsDatabase;
  readonly tor: TorExits;
  readonly #config: NetworksConfig;
  readonly #log: (line: string) => void;
  #started: Promise<void> | undefined;
  readonly #watches: Periodic[] = [];

  constructor(config: NetworksConfig, dataDir: string, log: (line: string) => void) {
    this.#config = config;
    this.#log = log;
    this.as = AsDatabase.fromConfig(config.as, log);
    this.tor = TorExits.fromConfig(config.tor, { dataDir, log });
  }

  /** Loads once, however often it is called. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      await this.as.start();
      await this.tor.start();
      // A local list is read now (replay reads no URL: it would be today's list anyway).
      if (this.#config.tor.file !== undefined) {
        const r = await this.tor.refresh(Date.now());
        if (r.outcome === "failed") this.#log(`rempart: Tor exit list: ${r.message ?? "failed"}`);
      }
    })();
    return this.#started;
  }

  /** Live only: reload the AS file when it changes, download the Tor list on schedule. */
  watch(clock: Clock): void {
    this.#watches.push(this.as.watch(this.#config.as.refresh), this.tor.watch(clock));
  }

  async stop(): Promise<void> {
    for (const w of this.#watches.splice(0)) await w.stop();
  }
}

export interface GuardDeps {
  readonly dataDir: string;
  readonly networks: GuardNetworks;
  /** The active decisions: on a subject (address, ranges, account, e-mail), and on an AS. */
  readonly book: Pick<DecisionBook, "match" | "on">;
  readonly surge?: GuardParts["surge"];
  /** The addresses' reputation, 0–100 (src/reputation). */
  readonly reputation?: GuardParts["reputation"];
  /** Live: MX look-ups run. Replay: they do not (today's DNS says nothing of old events). */
  readonly live: boolean;
  readonly log: (line: string) => void;
}

export interface RunningGuard {
  readonly guard: Guard;
  /** What an API thread needs to make the same `GuardPreparer` (see `guardPreparer`). */
  readonly preparerInit: GuardPreparerInit;
  /** One line for the start-up message. */
  describe(): string;
  stop(): Promise<void>;
}

export async function startGuard(config: GuardConfig, deps: GuardDeps): Promise<RunningGuard> {
  const secretFile = config.pow.secret_file ?? join(deps.dataDir, "guard.key");
  // Replay writes nothing: without a secret on disk, nothing it reads was signed with one.
  const secret =
    deps.live || config.pow.secret !== undefined || existsSync(secretFile)
      ? await loadGuardSecret(config.pow, deps.dataDir)
      : randomBytes(32);
  const redisUrl = config.counters.redis_url;
  const once = await openOnceStore(config.pow, redisUrl);
  const email = await createEmailSignals(config.email);
  // The client retries about once a second while Redis is down: one line a minute, not each.
  let quietUntil = 0;
  let quieted = 0;
  const onError = (e: Error): void => {
    const now = Date.now();
    if (now < quietUntil) {
      quieted++;
      return;
    }
    const more = quieted > 0 ? ` (and ${quieted} more errors in the last minute)` : "";
    deps.log(`rempart: guard counters: ${e.message}${more}`);
    quietUntil = now + 60_000;
    quieted = 0;
  };
  const short = createCounters(config.counters, parseDuration(config.windows.short)!, { onError });
  const long = createCounters(config.counters, parseDuration(config.windows.long)!, { onError });
  // Redis out of reach at start does not stop the daemon: its client keeps trying, and until it
  // answers the guard assesses without counts (reason `counters-unavailable`).
  await Promise.all([short.start(), long.start()]).catch((e: unknown) =>
    deps.log(
      `rempart: guard counters: ${e instanceof Error ? e.message : String(e)}; assessing without counts until they answer`,
    ),
  );
  await deps.networks.start();
  const parts: GuardParts = {
    ...statelessParts(config, secret),
    pow: createAltchaPow(config.pow, secret, once.store),
    passes: createChallengePasses(config.pow, secret),
    as: deps.networks.as,
    tor: deps.networks.tor,
    disposable: email.disposable,
    ...(deps.live && email.mx !== undefined ? { mx: email.mx } : {}),
    short,
    long,
    decisions: (subject, now) => deps.book.match(subject, now),
    asDecisions: (asn, now) => deps.book.on("as", String(asn), now),
    ...(deps.surge === undefined ? {} : { surge: deps.surge }),
    ...(deps.reputation === undefined ? {} : { reputation: deps.reputation }),
    isNight: nightTest(config.night),
  };
  const guard = new Guard(parts, guardOptions(config, formTokenLimits(config.form_token)));
  return {
    guard,
    preparerInit: { config, secret },
    describe: () => {
      const hooks = [
        ...(config.webhooks.gocardless === undefined ? [] : ["/v1/webhooks/gocardless"]),
        ...Object.keys(config.webhooks.hmac).map((name) => `/v1/webhooks/hmac/${name}`),
      ];
      return (
        `guard: ${Object.keys(config.forms).length} form(s) configured, counters in ${config.counters.backend}, ` +
        `proof-of-work store in ${config.pow.store}${deps.networks.tor.enabled ? ", Tor exit list" : ""}` +
        (hooks.length === 0 ? "" : `; webhooks at ${hooks.join(", ")}`)
      );
    },
    async stop() {
      email.close();
      await Promise.all([short.close(), long.close(), once.close()]);
    },
  };
}

/** The configuration and the secret: all the stateless half of the guard is made of. */
export interface GuardPreparerInit {
  readonly config: GuardConfig;
  readonly secret: Uint8Array;
}

/**
 * The parts that need no state, as the daemon's guard has them (its proof of work claims in
 * the once-store besides).
 */
function statelessParts(config: GuardConfig, secret: Uint8Array): Omit<PreparerParts, "pow"> {
  // Fingerprints are keyed so that a name cannot be guessed back from its hash; the key comes
  // from the guard's secret, the same on every node and in replay.
  const fingerprintKey = createHmac("sha256", secret).update("rempart fingerprint").digest("hex");
  return {
    tokens: createFormTokens(config.form_token, deriveGuardKeys(secret)),
    fingerprint: createFingerprint(fingerprintKey),
    normalizeEmail: (a) => {
      const r = normalizeEmail(a);
      return r.ok ? r.value : undefined;
    },
  };
}

/** An API thread claims nothing: the daemon's thread does, in its once-store. */
const NO_CLAIMS: OnceStore = {
  claim: () => Promise.reject(new Error("an API thread does not claim proofs of work")),
};

/** The stateless half of the guard the daemon runs with `init`, for an API thread. */
export function guardPreparer(init: GuardPreparerInit): GuardPreparer {
  const { config, secret } = init;
  return new GuardPreparer(
    { ...statelessParts(config, secret), pow: createAltchaPow(config.pow, secret, NO_CLAIMS) },
    guardOptions(config, formTokenLimits(config.form_token)),
  );
}
