/**
 * Times the expensive likelihood tasks on one paired antibody (trastuzumab, 120 + 107 residues = 230 tokens) with an
 * IgBert-size random checkpoint: one unmasked pass, an exact pseudo-log-likelihood (one masked pass per residue) and a
 * full deep mutational scan (one masked pass per position). Random weights cost exactly what IgBert's do.
 *
 *   node bin/igbert.js init --random --preset igbert --output /tmp/igbert-random --seed 0   # 1.7 GB, once
 *   node --import tsx scripts/bench-tasks.ts [--model /tmp/igbert-random] [--positions N] [--threads T]
 *
 * --positions N times N masked passes (a scan of the first N heavy positions, the same passes an exact PLL makes) and
 * extrapolates to all residues, for machines where the full runs take too long.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { describeEngine, IgBert } from '../src/index.js';

const HEAVY = 'EVQLVESGGGLVQPGGSLRLSCAASGFNIKDTYIHWVRQAPGKGLEWVARIYPTNGYTRYADSVKGRFTISADTSKNTAYLQMNSLRAEDTAVYYCSRWGGDGFYAMDYWGQGTLVTVSS';
const LIGHT = 'DIQMTQSPSSLSASVGDRVTITCRASQDVNTAVAWYQQKPGKAPKLLIYSASFLYSGVPSRFSGSRSGTDFTLTISSLQPEDFATYYCQQHYTTPPTFGQGTKVEIK';
const antibody = { id: 'trastuzumab', heavy: HEAVY, light: LIGHT };
const residues = HEAVY.length + LIGHT.length;

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: '/tmp/igbert-random' },
    positions: { type: 'string' },
    threads: { type: 'string' },
  },
});

/**
 * Wall time, and the CPU time of this process: on a shared machine other processes stretch the wall time, while
 * CPU seconds / cores is what the same work takes on an idle machine. The 1-minute load average says how busy it was.
 */
async function timed<T>(label: string, run: () => Promise<T>): Promise<{ seconds: number; cpuSeconds: number; result: T }> {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const result = await run();
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  process.stderr.write(`${label}: ${seconds.toFixed(1)} s wall, ${cpuSeconds.toFixed(1)} s CPU, load ${loadavg()[0]?.toFixed(1)}\n`);
  return { seconds, cpuSeconds, result };
}
const cpu = (t: { cpuSeconds: number }): string => `${t.cpuSeconds.toFixed(0)} CPU-s`;

const model = await IgBert.load(values.model, values.threads ? { threads: Number(values.threads) } : {});
const { config } = model;
console.log(
  `model: ${values.model} (${config.num_hidden_layers} layers, hidden ${config.hidden_size}); engine: ${describeEngine(model.engineInfo)}; ` +
    `CPU: ${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}; threads: ${values.threads ?? 'all'}; Node ${process.version}`,
);
console.log(`antibody: ${residues} residues, ${residues + 3} tokens; batching: default (8192-token budget)`);

// Session creation (graph build, weights mapped) is paid once per process; keep it out of the task timings.
const load = await timed('session start + first pass', () => model.score([antibody], { method: 'wt-marginal' }));
const single = await timed('one unmasked pass (wt-marginal score)', () => model.score([antibody], { method: 'wt-marginal' }));
console.log(
  `session start + first pass: ${load.seconds.toFixed(1)} s; one unmasked pass: ${single.seconds.toFixed(2)} s, ${single.cpuSeconds.toFixed(1)} CPU-s`,
);

if (values.positions === undefined) {
  const pll = await timed(`exact PLL (${residues} masked passes)`, () => model.score([antibody]));
  const scan = await timed(`full scan (${residues} masked passes)`, () => model.scan([antibody]));
  console.log(
    `exact PLL: ${pll.seconds.toFixed(1)} s, ${cpu(pll)} (${((pll.seconds / residues) * 1000).toFixed(0)} ms per residue), log-likelihood = ${pll.result[0]?.logLikelihood.toFixed(2)}`,
  );
  console.log(`full scan: ${scan.seconds.toFixed(1)} s, ${cpu(scan)} (${residues} positions x 19 substitutions)`);
} else {
  const n = Number(values.positions);
  const part = await timed(`${n} masked passes (scan of H:1-${n})`, () => model.scan([antibody], { regions: `H:1-${n}` }));
  const perPass = part.seconds / n;
  console.log(
    `${n} masked passes: ${part.seconds.toFixed(1)} s, ${cpu(part)} (${(perPass * 1000).toFixed(0)} ms per pass); ` +
      `extrapolated to ${residues} passes: exact PLL ~ full scan ~ ${(perPass * residues).toFixed(0)} s, ` +
      `${((part.cpuSeconds / n) * residues).toFixed(0)} CPU-s`,
  );
}
await model.dispose();
