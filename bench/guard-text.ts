// Not a test: the CPU cost of fingerprinting one 3-field submission (first name, last name,
// comment) as the guard does on each assessment, normalisation and hashing included.
//   node bench/guard-text.ts [ITERATIONS]
import {
  compileFingerprints,
  fingerprintFields,
  FingerprintsSchema,
} from "../src/guard/text/index.ts";

const iterations = Number(process.argv[2] ?? "300000");
const identities = compileFingerprints(
  FingerprintsSchema.parse({
    name: { fields: ["first_name", "last_name"], kind: "name" },
    comment: { fields: ["comment"], kind: "text" },
  }),
);
const KEY = "bench-secret-key-0123456789";

// Half plain ASCII (most real signers), half with accents, lookalikes and invisible characters.
const SUBMISSIONS: readonly Record<string, string>[] = [
  { first_name: "Marie", last_name: "Dupont", comment: "Je soutiens cette pétition." },
  { first_name: "Jeff", last_name: "Bezos", comment: "deso pas deso" },
  { first_name: "Jean-Pierre", last_name: "Martin", comment: "" },
  { first_name: "Bill", last_name: "Gates", comment: "Bravo pour votre action, continuez !" },
  { first_name: "Léa", last_name: "Müller", comment: "déso pas déso" },
  { first_name: "Ј\u200dеff", last_name: "Веzоs", comment: "d3so pas d3so" },
  { first_name: "Ｂｉｌｌ", last_name: "Gätes", comment: "Merci à tous les bénévoles 🙏" },
  { first_name: "François", last_name: "Lefèvre", comment: "Signé, et partagé autour de moi." },
];

function run(n: number): number {
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const out = fingerprintFields(SUBMISSIONS[i % SUBMISSIONS.length]!, identities, KEY);
    sink += out.length;
  }
  return sink;
}

run(Math.min(iterations, 50_000)); // warm up the JIT
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const sink = run(iterations);
const wall = Number(process.hrtime.bigint() - t0);
const cpu = process.cpuUsage(cpu0);
const cpuNs = (cpu.user + cpu.system) * 1000;
process.stdout.write(
  `${iterations} submissions (${sink} fingerprints): ` +
    `${Math.round(wall / iterations)} ns/op wall, ${Math.round(cpuNs / iterations)} ns/op CPU\n`,
);
