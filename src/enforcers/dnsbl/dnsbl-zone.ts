/**
 * The DNSBL zone (RFC 5782) answered from memory: a DNS query in wire format in, the response
 * out, with no I/O, so that the UDP and TCP servers share it and tests drive it directly.
 *
 * The hot path reads the query name in place (label offsets in a preallocated array, the
 * address built as a number or from nibbles), asks the DecisionBook on a cache miss, and copies
 * an answer section encoded once per listed address. The cache is dropped whenever the set of
 * decisions changes. Never throws on a packet: anything unreadable gets FORMERR or is dropped
 * when it has no header to answer.
 */
import type { Action, Clock, Decision } from "../../core/index.ts";
import type { DecisionBook } from "../../decisions/index.ts";
import { formatGroups } from "../../net/index.ts";

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

const MAX_LABELS = 128;
/** Our own UDP payload size when the client speaks EDNS (the DNS flag day 2020 value). */
const EDNS_UDP_SIZE = 1232;

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

/** An encoded answer for one listed address: A then TXT records, names pointing at the question. */
interface Listing {
  /** The A records (owner name = pointer to offset 12). */
  readonly a: Buffer;
  readonly aCount: number;
  readonly txt: Buffer;
  readonly txtCount: number;
  /** Earliest expiry of the decisions behind it (ms), or Infinity. */
  readonly expiresAt: number;
}

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
  readonly #nsRecords: Buffer;
  readonly #testListing: Listing;
  #soaRecord: Buffer;
  #serial: number;
  // Hot-path scratch: label offsets and lengths of the query being answered.
  readonly #labelStart = new Int32Array(MAX_LABELS);
  readonly #labelLen = new Int32Array(MAX_LABELS);
  readonly #v4Cache = new Map<number, Listing | null>();
  readonly #v6Cache = new Map<string, Listing | null>();
  readonly #groups = new Uint16Array(8);

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
    this.#serial = Math.floor(clock.now() / 1000) >>> 0;
    this.#soaRecord = this.#encodeSoa();
    this.#nsRecords = Buffer.concat(
      options.nameservers.map((ns) =>
        rr(this.#zoneName, TYPE_NS, options.ttl >= 3600 ? options.ttl : 3600, encodeName(ns)),
      ),
    );
    this.#testListing = this.#encodeListing(
      [{ code: TEST_LISTED, text: "RFC 5782 test entry: always listed" }],
      Infinity,
    );
  }

  /** The decisions changed: answers computed before may be wrong now. */
  invalidate(): void {
    this.#v4Cache.clear();
    this.#v6Cache.clear();
    const serial = Math.floor(this.#clock.now() / 1000) >>> 0;
    this.#serial = serial > this.#serial ? serial : (this.#serial + 1) >>> 0;
    this.#soaRecord = this.#encodeSoa();
  }

  get serial(): number {
    return this.#serial;
  }

  /**
   * The response to one query, or undefined when it must be dropped (too short to carry an id,
   * or itself a response). `tcp` lifts the 512-byte UDP limit and reserves the 2-byte length
   * prefix at the start of the returned buffer.
   */
  answer(q: Buffer, tcp: boolean): Buffer | undefined {
    if (q.length < 12) return undefined;
    if ((q[2]! & 0x80) !== 0) return undefined;
    this.stats.queries++;
    const opcode = (q[2]! >> 3) & 0x0f;
    if (opcode !== 0) return this.#header(q, tcp, RCODE_NOTIMP);
    if (q.readUInt16BE(4) !== 1 || q.readUInt16BE(6) !== 0 || q.readUInt16BE(8) !== 0) {
      this.stats.formErr++;
      return this.#header(q, tcp, RCODE_FORMERR);
    }

    // The question name, read in place.
    let pos = 12;
    let n = 0;
    for (;;) {
      if (pos >= q.length) return this.#formErr(q, tcp);
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
    if (pos + 4 > q.length) return this.#formErr(q, tcp);
    const qtype = q.readUInt16BE(pos);
    const qclass = q.readUInt16BE(pos + 2);
    const qEnd = pos + 4;

    // EDNS: an OPT record first in the additional section sets the client's UDP size.
    let edns = false;
    let limit = tcp ? 65_535 : 512;
    const arCount = q.readUInt16BE(10);
    if (arCount > 0) {
      if (qEnd + 11 > q.length) return this.#formErr(q, tcp);
      if (q[qEnd] === 0 && q.readUInt16BE(qEnd + 1) === TYPE_OPT) {
        edns = true;
        if (q[qEnd + 6] !== 0) return this.#respond(q, qEnd, tcp, 0, edns, 1 /* BADVERS */);
        if (!tcp) {
          const size = q.readUInt16BE(qEnd + 3);
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

    let listing: Listing | null = null;
    if (prefix === 4) {
      const v4 = this.#readV4(q);
      if (v4 >= 0) listing = this.#lookupV4(v4);
    } else if (prefix === 32) {
      listing = this.#lookupV6(q);
    }
    if (listing === null) {
      this.stats.notListed++;
      return this.#respond(q, qEnd, tcp, RCODE_NXDOMAIN, edns, 0, undefined, 0, this.#soaRecord, 1);
    }
    this.stats.listed++;
    const now = this.#clock.now();
    let ttl = this.#options.ttl;
    if (listing.expiresAt !== Infinity) {
      const left = Math.floor((listing.expiresAt - now) / 1000);
      if (left < ttl) ttl = left < 0 ? 0 : left;
    }
    if (qtype === TYPE_A)
      return this.#respond(
        q,
        qEnd,
        tcp,
        0,
        edns,
        0,
        listing.a,
        listing.aCount,
        undefined,
        0,
        ttl,
        limit,
      );
    if (qtype === TYPE_TXT)
      return this.#respond(
        q,
        qEnd,
        tcp,
        0,
        edns,
        0,
        listing.txt,
        listing.txtCount,
        undefined,
        0,
        ttl,
        limit,
      );
    if (qtype === TYPE_ANY)
      return this.#respond(
        q,
        qEnd,
        tcp,
        0,
        edns,
        0,
        Buffer.concat([listing.a, listing.txt]),
        listing.aCount + listing.txtCount,
        undefined,
        0,
        ttl,
        limit,
      );
    // The name exists, not with this type.
    return this.#respond(q, qEnd, tcp, 0, edns, 0, undefined, 0, this.#soaRecord, 1);
  }

  #apex(
    q: Buffer,
    qEnd: number,
    tcp: boolean,
    edns: boolean,
    limit: number,
    qtype: number,
  ): Buffer {
    this.stats.notListed++;
    if (qtype === TYPE_SOA)
      return this.#respond(q, qEnd, tcp, 0, edns, 0, this.#soaRecord, 1, undefined, 0, -1, limit);
    if (qtype === TYPE_NS)
      return this.#respond(
        q,
        qEnd,
        tcp,
        0,
        edns,
        0,
        this.#nsRecords,
        this.#options.nameservers.length,
        undefined,
        0,
        -1,
        limit,
      );
    if (qtype === TYPE_ANY)
      return this.#respond(
        q,
        qEnd,
        tcp,
        0,
        edns,
        0,
        Buffer.concat([this.#soaRecord, this.#nsRecords]),
        1 + this.#options.nameservers.length,
        undefined,
        0,
        -1,
        limit,
      );
    return this.#respond(q, qEnd, tcp, 0, edns, 0, undefined, 0, this.#soaRecord, 1);
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

  #lookupV4(v4: number): Listing | null {
    if (v4 === TEST_LISTED) return this.#testListing;
    if (v4 === TEST_UNLISTED) return null;
    const cached = this.#v4Cache.get(v4);
    if (cached !== undefined) {
      if (cached === null || cached.expiresAt > this.#clock.now()) {
        this.stats.cacheHits++;
        return cached;
      }
    }
    const ip = `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`;
    const listing = this.#listingFor(ip);
    if (this.#options.cacheEntries > 0) {
      if (this.#v4Cache.size >= this.#options.cacheEntries) this.#v4Cache.clear();
      this.#v4Cache.set(v4, listing);
    }
    return listing;
  }

  /** 32 one-nibble labels, least significant first; IPv4-mapped addresses are IPv4. */
  #lookupV6(q: Buffer): Listing | null {
    const g = this.#groups;
    g.fill(0);
    for (let i = 0; i < 32; i++) {
      if (this.#labelLen[i] !== 1) return null;
      const nibble = hexValue(q[this.#labelStart[i]!]!);
      if (nibble < 0) return null;
      // Label i is nibble 31 - i from the top: group (31 - i) >> 2, shift by i & 3 nibbles.
      g[(31 - i) >> 2] = g[(31 - i) >> 2]! | (nibble << ((i & 3) * 4));
    }
    if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff)
      return this.#lookupV4(g[6]! * 65536 + g[7]!);
    const ip = formatGroups(g);
    const cached = this.#v6Cache.get(ip);
    if (cached !== undefined) {
      if (cached === null || cached.expiresAt > this.#clock.now()) {
        this.stats.cacheHits++;
        return cached;
      }
    }
    const listing = this.#listingFor(ip);
    if (this.#options.cacheEntries > 0) {
      if (this.#v6Cache.size >= this.#options.cacheEntries) this.#v6Cache.clear();
      this.#v6Cache.set(ip, listing);
    }
    return listing;
  }

  /** Asks the book; one A record per distinct code, one TXT per code. */
  #listingFor(ip: string): Listing | null {
    const now = this.#clock.now();
    const found = this.#book.match({ ip }, now);
    if (found.length === 0) return null;
    const byCode = new Map<number, Decision>();
    let expiresAt = Infinity;
    for (const d of found) {
      if (d.scope !== "ip" && d.scope !== "range") continue;
      const code = this.#scenarioCodes.get(d.scenario) ?? this.#actionCodes.get(d.action);
      if (code === undefined) continue;
      if (d.expiresAt !== null && d.expiresAt < expiresAt) expiresAt = d.expiresAt;
      if (!byCode.has(code)) byCode.set(code, d);
    }
    if (byCode.size === 0) return null;
    const entries = [...byCode]
      .sort((a, b) => a[0] - b[0])
      .map(([code, d]) => ({ code, text: this.#text(d, ip) }));
    return this.#encodeListing(entries, expiresAt);
  }

  #text(d: Decision, ip: string): string {
    const url = this.#options.lookupUrl?.replaceAll("{ip}", ip) ?? "";
    const template = this.#options.txt ?? (url ? "{reason}; see {url}" : "{reason}");
    return template.replace(/\{(reason|scenario|action|ip|url)\}/g, (_m, key: string) => {
      if (key === "reason") return d.reason;
      if (key === "scenario") return d.scenario;
      if (key === "action") return d.action;
      if (key === "ip") return ip;
      return url;
    });
  }

  #encodeListing(entries: readonly { code: number; text: string }[], expiresAt: number): Listing {
    const ttl = this.#options.ttl;
    const a: Buffer[] = [];
    const txt: Buffer[] = [];
    for (const e of entries) {
      const addr = Buffer.allocUnsafe(4);
      addr.writeUInt32BE(e.code >>> 0);
      a.push(rr(POINTER_TO_QUESTION, TYPE_A, ttl, addr));
      txt.push(rr(POINTER_TO_QUESTION, TYPE_TXT, ttl, txtData(e.text)));
    }
    return Object.freeze({
      a: Buffer.concat(a),
      aCount: a.length,
      txt: Buffer.concat(txt),
      txtCount: txt.length,
      expiresAt,
    });
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

  #formErr(q: Buffer, tcp: boolean): Buffer {
    this.stats.formErr++;
    return this.#header(q, tcp, RCODE_FORMERR);
  }

  #refused(q: Buffer, qEnd: number, tcp: boolean, edns: boolean): Buffer {
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
  #header(q: Buffer, tcp: boolean, rcode: number): Buffer {
    const off = tcp ? 2 : 0;
    const out = Buffer.alloc(off + 12);
    if (tcp) out.writeUInt16BE(12, 0);
    out[off] = q[0]!;
    out[off + 1] = q[1]!;
    out[off + 2] = 0x80 | (q[2]! & 0x79);
    out[off + 3] = rcode;
    return out;
  }

  /**
   * Header, the question copied as sent (so its case, 0x20-randomised by resolvers, is kept),
   * then the given sections. `ttl` ≥ 0 overwrites the TTL of every answer record. When the
   * whole does not fit `limit`, the answer is truncated (TC) so that the client retries on TCP.
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
  ): Buffer {
    const off = tcp ? 2 : 0;
    const qLen = qEnd - 12;
    const optLen = edns ? 11 : 0;
    let anLen = answers?.length ?? 0;
    let nsLen = authority?.length ?? 0;
    let tc = false;
    if (12 + qLen + anLen + nsLen + optLen > limit) {
      tc = true;
      anLen = 0;
      nsLen = 0;
      anCount = 0;
      nsCount = 0;
    }
    const size = off + 12 + qLen + anLen + nsLen + optLen;
    const out = Buffer.allocUnsafe(size);
    if (tcp) out.writeUInt16BE(size - 2, 0);
    out[off] = q[0]!;
    out[off + 1] = q[1]!;
    out[off + 2] = 0x80 | (aa ? 0x04 : 0) | (tc ? 0x02 : 0) | (q[2]! & 0x01);
    out[off + 3] = rcode;
    out.writeUInt16BE(1, off + 4);
    out.writeUInt16BE(anCount, off + 6);
    out.writeUInt16BE(nsCount, off + 8);
    out.writeUInt16BE(edns ? 1 : 0, off + 10);
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
      out.writeUInt16BE(TYPE_OPT, p + 1);
      out.writeUInt16BE(EDNS_UDP_SIZE, p + 3);
      out[p + 5] = extRcode;
      out[p + 6] = 0; // version
      out.writeUInt16BE(0, p + 7); // flags (DO never set: no DNSSEC)
      out.writeUInt16BE(0, p + 9); // no options
    }
    return out;
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
    out.writeUInt32BE(ttl >>> 0, p + 6);
    p += 12 + out.readUInt16BE(p + 10);
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

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function ipv4Number(text: string): number {
  let v = 0;
  for (const o of text.split(".")) v = v * 256 + Number(o);
  return v;
}
