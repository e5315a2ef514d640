// Not a test: the look-up paths bench/check.sh sends, one a line: half for subjects that have a
// decision, half for addresses that have none, shuffled with a fixed seed.
//   node bench/check-paths.ts rempart|crowdsec N-DECISIONS ROUTE > paths.txt
// ROUTE: `check` (/v1/check?ip=) or `decisions` (/v1/decisions?ip=).
import { subject } from "./check-subjects.ts";

const [peer = "rempart", nText = "1000000", route = "decisions"] = process.argv.slice(2);
const n = Number(nText);
const COUNT = 20_000;
let seed = 42;
const rand = (): number => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};
const base = route === "check" ? "/v1/check?ip=" : "/v1/decisions?ip=";
const out: string[] = [];
for (let k = 0; k < COUNT; k++) {
  const i = Math.floor(rand() * n);
  let ip: string;
  if (k % 2 === 1) ip = `203.0.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`;
  else if (peer === "crowdsec") ip = `198.18.${(i >> 8) & 255}.${i & 255}`;
  else {
    const s = subject(i);
    // an address inside a range decision: the range must be found
    ip =
      s.scope === "ip"
        ? s.value
        : s.value.includes(":")
          ? s.value.replace("::/48", "::7")
          : s.value.replace(".0/24", ".9");
  }
  out.push(base + encodeURIComponent(ip));
}
process.stdout.write(`${out.join("\n")}\n`);
