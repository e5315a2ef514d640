import { randomUUID } from "node:crypto";
import type { Decision } from "../src/core/index.ts";

/**
 * The i-th bench decision's subject, shared by bench/check-server.ts and bench/check-daemon.ts
 * (which load them) and bench/check-paths.ts (which asks for them): 96 % IPv4 addresses, 3 % IPv6
 * addresses, 1 % ranges (IPv4 /24 outside special-use space, IPv6 /48 in 2001:db8::/32). Never
 * 203.0.113.0/24, which the look-ups use for misses.
 */
export function subject(i: number): { scope: "ip" | "range"; value: string } {
  if (i % 100 === 99) {
    const j = Math.floor(i / 100);
    return j % 2 === 0
      ? { scope: "range", value: `100.${128 + ((j >> 8) & 63)}.${j & 255}.0/24` }
      : { scope: "range", value: `2001:db8:${(j & 0xffff).toString(16)}::/48` };
  }
  if (i % 100 >= 96)
    return {
      scope: "ip",
      value: `2001:db8:ffff:${(i >> 16).toString(16)}::${(i & 0xffff).toString(16)}`,
    };
  return {
    scope: "ip",
    value: `${11 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`,
  };
}

/**
 * The i-th bench decision, made at `now` for 4 hours: one in ten a `challenge`, the rest `ban`,
 * with a random UUID id as the daemon gives (the book keeps a UUID as four words).
 */
export function benchDecision(i: number, now: number): Decision {
  const s = subject(i);
  return Object.freeze({
    id: randomUUID(),
    action: i % 10 === 0 ? "challenge" : "ban",
    scope: s.scope,
    value: s.value,
    createdAt: now,
    expiresAt: now + 4 * 3_600_000,
    origin: "import",
    scenario: "bench",
    reason: "bench",
    offence: 0,
    tzOffset: 0,
  });
}
