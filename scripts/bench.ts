/**
 * `npm run bench`: igbert vs Hugging Face transformers on the same CPU cores, same antibodies, same batches, one run.
 *
 *   npm run bench -- [--n 32] [--threads 2] [--dtypes fp32,int8,fp16] [--checkpoint DIR] [--python PATH] [--out FILE]
 *
 * Each engine runs in its own process (clean peak RSS): load, one warm-up record, then every record.
 * The IgBert-size random checkpoint is created with `igbert init --random --preset igbert` when absent.
 * Real pairs come from ../shared/data/therasabdab_paired.csv when present, else generated antibody-like pairs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IgBert } from '../src/index.js';
import { planBatches } from '../src/batches/planBatches.js';
import { SeededRandom } from '../src/init/random.js';
import { cosine } from '../test/support/compare.js';

const ROOT = join(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '32' },
    threads: { type: 'string', default: '2' },
    dtypes: { type: 'string', default: 'fp32,int8,fp16' },
    checkpoint: { type: 'string', default: join(homedir(), '.cache', 'igbert', 'bench', 'igbert-random') },
    python: { type: 'string', default: process.env['IGBERT_BENCH_PYTHON'] ?? '/tmp/ref/bin/python' },
    out: { type: 'string', default: 'bench-results.json' },
    'pll-positions': { type: 'string', default: '24' },
    worker: { type: 'string' },
  },
});
const threads = Number(args.threads);

interface Pair {
  id: string;
  heavy: string;
  light: string;
}

function loadPairs(n: number): { pairs: Pair[]; source: string } {
  const path = join(ROOT, '..', 'shared', 'data', 'therasabdab_paired.csv');
  if (existsSync(path)) {
    const rows = readFileSync(path, 'utf8').trim().split('\n').slice(1);
    // Every k-th row, so the sample spans the file rather than its first antibodies.
    const step = Math.max(1, Math.floor(rows.length / n));
    const pairs = rows.filter((_, i) => i % step === 0).slice(0, n).map((line) => {
      const [id, heavy, light] = line.split(',');
      return { id: id as string, heavy: heavy as string, light: light as string };
    });
    return { pairs, source: `${pairs.length} Thera-SAbDab pairs (every ${step}th row of therasabdab_paired.csv)` };
  }
  const random = new SeededRandom(1);
  const aa = 'ACDEFGHIKLMNPQRSTVWY';
  const chain = (length: number): string => Array.from({ length }, () => aa[random.nextUint32() % 20]).join('');
  const pairs = Array.from({ length: n }, (_, i) => ({ id: `gen-${i}`, heavy: chain(120), light: chain(108) }));
  return { pairs, source: `${n} generated pairs (120 + 108 residues; ../shared/data absent)` };
}

async function worker(dtype: 'fp32' | 'fp16' | 'int8', job: { pairs: Pair[] }): Promise<void> {
  const start = performance.now();
  const model = await IgBert.load(args.checkpoint, { threads, dtype });
  await model.embed(job.pairs.slice(0, 1));
  const loadToFirst = (performance.now() - start) / 1000;
  const t0 = performance.now();
  const results = await model.embed(job.pairs);
  const seconds = (performance.now() - t0) / 1000;
  // Exact PLL terms at evenly spaced residues of the first two pairs: each a copy with that residue alone masked.
  const masked: { id: string; heavy: string; light: string }[] = [];
  const truth: string[] = [];
  for (const pair of job.pairs.slice(0, 2)) {
    const residues = pair.heavy + pair.light;
    const count = Number(args['pll-positions']);
    for (let k = 0; k < count; k++) {
      const i = Math.floor(((k + 0.5) * residues.length) / count);
      const chars = residues.split('');
      truth.push(chars[i] as string);
      chars[i] = '*';
      masked.push({ id: `${pair.id}@${i}`, heavy: chars.slice(0, pair.heavy.length).join(''), light: chars.slice(pair.heavy.length).join('') });
    }
  }
  const logProbs = await model.maskedLogits(masked, { logProbs: true });
  const pllTerms = logProbs.map((r, k) => {
    const encoded = model.encode([masked[k] as Pair])[0]!;
    const token = encoded.maskedTokenPositions[0] as number;
    const id = model.tokenizer.vocabulary.id(truth[k] as string) as number;
    return r.values[token * r.vocabSize + id] as number;
  });
  process.stdout.write(
    JSON.stringify({
      seconds,
      loadToFirst,
      seq_per_s: job.pairs.length / seconds,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      embeddings: results.map((r) => Array.from(r.embedding)),
      pllTerms,
    }),
  );
}


function maxRelDiff(a: number[][], b: number[][]): number {
  let diff = 0;
  let ref = 0;
  a.forEach((row, i) => row.forEach((v, j) => {
    diff = Math.max(diff, Math.abs(v - (b[i]?.[j] as number)));
    ref = Math.max(ref, Math.abs(b[i]?.[j] as number));
  }));
  return diff / ref;
}

function flopsPerSequence(tokens: number): number {
  // BERT-large shape: per token per layer 2*(4H^2 + 2HI) GEMM FLOPs + 4*S*H attention FLOPs.
  const H = 1024;
  const I = 4096;
  const layers = 30;
  return layers * tokens * (2 * (4 * H * H + 2 * H * I) + 4 * tokens * H);
}

async function main(): Promise<void> {
  const { pairs, source } = loadPairs(Number(args.n));
  if (args.worker) {
    await worker(args.worker as 'fp32', { pairs });
    return;
  }
  if (!existsSync(join(args.checkpoint, 'model.safetensors'))) {
    console.error(`creating the IgBert-size random checkpoint in ${args.checkpoint} ...`);
    const init = spawnSync(process.execPath, [join(ROOT, 'bin', 'igbert.js'), 'init', '--random', '--preset', 'igbert', '--output', args.checkpoint], { stdio: 'inherit' });
    if (init.status !== 0) throw new Error('igbert init failed');
  }
  const tokens = pairs.map((p) => p.heavy.length + p.light.length + 3);
  const meanTokens = tokens.reduce((a, b) => a + b, 0) / tokens.length;
  const flops = tokens.reduce((a, t) => a + flopsPerSequence(t), 0);
  console.error(`${source}; mean ${meanTokens.toFixed(1)} tokens; ${threads} threads; ${cpus()[0]?.model}`);

  const rows: Record<string, any> = {};
  for (const dtype of args.dtypes.split(',')) {
    console.error(`igbert ${dtype} ...`);
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'bench.ts'), ...process.argv.slice(2), '--worker', dtype], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (run.status !== 0) throw new Error(`igbert ${dtype} worker failed`);
    rows[`igbert ${dtype}`] = JSON.parse(run.stdout);
  }
  let hfNote = 'not run (no Python with torch + transformers; set --python)';
  if (existsSync(args.python)) {
    console.error('Hugging Face transformers fp32 ...');
    const batches = planBatches(tokens);
    const job = JSON.stringify({ checkpoint: args.checkpoint, threads, records: pairs, batches });
    const run = spawnSync('/usr/bin/time', ['-f', '%M', args.python, join(ROOT, 'scripts', 'bench', 'hf_embed.py')], {
      input: job,
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    if (run.status === 0) {
      const hf = JSON.parse(run.stdout);
      hf.peakRssMB = Number(run.stderr.trim().split('\n').pop()) / 1024;
      hf.loadToFirst = hf.load_seconds;
      rows['HF transformers fp32'] = hf;
      hfNote = `torch ${hf.torch}`;
    } else {
      hfNote = `failed: ${run.stderr.slice(-400)}`;
    }
  }
  const fp32 = rows['igbert fp32']?.embeddings as number[][] | undefined;
  const hf = rows['HF transformers fp32'];
  const fp32Pll = rows['igbert fp32']?.pllTerms as number[] | undefined;
  const table = ['| engine | seq/s | tokens/s | GFLOP/s | vs HF | min cosine vs igbert fp32 | mean abs diff per PLL term vs fp32 (nats) | max rel diff vs HF | peak RSS MB | load→first s |', '|---|---|---|---|---|---|---|---|---|---|'];
  for (const [name, r] of Object.entries(rows)) {
    const cos = fp32 ? Math.min(...(r.embeddings as number[][]).map((e, i) => cosine(e, fp32[i] as number[]))) : NaN;
    const rel = hf ? maxRelDiff(r.embeddings, hf.embeddings) : NaN;
    const pll = r.pllTerms && fp32Pll ? (r.pllTerms as number[]).reduce((a: number, v: number, i: number) => a + Math.abs(v - (fp32Pll[i] as number)), 0) / fp32Pll.length : NaN;
    table.push(
      `| ${name} | ${r.seq_per_s.toFixed(3)} | ${((r.seq_per_s * meanTokens) | 0)} | ${((flops / r.seconds) / 1e9).toFixed(1)} | ${hf ? (r.seq_per_s / hf.seq_per_s).toFixed(2) + 'x' : 'n/a'} | ${cos.toFixed(6)} | ${Number.isNaN(pll) ? 'n/a' : pll.toFixed(4)} | ${rel.toExponential(2)} | ${r.peakRssMB.toFixed(0)} | ${r.loadToFirst.toFixed(2)} |`,
    );
  }
  const summary = { date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: cpus().length, threads, source, meanTokens, hf: hfNote, table };
  console.log(table.join('\n'));
  console.log(`\n${source}; mean ${meanTokens.toFixed(1)} tokens/sequence; ${threads} threads on ${cpus()[0]?.model}; HF: ${hfNote}`);
  writeFileSync(args.out, JSON.stringify(summary, null, 2) + '\n');
}

await main();
