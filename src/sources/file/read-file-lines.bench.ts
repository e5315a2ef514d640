// Measures readFileLines on a file given as argument: node src/sources/file/read-file-lines.bench.ts FILE
import { readFileLines } from "./read-file-lines.ts";

const path = process.argv[2];
if (path === undefined) throw new Error("usage: read-file-lines.bench.ts FILE");
for (let run = 0; run < 3; run++) {
  let chars = 0;
  const started = performance.now();
  const result = await readFileLines(path, (batch) => {
    for (const line of batch.lines) chars += line.length;
  });
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${result.lines} lines, ${(result.bytes / 2 ** 20).toFixed(0)} MiB in ${seconds.toFixed(3)} s: ` +
      `${(result.lines / seconds / 1e6).toFixed(2)} M lines/s, ` +
      `${(result.bytes / 2 ** 20 / seconds).toFixed(0)} MiB/s (${chars} chars)`,
  );
}
