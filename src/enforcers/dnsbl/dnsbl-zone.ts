/**
 * The DNSBL zone (RFC 5782) answered from memory: a DNS query in wire format in, the response
 * out, with no I/O, so that the UDP and TCP servers share it and tests drive it directly.
 *
 * The hot path reads the query name in place (label offsets in a preallocated array, the
 * address built as 32-bit words from the octets or nibbles), finds the address's listing in a
 * cache keyed by those words, asks the DecisionBook on a miss, and copies answer records encoded
 * once: the A records once per set of codes, the TXT records once per listed address and only
 * when asked. A change to an address's decisions drops that address's answer; a change to a
 * range drops them all. Never throws on a
 * packet: anything unreadable gets FORMERR or is dropped when it has no header to answer.
 */
import type { Action, Clock, Decision } from "../../core/index.ts";
import type { DecisionBook } from "../../decisions/index.ts";
import { formatGroups, HEX_DIGIT, newAddressWords, parsePrefixWords } from "../../net/index.ts";
import { AddressCache } from "./address-cache.ts";

export const TYPE_A = 1;
export const TYPE_NS = 2;
export const TYPE_SOA = 6;
export const TYPE_TXT = 16;
const TYPE_OPT = 41;
const TYPE_IXFR = 251;
const TYPE_AXFR = 252;
const TYPE_ANY = 255;
const CLASS_IN = 1;
const CLASS_ANY = 255;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const RCODE_REFUSED = 5;

/** RFC 5782 §5: always listed (127.0.0.2, and ::FFFF:7F00:2 which is the same address). */
const TEST_LISTED = 0x7f000002;
/** RFC 5782 §5: never listed. */
const TEST_UNLISTED = 0x7f000001;
const TEST_TEXT = "RFC 5782 test entry: always listed";

const MAX_LABELS = 128;
/** Our own UDP payload size when the client speaks EDNS (the DNS flag day 2020 value). */
const EDNS_UDP_SIZE = 1232;
/** The largest UDP answer the zone writes: what `answerInto` needs room for. */
export const MAX_UDP_ANSWER = EDNS_UDP_SIZE;

export interface DnsblZoneOptions {
  /** The zone, lower case, without the trailing dot. */
  readonly zone: string;
  /** Longest TTL in seconds. */
  readonly ttl: number;
  /** 127.0.0.x by action, and by scenario (which wins). */
  readonly codes: Readonly<Partial<Record<Action, string>>>;
  readonly scenarioCodes: Readonly<Record<string, string>>;
  readonly lookupUrl?: string | undefined;
  readonly txt?: string | undefined;
  readonly nameservers: readonly string[];
  readonly hostmaster?: string | undefined;
  readonly cacheEntries: number;
}

export interface ZoneStats {
  queries: number;
  listed: number;
  notListed: number;
  refused: number;
  formErr: number;
  cacheHits: number;
}

/**
 * What one listed address answers: records whose owner name is a pointer to the question, with
 * the zone's TTL (patched per answer).
 */
interface Listing {
  /** One A record per code, ascending; shared by every address listed with the same codes. */
  readonly a: Buffer;
  readonly count: number;
  /** The decision behind each code, in the same order; empty for the RFC 5782 test entry. */
  readonly decisions: readonly Decision[];
  /** The address as the DecisionBook was asked, for `{ip}` in the TXT text. */
  readonly ip: string;
  /** Earliest expiry of the decisions behind it (ms), or Infinity. */
  readonly expiresAt: number;
  /** One TXT record per code, encoded on the first TXT or ANY query for the address. */
  txt: Buffer | undefined;
  /** A then TXT, for ANY. */
  any: Buffer | undefined;
}

const TXT_FIELD = /\{(reason|scenario|action|ip|url)\}/;

export class DnsblZone {
  readonly stats: ZoneStats = {
    queries: 0,
    listed: 0,
    notListed: 0,
    refused: 0,
    formErr: 0,
    cacheHits: 0,
  };
  readonly #book: DecisionBook;
  readonly #clock: Clock;
  readonly #options: DnsblZoneOptions;
  /** Zone labels, lower-case bytes. */
  readonly #zoneLabels: readonly Buffer[];
  readonly #zoneName: Buffer;
  readonly #actionCodes: ReadonlyMap<string, number>;
  readonly #scenarioCodes: ReadonlyMap<string, number>;
  /** The TXT template split on its fields: literal, field, literal, field, …, literal. */
  readonly #txtParts: readonly string[];
  /** The lookup URL split on `{ip}`. */
  readonly #urlParts: readonly string[] | undefined;
  readonly #nsRecords: Buffer;
  readonly #testListing: Listing;
  #soaRecord: Buffer;
  #apexAny: Buffer;
  #serial: number;
  /** The zone changed since the SOA was encoded: the next answer that carries it renews it. */
  #soaStale = false;
  /** When the zone last changed (ms). */
  #changedAt = 0;
  readonly #words = newAddressWords();
  // Hot-path scratch: label offsets and lengths of the query being answered.
  readonly #labelStart = new Int32Array(MAX_LABELS);
  readonly #labelLen = new Int32Array(MAX_LABELS);
  readonly #groups = new Uint16Array(8);
  /** Listings by address; null for an address that is not listed. */
  readonly #cache: AddressCache<Listing | null>;
  /** A records by set of codes (the codes joined by commas). */
  readonly #aRecords = new Map<string, Buffer>();
  /** Where the answer being built is written: the caller's slot, or #scratch. */
  #dst: Buffer;
  /** Room for the largest answer (a TCP message and its length prefix). */
  readonly #scratch = Buffer.allocUnsafe(65_537);

  constructor(book: DecisionBook, clock: Clock, options: DnsblZoneOptions) {
    this.#book = book;
    this.#clock = clock;
    this.#options = options;
    this.#zoneLabels = options.zone.split(".").map((l) => Buffer.from(l.toLowerCase(), "ascii"));
    this.#zoneName = encodeName(options.zone);
    this.#actionCodes = new Map(Object.entries(options.codes).map(([k, v]) => [k, ipv4Number(v)]));
    this.#scenarioCodes = new Map(
      Object.entries(options.scenarioCodes).map(([k, v]) => [k, ipv4Number(v)]),
    );
    const template = options.txt ?? (options.lookupUrl ? "{reason}; see {url}" : "{reason}");
    this.#txtParts = template.split(TXT_FIELD);
    this.#urlParts = options.lookupUrl?.split("{ip}");
    this.#cache = new AddressCache(options.cacheEntries);
    this.#dst = this.#scratch;
    this.#serial = Math.floor(clock.now() / 1000) >>> 0;
    this.#nsRecords = Buffer.concat(
      options.nameservers.map((ns) =>
        rr(this.#zoneName, TYPE_NS, options.ttl >= 3600 ? options.ttl : 3600, encodeName(ns)),
      ),
    );
    this.#soaRecord = this.#encodeSoa();
    this.#apexAny = Buffer.concat([this.#soaRecord, this.#nsRecords]);
    const test = this.#encodeA([TEST_LISTED]);
    const txt = rr(POINTER_TO_QUESTION, TYPE_TXT, options.ttl, txtData(TEST_TEXT));
    this.#testListing = {
      a: test,
      count: 1,
      decisions: [],
      ip: "127.0.0.2",
      expiresAt: Infinity,
      txt,
      any: Buffer.concat([test, txt]),
    };
  }

  /** The decisions changed, in ways not said: every answer computed before may be wrong now. */
  invalidate(): void {
    this.#cache.clear();
    this.#soaStale = true;
    this.#changedAt = this.#clock.now();
  }

  /**
   * One decision was added or removed: drops the answers it may change. An address's decision
   * changes only that address's answer, so under an attack that adds bans every second the
   * answers for everyone else stay cached; a range drops them all. Decisions of other scopes
   * (accounts, e-mail, AS) are not in the zone.
   */
  changed(decision: Decision): void {
    if (decision.scope === "range") {
      this.invalidate();
      return;
    }
    if (decision.scope !== "ip") return;
    const w = this.#words;
    const family = parsePrefixWords(decision.value, w);
    // IPv4-mapped addresses parse as IPv4, as the zone reads them.
    if (family === 4 && w[4] === 32) this.#cache.delete(0, 0, 0xffff, w[0]!);
    else if (family === 6 && w[4] === 128) this.#cache.delete(w[0]!, w[1]!, w[2]!, w[3]!);
    else this.#cache.clear();
    this.#soaStale = true;
    this.#changedAt = this.#clock.now();
  }

  /**
   * The SOA record, its serial renewed after a change: the second of the last change, or one
   * more than the serial before when changes came faster than one a second.
   */
  #soa(): Buffer {
    if (this.#soaStale) {
      this.#soaStale = false;
      const serial = Math.floor(this.#changedAt / 1000) >>> 0;
      this.#serial = serial > this.#serial ? serial : (this.#serial + 1) >>> 0;
      this.#soaRecord = this.#encodeSoa();
      this.#apexAny = Buffer.concat([this.#soaRecord, this.#nsRecords]);
    }
    return this.#soaRecord;
  }

  get serial(): number {
    this.#soa();
    return this.#serial;
  }

  /**
   * The response to one query, or undefined when it must be dropped (too short to carry an id,
   * or itself a response). `tcp` lifts the 512-byte UDP limit and reserves the 2-byte length
   * prefix at the start of the returned buffer, a new one.
   */
  answer(q: Buffer, tcp: boolean): Buffer | undefined {
    this.#dst = this.#scratch;
    const size = this.#answerTo(q, q.length, tcp);
    if (size === 0) return undefined;
    const out = Buffer.allocUnsafe(size);
    this.#scratch.copy(out, 0, 0, size);
    return out;
  }

  /**
   * The UDP response to the query in the first `qLen` bytes of `q`, written at the start of
   * `out` (room for 1,232 bytes, the largest UDP answer given); returns its length, or 0 when
   * the query must be dropped. Nothing is allocated: the batched UDP path answers into slots.
   */
  answerInto(q: Buffer, qLen: number, out: Buffer): number {
    this.#dst = out;
    return this.#answerTo(q, qLen, false);
  }

  /** The answer's length in #dst, 0 for none. `q` holds the query in its first `qLen` bytes. */
  #answerTo(q: Buffer, qLen: number, tcp: boolean): number {
    if (qLen < 12) return 0;
    if ((q[2]! & 0x80) !== 0) return 0;
    this.stats.queries++;
    const opcode = (q[2]! >> 3) & 0x0f;
    if (opcode !== 0) return this.#header(q, tcp, RCODE_NOTIMP);
    // One question, no answers. An authority section is checked once the type is known: an
    // IXFR carries the client's SOA there (RFC 1995), and is refused as AXFR is.
    if (q[4] !== 0 || q[5] !== 1 || q[6] !== 0 || q[7] !== 0) {
      this.stats.formErr++;
      return this.#header(q, tcp, RCODE_FORMERR);
    }

    // The question name, read in place.
    let pos = 12;
    let n = 0;
    for (;;) {
      if (pos >= qLen) return this.#formErr(q, tcp);
      const len = q[pos]!;
      if (len === 0) {
        pos++;
        break;
      }
      // No compression pointers in a question; 0x40/0x80 label types are obsolete.
      if (len > 63 || n === MAX_LABELS) return this.#formErr(q, tcp);
      this.#labelStart[n] = pos + 1;
      this.#labelLen[n] = len;
      n++;
      pos += len + 1;
      if (pos - 12 > 255) return this.#formErr(q, tcp);
    }
    if (pos + 4 > qLen) return this.#formErr(q, tcp);
    const qtype = (q[pos]! << 8) | q[pos + 1]!;
    const qclass = (q[pos + 2]! << 8) | q[pos + 3]!;
    const qEnd = pos + 4;
    if (q[8] !== 0 || q[9] !== 0)
      return qtype === TYPE_IXFR ? this.#refused(q, qEnd, tcp, false) : this.#formErr(q, tcp);

    // EDNS: an OPT record first in the additional section sets the client's UDP size.
    let edns = false;
    let limit = tcp ? 65_535 : 512;
    if (q[10] !== 0 || q[11] !== 0) {
      if (qEnd + 11 > qLen) return this.#formErr(q, tcp);
      if (q[qEnd] === 0 && q[qEnd + 1] === 0 && q[qEnd + 2] === TYPE_OPT) {
        edns = true;
        if (q[qEnd + 6] !== 0) return this.#respond(q, qEnd, tcp, 0, edns, 1 /* BADVERS */);
        if (!tcp) {
          const size = (q[qEnd + 3]! << 8) | q[qEnd + 4]!;
          limit = size < 512 ? 512 : size > EDNS_UDP_SIZE ? EDNS_UDP_SIZE : size;
        }
      }
    }

    if (qclass !== CLASS_IN && qclass !== CLASS_ANY) return this.#refused(q, qEnd, tcp, edns);
    const z = this.#zoneLabels.length;
    if (n < z) return this.#refused(q, qEnd, tcp, edns);
    for (let i = 0; i < z; i++) {
      if (
        !labelEquals(
          q,
          this.#labelStart[n - z + i]!,
          this.#labelLen[n - z + i]!,
          this.#zoneLabels[i]!,
        )
      )
        return this.#refused(q, qEnd, tcp, edns);
    }
    if (qtype === TYPE_AXFR || qtype === TYPE_IXFR) return this.#refused(q, qEnd, tcp, edns);

    const prefix = n - z;
    if (prefix === 0) return this.#apex(q, qEnd, tcp, edns, limit, qtype);

    const now = this.#clock.now();
    let listing: Listing | null = null;
    if (prefix === 4) {
      const v4 = this.#readV4(q);
      if (v4 >= 0) listing = this.#lookupV4(v4, now);
    } else if (prefix === 32) {
      listing = this.#lookupV6(q, now);
    }
    if (listing === null) {
      this.stats.notListed++;
      return this.#respond(q, qEnd, tcp, RCODE_NXDOMAIN, edns, 0, undefined, 0, this.#soa(), 1);
    }
    this.stats.listed++;
    let ttl = this.#options.ttl;
    if (listing.expiresAt !== Infinity) {
      const left = Math.floor((listing.expiresAt - now) / 1000);
      if (left < ttl) ttl = left < 0 ? 0 : left;
    }
    let records: Buffer;
    let count = listing.count;
    if (qtype === TYPE_A) records = listing.a;
    else if (qtype === TYPE_TXT) records = this.#txtOf(listing);
    else if (qtype === TYPE_ANY) {
      records = listing.any ??= Buffer.concat([listing.a, this.#txtOf(listing)]);
      count *= 2;
    } else {
      // The name exists, not with this type.
      return this.#respond(q, qEnd, tcp, 0, edns, 0, undefined, 0, this.#soa(), 1);
    }
    return this.#respond(q, qEnd, tcp, 0, edns, 0, records, count, undefined, 0, ttl, limit);
  }

  #apex(
    q: Buffer,
    qEnd: number,
    tcp: boolean,
    edns: boolean,
    limit: number,
    qtype: number,
  ): number {
    this.stats.notListed++;
    const ns = this.#options.nameservers.length;
    if (qtype === TYPE_SOA)
      return this.#respond(q, qEnd, tcp, 0, edns, 0, this.#soa(), 1, undefined, 0, -1, limit);
    if (qtype === TYPE_NS)
      return this.#respond(q, qEnd, tcp, 0, edns, 0, this.#nsRecords, ns, undefined, 0, -1, limit);
    if (qtype === TYPE_ANY) {
      this.#soa();
      return this.#respond(
        q,
        qEnd,
        tcp,
        0,
        edns,
        0,
        this.#apexAny,
        1 + ns,
        undefined,
        0,
        -1,
        limit,
      );
    }
    return this.#respond(q, qEnd, tcp, 0, edns, 0, undefined, 0, this.#soa(), 1);
  }

  /** The address of a 4-label prefix (reversed octets), or -1 when it is not one. */
  #readV4(q: Buffer): number {
    let v = 0;
    for (let i = 3; i >= 0; i--) {
      const start = this.#labelStart[i]!;
      const len = this.#labelLen[i]!;
      if (len > 3) return -1;
      let octet = 0;
      for (let j = 0; j < len; j++) {
        const c = q[start + j]! - 48;
        if (c < 0 || c > 9) return -1;
        octet = octet * 10 + c;
      }
      // No leading zeros: "01" is not how anyone writes an octet, so it is not listed.
      if (octet > 255 || (len > 1 && q[start] === 48)) return -1;
      v = v * 256 + octet;
    }
    return v;
  }

  #lookupV4(v4: number, now: number): Listing | null {
    if (v4 === TEST_LISTED) return this.#testListing;
    if (v4 === TEST_UNLISTED) return null;
    const cached = this.#cache.get(0, 0, 0xffff, v4);
    if (cached !== undefined && (cached === null || cached.expiresAt > now)) {
      this.stats.cacheHits++;
      return cached;
    }
    const ip = `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`;
    const listing = this.#listingFor(ip, now);
    this.#cache.set(0, 0, 0xffff, v4, listing);
    return listing;
  }

  /** 32 one-nibble labels, least significant first; IPv4-mapped addresses are IPv4. */
  #lookupV6(q: Buffer, now: number): Listing | null {
    // Each label takes at least two bytes, so 31 labels in 62 bytes are all one nibble long:
    // then label i's nibble is at byte 13 + 2i, and the name is read without the label arrays.
    if (this.#labelStart[31] !== 13 + 62 || this.#labelLen[31] !== 1) return null;
    let w0 = 0;
    let w1 = 0;
    let w2 = 0;
    let w3 = 0;
    let bad = 0;
    // Word 3 holds labels 0–7 (bytes 13…), word 2 labels 8–15 (29…), word 1 16–23 (45…), word 0
    // 24–31 (61…); the k-th label of a word is its k-th nibble from the bottom.
    for (let k = 0; k < 8; k++) {
      const n3 = HEX_DIGIT[q[13 + 2 * k]!]!;
      const n2 = HEX_DIGIT[q[29 + 2 * k]!]!;
      const n1 = HEX_DIGIT[q[45 + 2 * k]!]!;
      const n0 = HEX_DIGIT[q[61 + 2 * k]!]!;
      // A byte that is not a hex digit reads -1: the sign bit says so at the end.
      bad |= n0 | n1 | n2 | n3;
      w3 |= n3 << (4 * k);
      w2 |= n2 << (4 * k);
      w1 |= n1 << (4 * k);
      w0 |= n0 << (4 * k);
    }
    if (bad < 0) return null;
    if (w0 === 0 && w1 === 0 && w2 === 0xffff) return this.#lookupV4(w3 >>> 0, now);
    const cached = this.#cache.get(w0, w1, w2, w3);
    if (cached !== undefined && (cached === null || cached.expiresAt > now)) {
      this.stats.cacheHits++;
      return cached;
    }
    const g = this.#groups;
    g[0] = w0 >>> 16;
    g[1] = w0;
    g[2] = w1 >>> 16;
    g[3] = w1;
    g[4] = w2 >>> 16;
    g[5] = w2;
    g[6] = w3 >>> 16;
    g[7] = w3;
    const listing = this.#listingFor(formatGroups(g), now);
    this.#cache.set(w0, w1, w2, w3, listing);
    return listing;
  }

  /** Asks the book: the first decision found for each code (most specific first). */
  #listingFor(ip: string, now: number): Listing | null {
    const found = this.#book.match({ ip }, now);
    if (found.length === 0) return null;
    const codes: number[] = [];
    const decisions: Decision[] = [];
    let expiresAt = Infinity;
    for (const d of found) {
      if (d.scope !== "ip" && d.scope !== "range") continue;
      const code = this.#scenarioCodes.get(d.scenario) ?? this.#actionCodes.get(d.action);
      if (code === undefined) continue;
      if (d.expiresAt !== null && d.expiresAt < expiresAt) expiresAt = d.expiresAt;
      let j = 0;
      while (j < codes.length && codes[j]! < code) j++;
      if (codes[j] === code) continue;
      codes.splice(j, 0, code);
      decisions.splice(j, 0, d);
    }
    if (codes.length === 0) return null;
    return {
      a: this.#encodeA(codes),
      count: codes.length,
      decisions,
      ip,
      expiresAt,
      txt: undefined,
      any: undefined,
    };
  }

  /** The A records of a set of codes, encoded once per set. */
  #encodeA(codes: readonly number[]): Buffer {
    const key = codes.length === 1 ? String(codes[0]) : codes.join(",");
    let a = this.#aRecords.get(key);
    if (a === undefined) {
      a = Buffer.concat(
        codes.map((code) => {
          const addr = Buffer.allocUnsafe(4);
          addr.writeUInt32BE(code >>> 0);
          return rr(POINTER_TO_QUESTION, TYPE_A, this.#options.ttl, addr);
        }),
      );
      this.#aRecords.set(key, a);
    }
    return a;
  }

  #txtOf(listing: Listing): Buffer {
    return (listing.txt ??= Buffer.concat(
      listing.decisions.map((d) =>
        rr(POINTER_TO_QUESTION, TYPE_TXT, this.#options.ttl, txtData(this.#text(d, listing.ip))),
      ),
    ));
  }

  #text(d: Decision, ip: string): string {
    const parts = this.#txtParts;
    let out = parts[0]!;
    for (let i = 1; i < parts.length; i += 2) {
      const field = parts[i];
      if (field === "reason") out += d.reason;
      else if (field === "scenario") out += d.scenario;
      else if (field === "action") out += d.action;
      else if (field === "ip") out += ip;
      else out += this.#urlParts?.join(ip) ?? "";
      out += parts[i + 1]!;
    }
    return out;
  }

  #encodeSoa(): Buffer {
    const o = this.#options;
    const mname = encodeName(o.nameservers[0] ?? "localhost");
    const rname = encodeName(o.hostmaster?.replace("@", ".") ?? `hostmaster.${o.zone}`);
    const fixed = Buffer.allocUnsafe(20);
    fixed.writeUInt32BE(this.#serial, 0);
    fixed.writeUInt32BE(600, 4); // refresh
    fixed.writeUInt32BE(60, 8); // retry
    fixed.writeUInt32BE(86_400, 12); // expire
    fixed.writeUInt32BE(o.ttl, 16); // minimum: the negative TTL, as short as a positive one
    return rr(this.#zoneName, TYPE_SOA, o.ttl, Buffer.concat([mname, rname, fixed]));
  }

  #formErr(q: Buffer, tcp: boolean): number {
    this.stats.formErr++;
    return this.#header(q, tcp, RCODE_FORMERR);
  }

  #refused(q: Buffer, qEnd: number, tcp: boolean, edns: boolean): number {
    this.stats.refused++;
    return this.#respond(
      q,
      qEnd,
      tcp,
      RCODE_REFUSED,
      edns,
      0,
      undefined,
      0,
      undefined,
      0,
      -1,
      512,
      false,
    );
  }

  /** A bare header with the query's id: for queries whose question cannot be read. */
  #header(q: Buffer, tcp: boolean, rcode: number): number {
    const off = tcp ? 2 : 0;
    const out = this.#dst;
    out.fill(0, 0, off + 12);
    if (tcp) out.writeUInt16BE(12, 0);
    out[off] = q[0]!;
    out[off + 1] = q[1]!;
    out[off + 2] = 0x80 | (q[2]! & 0x79);
    out[off + 3] = rcode;
    return off + 12;
  }

  /**
   * Header, the question copied as sent (so its case, 0x20-randomised by resolvers, is kept),
   * then the given sections. `ttl` ≥ 0 overwrites the TTL of every answer record. When the
   * whole does not fit `limit`, the answer is truncated (TC) so that the client retries on TCP.
   *
   * Written into #dst; returns its length.
   */
  #respond(
    q: Buffer,
    qEnd: number,
    tcp: boolean,
    rcode: number,
    edns: boolean,
    extRcode: number,
    answers?: Buffer,
    anCount = 0,
    authority?: Buffer,
    nsCount = 0,
    ttl = -1,
    limit = 512,
    aa = true,
  ): number {
    const off = tcp ? 2 : 0;
    const qLen = qEnd - 12;
    const optLen = edns ? 11 : 0;
    let anLen = answers === undefined ? 0 : answers.length;
    let nsLen = authority === undefined ? 0 : authority.length;
    let tc = false;
    if (12 + qLen + anLen + nsLen + optLen > limit) {
      tc = true;
      anLen = 0;
      nsLen = 0;
      anCount = 0;
      nsCount = 0;
    }
    const size = off + 12 + qLen + anLen + nsLen + optLen;
    const out = this.#dst;
    if (tcp) {
      out[0] = (size - 2) >> 8;
      out[1] = size - 2;
    }
    out[off] = q[0]!;
    out[off + 1] = q[1]!;
    out[off + 2] = 0x80 | (aa ? 0x04 : 0) | (tc ? 0x02 : 0) | (q[2]! & 0x01);
    out[off + 3] = rcode;
    out[off + 4] = 0;
    out[off + 5] = 1;
    out[off + 6] = anCount >> 8;
    out[off + 7] = anCount;
    out[off + 8] = nsCount >> 8;
    out[off + 9] = nsCount;
    out[off + 10] = 0;
    out[off + 11] = edns ? 1 : 0;
    let p = off + 12;
    p += q.copy(out, p, 12, qEnd);
    if (answers !== undefined && anLen > 0) {
      const start = p;
      p += answers.copy(out, p);
      if (ttl >= 0) patchTtls(out, start, p, ttl);
    }
    if (authority !== undefined && nsLen > 0) p += authority.copy(out, p);
    if (edns) {
      out[p] = 0; // root name
      out[p + 1] = 0;
      out[p + 2] = TYPE_OPT;
      out[p + 3] = EDNS_UDP_SIZE >> 8;
      out[p + 4] = EDNS_UDP_SIZE & 0xff;
      out[p + 5] = extRcode;
      out[p + 6] = 0; // version
      out[p + 7] = 0; // flags (DO never set: no DNSSEC)
      out[p + 8] = 0;
      out[p + 9] = 0; // no options
      out[p + 10] = 0;
    }
    return size;
  }
}

/** A compression pointer to the question's name, at offset 12 of every message. */
const POINTER_TO_QUESTION = Buffer.from([0xc0, 0x0c]);

/** Record bytes: name, type, class IN, TTL, data. */
function rr(name: Buffer, type: number, ttl: number, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(name.length + 10 + data.length);
  let p = name.copy(out, 0);
  out.writeUInt16BE(type, p);
  out.writeUInt16BE(CLASS_IN, p + 2);
  out.writeUInt32BE(ttl >>> 0, p + 4);
  out.writeUInt16BE(data.length, p + 8);
  p += 10;
  data.copy(out, p);
  return out;
}

/** Rewrites the TTL of records whose owner is the 2-byte pointer (the listing's records). */
function patchTtls(out: Buffer, start: number, end: number, ttl: number): void {
  let p = start;
  while (p + 12 <= end) {
    out[p + 6] = ttl >>> 24;
    out[p + 7] = ttl >>> 16;
    out[p + 8] = ttl >>> 8;
    out[p + 9] = ttl;
    p += 12 + ((out[p + 10]! << 8) | out[p + 11]!);
  }
}

export function encodeName(name: string): Buffer {
  const parts = name
    .replace(/\.$/, "")
    .split(".")
    .filter((l) => l.length > 0);
  const bufs: Buffer[] = [];
  for (const l of parts) {
    const b = Buffer.from(l.toLowerCase(), "utf8");
    if (b.length > 63) throw new Error(`DNS label longer than 63 bytes: ${l}`);
    bufs.push(Buffer.from([b.length]), b);
  }
  bufs.push(Buffer.from([0]));
  return Buffer.concat(bufs);
}

/** TXT data: character-strings of at most 255 bytes, cut on UTF-8 boundaries, 1 KiB in all. */
function txtData(text: string): Buffer {
  // Control characters would only confuse whoever reads the record.
  let bytes = Buffer.from(text.replace(/[\u0000-\u001f\u007f]/g, " "), "utf8");
  if (bytes.length > 1020) bytes = bytes.subarray(0, utf8Cut(bytes, 1020));
  const parts: Buffer[] = [];
  let p = 0;
  do {
    const end = p + 255 >= bytes.length ? bytes.length : p + utf8Cut(bytes.subarray(p), 255);
    parts.push(Buffer.from([end - p]), bytes.subarray(p, end));
    p = end;
  } while (p < bytes.length);
  return Buffer.concat(parts);
}

function utf8Cut(b: Buffer, max: number): number {
  let cut = max;
  while (cut > 0 && (b[cut]! & 0xc0) === 0x80) cut--;
  return cut;
}

function labelEquals(q: Buffer, start: number, len: number, label: Buffer): boolean {
  if (len !== label.length) return false;
  for (let i = 0; i < len; i++) {
    let c = q[start + i]!;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== label[i]) return false;
  }
  return true;
}

function ipv4Number(text: string): number {
  let v = 0;
  for (const o of text.split(".")) v = v * 256 + Number(o);
  return v;
}
