import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { err, ok, parseDuration, RempartError, type Result } from "../../core/index.ts";
import type { AsInfo, AsLookup } from "../ports.ts";
import { readAsCsv } from "./as-csv.ts";
import { AsTableBuilder, EMPTY_AS_TABLE, type AsTable, type AsTableStats } from "./as-table.ts";
import { HostingClassifier, readHostingAsns } from "./hosting.ts";
import type { AsConfig } from "./networks-config.ts";
import { runPeriodically, type Periodic } from "./periodic.ts";

/**
 * The `@ip-location-db/asn` package's files: the default source. Empty when the package is not
 * installed, so that a configuration naming its own file works without it.
 */
export const PACKAGE_AS_FILES: readonly string[] = Object.freeze(resolvePackageFiles());

function resolvePackageFiles(): string[] {
  try {
    return ["asn-ipv4.csv", "asn-ipv6.csv"].map((f) =>
      fileURLToPath(import.meta.resolve(`@ip-location-db/asn/${f}`)),
    );
  } catch {
    return [];
  }
}

export interface AsDatabaseOptions {
  /** CSV files in ip-location-db's format, read in this order (an earlier file wins overlaps). */
  readonly files: readonly string[];
  /** Curated hosting ASNs (hosting-asns.txt) are added at start; these come from configuration. */
  readonly hostingAsns?: readonly number[];
  readonly notHostingAsns?: readonly number[];
  /** A hosting list file other than the one shipped (tests). */
  readonly hostingFile?: string;
  readonly log?: (line: string) => void;
}

/** What one load did. */
export interface AsLoadReport extends AsTableStats {
  readonly files: readonly string[];
  readonly ms: number;
  readonly v4: number;
  readonly v6: number;
  readonly ases: number;
  readonly hostingAses: number;
}

export type AsReloadOutcome =
  | { readonly kind: "unchanged" }
  | { readonly kind: "loaded"; readonly report: AsLoadReport }
  | { readonly kind: "failed"; readonly message: string };

/**
 * IP → AS number, name and hosting flag, from local CSV data held in memory ({@link AsTable}).
 * `start()` loads it (a few hundred ms for the public data); `reload()` loads it again when a
 * file changed and swaps the table in one assignment, so a look-up sees the old table or the
 * new one, never a mix; a failed reload keeps the old table and says why. Until `start()` ends
 * every look-up answers undefined.
 */
export class AsDatabase implements AsLookup {
  readonly #files: readonly string[];
  readonly #options: AsDatabaseOptions;
  readonly #log: (line: string) => void;
  #table: AsTable = EMPTY_AS_TABLE;
  #classifier: HostingClassifier | undefined;
  #stamp = "";
  #loading: Promise<AsReloadOutcome> | undefined;

  constructor(options: AsDatabaseOptions) {
    this.#files = options.files;
    this.#options = options;
    this.#log = options.log ?? (() => undefined);
  }

  /** From the `guard.networks.as` configuration (the package's data when `file` is absent). */
  static fromConfig(config: AsConfig, log?: (line: string) => void): AsDatabase {
    const files =
      config.file === undefined
        ? PACKAGE_AS_FILES
        : typeof config.file === "string"
          ? [config.file]
          : config.file;
    return new AsDatabase({
      files,
      hostingAsns: config.hosting_asns,
      notHostingAsns: config.not_hosting_asns,
      ...(log === undefined ? {} : { log }),
    });
  }

  lookup(ip: string): AsInfo | undefined {
    return this.#table.lookup(ip);
  }

  get counts(): AsTable["counts"] {
    return this.#table.counts;
  }

  /** Bytes of the typed arrays held. */
  get bytes(): number {
    return this.#table.bytes;
  }

  /** Loads the data; throws a RempartError (CONFIG_INVALID) naming the file and line if it cannot. */
  async start(): Promise<AsLoadReport> {
    const r = await this.reload({ force: true });
    if (r.kind === "loaded") return r.report;
    throw new RempartError(
      "CONFIG_INVALID",
      `guard.networks.as: ${r.kind === "failed" ? r.message : "not loaded"}`,
      {
        hint: "check guard.networks.as.file (CSV: start,end,asn,name), or remove it to use the @ip-location-db/asn data",
      },
    );
  }

  /**
   * Loads the files again if their size or modification time changed (or with `force`).
   * Never throws on bad data: a failure keeps the table held and answers why.
   */
  reload(options: { force?: boolean } = {}): Promise<AsReloadOutcome> {
    // One load at a time: a second caller shares the first one's outcome.
    this.#loading ??= this.#reload(options.force === true).finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #reload(force: boolean): Promise<AsReloadOutcome> {
    if (this.#files.length === 0)
      return this.#failed(
        "no AS data file: the @ip-location-db/asn package is not installed and no file is configured",
      );
    const stamp = await this.#stampOf();
    if (!stamp.ok) return this.#failed(stamp.error);
    if (!force && stamp.value === this.#stamp) return { kind: "unchanged" };
    const t0 = performance.now();
    const classifier = await this.#getClassifier();
    if (!classifier.ok) return this.#failed(classifier.error);
    const builder = new AsTableBuilder();
    const add = builder.add.bind(builder);
    for (const file of this.#files) {
      const problem = await readAsCsv(file, add);
      if (problem)
        return this.#failed(
          `${problem.file}${problem.line === undefined ? "" : `, line ${problem.line}`}: ${problem.message}`,
        );
    }
    if (builder.rows === 0) return this.#failed(`${this.#files.join(", ")}: no ranges at all`);
    const { table, stats } = builder.build((asn, name) => classifier.value.isHosting(asn, name));
    this.#table = table;
    this.#stamp = stamp.value;
    const counts = table.counts;
    const report: AsLoadReport = Object.freeze({
      ...stats,
      ...counts,
      hostingAses: table.hostingCount(),
      files: this.#files,
      ms: Math.round(performance.now() - t0),
    });
    this.#log(
      `rempart: AS data: ${report.v4} IPv4 and ${report.v6} IPv6 ranges, ${report.ases} ASes (${report.hostingAses} hosting) loaded in ${report.ms} ms${report.overlaps > 0 ? `; ${report.overlaps} overlapping ranges cut` : ""}`,
    );
    return { kind: "loaded", report };
  }

  #failed(message: string): AsReloadOutcome {
    const held = this.#table.counts;
    this.#log(
      `rempart: AS data: ${message}; ${held.ases > 0 ? `keeping the ${held.ases} ASes loaded before` : "no AS data loaded"}`,
    );
    return { kind: "failed", message };
  }

  async #getClassifier(): Promise<Result<HostingClassifier, string>> {
    if (this.#classifier) return ok(this.#classifier);
    const curated = await readHostingAsns(this.#options.hostingFile);
    if (!curated.ok) return err(curated.error.message);
    this.#classifier = new HostingClassifier(
      [...curated.value, ...(this.#options.hostingAsns ?? [])],
      this.#options.notHostingAsns ?? [],
    );
    return ok(this.#classifier);
  }

  async #stampOf(): Promise<Result<string, string>> {
    const parts: string[] = [];
    for (const file of this.#files) {
      try {
        const s = await stat(file);
        parts.push(`${s.size}:${s.mtimeMs}`);
      } catch (e) {
        return err(`${file}: cannot read it: ${(e as Error).message}`);
      }
    }
    return ok(parts.join("|"));
  }

  /**
   * Checks the files every `every` (a duration such as `1d`, or ms) and reloads them when they
   * changed. The daemon calls it after `start()` and stops it on shutdown.
   */
  watch(every: string | number): Periodic {
    const ms = typeof every === "number" ? every : parseDuration(every);
    if (ms === undefined || ms <= 0) throw new Error(`not a duration: ${String(every)}`);
    return runPeriodically(
      async () => {
        await this.reload();
        return ms;
      },
      { firstDelayMs: ms, fallbackMs: ms, log: this.#log, name: "AS data" },
    );
  }
}
