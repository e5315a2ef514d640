/**
 * Solves a challenge the way the widget does (altcha-lib's solver, one thread) and encodes the
 * payload as the widget submits it. For tests, benchmarks and the demo's scripted client.
 */
import { solveChallenge } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/pbkdf2";
import type { Challenge, Solution } from "altcha-lib/types";
import type { PowChallenge } from "../ports.ts";

export interface SolvedPayload {
  /** Base64 JSON, as the widget puts it in the form's `altcha` field. */
  readonly payload: string;
  readonly solution: Solution;
}

export async function solveAltcha(
  challenge: PowChallenge,
  timeoutMs = 60_000,
): Promise<SolvedPayload | undefined> {
  const c = challenge as unknown as Challenge;
  const solution = await solveChallenge({ challenge: c, deriveKey, timeout: timeoutMs });
  if (solution === null) return undefined;
  return { payload: encodeAltchaPayload(challenge, solution), solution };
}

export function encodeAltchaPayload(challenge: PowChallenge, solution: Solution): string {
  const c = challenge as unknown as Challenge;
  const json = JSON.stringify({
    challenge: { parameters: c.parameters, signature: c.signature },
    solution,
  });
  return Buffer.from(json, "utf8").toString("base64");
}
