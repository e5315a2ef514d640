/** What the DNSBL's main thread and its UDP worker threads share. */

/** The worker's `workerData`: where to bind. */
export interface WorkerInit {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/**
 * dgram's `lookup` for sockets that only answer: an answer goes back to the address its query
 * came from, always a literal, so the default look-up's test and its deferral to the next tick
 * (a measurable share of each answer) are skipped.
 */
export function literalAddress(
  address: string,
  _options: unknown,
  callback: (err: null, address: string, family: number) => void,
): void {
  callback(null, address, address.includes(":") ? 6 : 4);
}
