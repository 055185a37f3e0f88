/**
 * The CUDA engine on the GPU machine, next to Hugging Face in the same run (BENCHMARKS.md, "GPU"):
 *
 *   node --import tsx scripts/bench-cuda.ts --checkpoint DIR --pairs therasabdab_paired.csv
 *       [--hf-embeddings ref.npy] [--hf-pll hf_pll.json] [--pll 16] [--dtypes bf16,fp16,fp32] [--out bench-cuda.json]
 *
 * Pairs: every row with both chains (as shared/gpu/hf_baseline.py). For each precision: load -> first embedding,
 * model-card mean embeddings of every pair (pooling and the copy to host included; a warm-up pass, then the median of
 * three), cosine to Hugging Face fp32 (hf_baseline.py --out), GPU time per kind of kernel on one batch; exact PLL
 * (antibodies/s, mean |Δ| per term against Hugging Face fp32 from scripts/bench/hf_pll.py), a 19-substitution scan
 * of one antibody; device memory; for the first precision, the latency of single requests (1 and 16 antibodies per
 * call, p50/p90; scripts/bench/hf_latency.py is Hugging Face's side) and the GPU time of one antibody's batch.
 * `--host-only` times the host side alone (tokenise, plan, pack, split results) with a context that does no GPU work.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { bertFromStore } from '../src/bert/fromStore.js';
import { embedEncoded, IgBert, IgBertModel, openCheckpoint, type AntibodyRecord } from '../src/index.js';
import { storedTensor } from '../src/node/engines.js';
import { loadCudaAddon, type CudaContext, type CudaDType, type NativeBatch, type NativeProgram } from '../src/runtime/cuda/addon.js';
import { CudaEngine } from '../src/runtime/cuda/cudaEngine.js';
import { cosine } from '../test/support/compare.js';

const { values: args } = parseArgs({
  options: {
    checkpoint: { type: 'string' },
    pairs: { type: 'string' },
    'hf-embeddings': { type: 'string' },
    'hf-pll': { type: 'string' },
    pll: { type: 'string', default: '16' },
    dtypes: { type: 'string', default: 'bf16,fp16,fp32' },
    out: { type: 'string', default: 'bench-cuda.json' },
    'host-only': { type: 'boolean', default: false },
    'latency-runs': { type: 'string', default: '200' },
  },
});
if (!args.checkpoint || !args.pairs) throw new Error('--checkpoint DIR and --pairs CSV are required');

const lines = readFileSync(args.pairs, 'utf8').trim().split('\n');
const header = (lines[0] as string).split(',');
const [idCol, heavyCol, lightCol] = ['id', 'heavy', 'light'].map((name) => header.indexOf(name));
const pairs: AntibodyRecord[] = lines
  .slice(1)
  .map((line) => line.split(','))
  .map((cells) => ({ id: cells[idCol as number] ?? '', heavy: cells[heavyCol as number] ?? '', light: cells[lightCol as number] ?? '' }))
  .filter((pair) => pair.heavy && pair.light);
const tokens = pairs.reduce((sum, p) => sum + (p.heavy as string).length + (p.light as string).length + 3, 0);
const results: Record<string, unknown> = { pairs: pairs.length, meanTokens: tokens / pairs.length };
const say = (line: string): void => console.log(line);
say(`${pairs.length} pairs, ${(tokens / pairs.length).toFixed(1)} tokens on average`);

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

function readNpy(path: string): { rows: number; cols: number; data: Float32Array } {
  const bytes = readFileSync(path);
  const headerLength = bytes.readUInt16LE(8);
  const text = bytes.subarray(10, 10 + headerLength).toString('latin1');
  if (!text.includes("'<f4'")) throw new Error(`${path}: expected float32 (<f4), got ${text}`);
  const [rows, cols] = (/'shape': \((\d+), (\d+)\)/.exec(text) ?? []).slice(1).map(Number) as [number, number];
  const start = 10 + headerLength;
  return { rows, cols, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + rows * cols * 4)) };
}


async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { seconds: (performance.now() - start) / 1000, value };
}

/** A context that answers every run with zeros of the right shapes: the host pipeline's own cost. */
class NoGpuContext implements CudaContext {
  private readonly programs: NativeProgram[] = [];
  constructor(private readonly hidden: number, private readonly vocab: number) {}
  uploadWeight(): number {
    return 0;
  }
  compile(program: NativeProgram): number {
    return this.programs.push(program) - 1;
  }
  async run(id: number, batch: NativeBatch): Promise<Record<string, Float32Array>> {
    const rows = { means: (batch.groupOffsets?.length ?? 1) - 1, rows: batch.hiddenRows?.length ?? 0, log_probs: batch.headRows?.length ?? 0, logits: batch.headRows?.length ?? 0, pooler_output: batch.seqLengths.length };
    const width = (name: string): number => (name === 'log_probs' || name === 'logits' ? this.vocab : this.hidden);
    return Object.fromEntries((this.programs[id] as NativeProgram).outputs.map(({ name }) => [name, new Float32Array(rows[name as keyof typeof rows] * width(name))]));
  }
  memory(): ReturnType<CudaContext['memory']> {
    return { weightBytes: 0, poolBytes: 0, peakPoolBytes: 0, deviceFreeBytes: 0, deviceTotalBytes: 0 };
  }
  lastProfile(): Record<string, number> {
    return {};
  }
  dispose(): void {}
}

const opened = await openCheckpoint(args.checkpoint);
const bert = bertFromStore(opened.checkpoint.config, opened.store);

if (args['host-only']) {
  const { config } = opened.checkpoint;
  const engine = await CudaEngine.create(bert, new NoGpuContext(config.hidden_size, config.vocab_size), { runtime: 'no GPU (host side only)', device: 'cuda', precision: 'bf16' }, async () => ({ data: new Float32Array(0), type: 'f32' }));
  const model = new IgBertModel(opened.checkpoint, engine);
  await model.embed(pairs);
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push((await timed(() => model.embed(pairs))).seconds);
  say(`host side alone (tokenise, plan, pack, split, mean results): ${(pairs.length / median(runs)).toFixed(0)} antibodies/s`);
  process.exit(0);
}

const hfEmbeddings = args['hf-embeddings'] ? readNpy(args['hf-embeddings']) : undefined;
const hfPll = args['hf-pll'] ? (JSON.parse(readFileSync(args['hf-pll'], 'utf8')) as { ids: string[]; fp32: number[][]; bf16: number[][] }) : undefined;
const pllPairs = pairs.slice(0, Number(args.pll));
const firstDtype = args.dtypes.split(',')[0];

/** Single requests one after another, as a service sees them: p50/p90 wall time per call of 1 and of 16 antibodies. */
async function latency(model: IgBert): Promise<Record<string, { p50: number; p90: number }>> {
  const runs = Number(args['latency-runs']);
  const out: Record<string, { p50: number; p90: number }> = {};
  for (const size of [1, 16]) {
    const times: number[] = [];
    for (let i = 0; i < 20 + runs; i++) {
      const batch = Array.from({ length: size }, (_, k) => pairs[(i * size + k) % pairs.length] as AntibodyRecord);
      const start = performance.now();
      await model.embed(batch);
      if (i >= 20) times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const p50 = median(times);
    const p90 = times[Math.floor(0.9 * times.length)] as number;
    out[String(size)] = { p50, p90 };
    say(`  latency, ${size} antibod${size === 1 ? 'y' : 'ies'} per call: p50 ${p50.toFixed(2)} ms, p90 ${p90.toFixed(2)} ms (${runs} calls)`);
  }
  return out;
}

for (const dtype of args.dtypes.split(',') as CudaDType[]) {
  const row: Record<string, unknown> = {};
  results[dtype] = row;
  const load = await timed(async () => {
    const model = await IgBert.load(args.checkpoint as string, { device: 'cuda', dtype });
    await model.embed(pairs.slice(0, 1));
    return model;
  });
  const model = load.value;
  row['loadToFirstSeconds'] = load.seconds;
  await model.embed(pairs); // warm-up: programs compiled, memory pool grown, cuBLASLt heuristics cached
  const runs: number[] = [];
  let embeddings: Float32Array[] = [];
  for (let i = 0; i < 3; i++) {
    const run = await timed(() => model.embed(pairs));
    runs.push(run.seconds);
    embeddings = run.value.map((r) => r.embedding);
  }
  row['embedPerSecond'] = pairs.length / median(runs);
  row['embedRuns'] = runs;
  // As hf_baseline.py times it: the inputs tokenised beforehand (its batches are prepared before the clock starts).
  const encoded = model.encode(pairs);
  const pretokenized: number[] = [];
  const batchEnds: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    batchEnds.length = 0;
    await embedEncoded(model, encoded, { onBatch: () => batchEnds.push(performance.now() - start) });
    pretokenized.push((performance.now() - start) / 1000);
  }
  row['embedPretokenizedPerSecond'] = pairs.length / median(pretokenized);
  row['batchEndsMs'] = batchEnds.map((t) => Math.round(t * 10) / 10);
  const memory = model.deviceMemory();
  row['memory'] = memory;
  say(
    `igbert cuda ${dtype}: ${(pairs.length / median(runs)).toFixed(0)} antibodies/s (median of ${runs.map((r) => r.toFixed(3)).join(', ')} s); ` +
      `load -> first embedding ${load.seconds.toFixed(2)} s; GPU memory: weights ${((memory?.weightBytes ?? 0) / 2 ** 30).toFixed(2)} GiB, ` +
      `activations peak ${((memory?.peakActivationBytes ?? 0) / 2 ** 30).toFixed(2)} GiB`,
  );
  say(`  tokenised beforehand (as hf_baseline.py): ${(pairs.length / median(pretokenized)).toFixed(0)} antibodies/s; batches done at ${(row['batchEndsMs'] as number[]).join(', ')} ms`);
  if (hfEmbeddings) {
    const cosines = embeddings.map((e, i) => cosine(e, hfEmbeddings.data.subarray(i * hfEmbeddings.cols, (i + 1) * hfEmbeddings.cols)));
    let worst = 0;
    let scale = 0;
    embeddings.forEach((e, i) =>
      e.forEach((v, j) => {
        const ref = hfEmbeddings.data[i * hfEmbeddings.cols + j] as number;
        worst = Math.max(worst, Math.abs(v - ref));
        scale = Math.max(scale, Math.abs(ref));
      }),
    );
    row['cosineToHfFp32'] = { min: Math.min(...cosines), mean: cosines.reduce((a, b) => a + b, 0) / cosines.length };
    row['maxRelativeToHfFp32'] = worst / scale;
    say(`  vs HF fp32: min cosine ${Math.min(...cosines).toFixed(6)}, max |Δ| / max |ref| ${(worst / scale).toExponential(2)}`);
  }

  const pll = await timed(() => model.score(pllPairs, { perResidue: true }));
  row['pllPerSecond'] = pllPairs.length / pll.seconds;
  let pllLine = `  exact PLL: ${(pllPairs.length / pll.seconds).toFixed(2)} antibodies/s (${pllPairs.length} antibodies, ${pll.seconds.toFixed(2)} s)`;
  if (hfPll) {
    const diffs = pll.value.flatMap((r, i) => [...(r.perResidue as Float32Array)].map((v, k) => Math.abs(v - (hfPll.fp32[i]?.[k] as number))));
    row['pllMeanAbsToHfFp32'] = diffs.reduce((a, b) => a + b, 0) / diffs.length;
    pllLine += `; mean |Δ| per term vs HF fp32 ${(row['pllMeanAbsToHfFp32'] as number).toFixed(4)} nats over ${diffs.length} terms`;
  }
  say(pllLine);
  const scan = await timed(() => model.scan(pairs.slice(0, 1)));
  row['scanSeconds'] = scan.seconds;
  say(`  full 19-substitution scan of ${pairs[0]?.id} (${(pairs[0]?.heavy as string).length + (pairs[0]?.light as string).length} positions): ${scan.seconds.toFixed(3)} s`);
  if (dtype === firstDtype) row['latencyMs'] = await latency(model);
  await model.dispose();

  // Where the GPU time goes: the same embedding work on a profiling context (CUDA events around each op kind).
  const context = new (loadCudaAddon().Context)({ device: 0, dtype, profile: true });
  const profiled = await CudaEngine.create(bert, context, { runtime: 'profile', device: 'cuda', precision: dtype }, (param) => storedTensor(opened, param));
  const profiledModel = new IgBertModel(opened.checkpoint, profiled);
  await profiledModel.embed(pairs);
  const profile = profiled.profile();
  row['profileLastBatchMs'] = profile;
  say(`  GPU time by kind, last batch (ms): ${Object.entries(profile).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
  if (dtype === firstDtype) {
    await profiledModel.embed(pairs.slice(0, 1));
    const single = profiled.profile();
    row['profileOneAntibodyMs'] = single;
    say(`  GPU time of one antibody's batch (ms): ${Object.values(single).reduce((a, b) => a + b, 0).toFixed(2)} (${Object.entries(single).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')})`);
  }
  await profiledModel.dispose();
}
if (hfPll) {
  const diffs = hfPll.bf16.flatMap((terms, i) => terms.map((v, k) => Math.abs(v - (hfPll.fp32[i]?.[k] as number))));
  results['hfBf16PllMeanAbsToHfFp32'] = diffs.reduce((a, b) => a + b, 0) / diffs.length;
}
writeFileSync(args.out, JSON.stringify(results, null, 2));
say(`wrote ${args.out}`);
