import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { err, ok, type ParseError, type Result } from "../../core/index.ts";

/** The curated list shipped with Rempart: one AS number per line, a comment naming it. */
export const HOSTING_ASNS_FILE = join(import.meta.dirname, "hosting-asns.txt");

/**
 * Words of an AS name that say the network rents machines. Checked against the ~90,000 names
 * of the public AS data, each kept only where its matches are hosting companies:
 * - `hosting`, `datacenter`/`data center`/`data-centre`, `colocation`: what these firms sell.
 * - `server` at the start or end of a word (`Servers.com`, `Megaservers`, `Serverius`), not
 *   inside one (`Wasserversorgung`, a water utility).
 * - `vps`, and `vds` as a word (the Russian-speaking market's name for a VPS).
 * Left out on purpose: `cloud` (telephony, SaaS, even a fibre ISP: White Cloud Communications),
 * `host` alone, `colo` (Colombia, Colorado), `compute`, `virtual`, `dedicated` (a railway
 * corridor company).
 */
const HOSTING_WORDS = /hosting|data ?-?cent(?:er|re)|colocation|\bserver|servers?\b|vps|\bvds\b/i;

/**
 * Words that name an access network. A name with one of these is not classified by its words
 * (`VPS Broadband`, `Server ISP`, `Hosting Telecom`): a few hosting firms are missed, which the
 * curated list or `hosting_asns` corrects; people's ISPs are never caught by a name.
 */
const ACCESS_WORDS =
  /tele[ck]o[mn]|broadband|cable|fib(?:er|re|ra)|mobile|wireless|\bisp\b|provedor|telefon/i;

/** Whether an AS's name alone says it is a hosting network (see HOSTING_WORDS, ACCESS_WORDS). */
export const hostingByName = (name: string): boolean =>
  HOSTING_WORDS.test(name) && !ACCESS_WORDS.test(name);

/**
 * Decides whether an AS is a hosting, cloud, VPS or data-centre network, in this order:
 * `notHosting` (the operator's exceptions) → no; `hosting` (the curated list plus the
 * operator's additions) → yes; otherwise the name heuristic.
 */
export class HostingClassifier {
  readonly #hosting: ReadonlySet<number>;
  readonly #notHosting: ReadonlySet<number>;

  constructor(hosting: Iterable<number>, notHosting: Iterable<number> = []) {
    this.#hosting = new Set(hosting);
    this.#notHosting = new Set(notHosting);
  }

  isHosting(asn: number, name: string): boolean {
    if (this.#notHosting.has(asn)) return false;
    return this.#hosting.has(asn) || hostingByName(name);
  }
}

/** Parses a hosting-ASN list: `16276 # OVH SAS`, blank lines and `#` comments. */
export function parseHostingAsns(text: string, file: string): Result<number[]> {
  const asns: number[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const hash = lines[i]!.indexOf("#");
    const body = (hash < 0 ? lines[i]! : lines[i]!.slice(0, hash)).trim();
    if (body === "") continue;
    const asn = /^(?:AS)?(\d{1,10})$/i.exec(body);
    if (!asn || Number(asn[1]) > 0xffffffff || Number(asn[1]) === 0) {
      const error: ParseError = {
        code: "INPUT_INVALID",
        message: `${file}, line ${i + 1}: expected one AS number per line, got ${JSON.stringify(body.slice(0, 40))}`,
        line: i + 1,
      };
      return err(error);
    }
    asns.push(Number(asn[1]));
  }
  return ok(asns);
}

/** Reads the curated list (or another file in its format). */
export async function readHostingAsns(file = HOSTING_ASNS_FILE): Promise<Result<number[]>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    return err({ code: "INPUT_INVALID", message: `cannot read ${file}: ${(e as Error).message}` });
  }
  return parseHostingAsns(text, file);
}
