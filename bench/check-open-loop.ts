/**
 * Not a test: look-ups over HTTP at a fixed rate, for the latency target (issue #3: p99 at most
 * 2 ms). wrk measures the capacity, but at saturation its p99 is mostly its own queue; this
 * sends the same paths as bench/check.sh's wrk runs, open loop (bench/open-loop.ts), and prints
 * one line in check.sh's format: `LABEL|req/s|p50|p99|non-2xx|max|client stall`.
 *
 *   node bench/check-open-loop.ts --url URL --key KEY --paths FILE --rate 10000 \
 *        [--seconds 10] [--connections 16] [--label rempart-check]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { onHttpResponses } from "./http-responses.ts";
import { openLoop } from "./open-loop.ts";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    key: { type: "string", default: "" },
    paths: { type: "string" },
    rate: { type: "string", default: "10000" },
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "16" },
    label: { type: "string", default: "open-loop" },
  },
});
if (values.url === undefined || values.paths === undefined) {
  process.stderr.write("usage: node bench/check-open-loop.ts --url URL --paths FILE [--key KEY]\n");
  process.exit(2);
}
const url = new URL(values.url);
const paths = readFileSync(values.paths, "utf8")
  .split("\n")
  .filter((p) => p !== "");

// Every request, packed in one buffer: the client's collector must not pause it mid-run.
const requests = paths.map((p) =>
  Buffer.from(
    `GET ${p} HTTP/1.1\r\nHost: ${url.host}\r\nX-Api-Key: ${values.key}\r\nConnection: keep-alive\r\n\r\n`,
  ),
);
const packed = Buffer.concat(requests);
const offsets = new Int32Array(requests.length + 1);
for (let i = 0; i < requests.length; i++) offsets[i + 1] = offsets[i]! + requests[i]!.length;
requests.length = 0;

const run = await openLoop({
  port: Number(url.port),
  connections: Number(values.connections),
  rate: Number(values.rate),
  seconds: Number(values.seconds),
  request: (seq) => {
    const k = seq % (offsets.length - 1);
    return packed.subarray(offsets[k], offsets[k + 1]);
  },
  frame: (socket, onAnswer) => onHttpResponses(socket, (head) => onAnswer(head.slice(9, 12))),
});
const bad = Object.entries(run.answers)
  .filter(([status]) => !status.startsWith("2"))
  .reduce((n, [, count]) => n + count, 0);
const ms = (x: number): string => `${x.toFixed(2)}ms`;
process.stdout.write(
  `${values.label}|${Math.round(run.requests / run.seconds)}|${ms(run.p50)}|${ms(run.p99)}|${bad}|${ms(run.max)}|${ms(run.clientStallMs ?? 0)}\n`,
);
