/**
 * The native CUDA engine on a real GPU (npm run test:cuda on the GPU machine; `npm test` runs it too). Parity of
 * every output and task in fp32 runs in parity/score/mutate/fill.test.ts (test/support/engines.ts adds the CUDA
 * engine there when a GPU is visible); here: the native kernel checks, bf16/fp16 against fp32, long sequences,
 * batch invariance. Without a GPU (CI) everything here is skipped with the reason.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeRandomCheckpoint } from '../src/cli/commands/init.js';
import { TINY_CONFIG } from '../src/config.js';
import { SeededRandom } from '../src/init/random.js';
import { bertFromStore } from '../src/bert/fromStore.js';
import { RuntimeFailure } from '../src/errors.js';
import { IgBert, IgBertModel, openCheckpoint, type AntibodyRecord } from '../src/index.js';
import { storedTensor } from '../src/node/engines.js';
import { CudaEngine } from '../src/runtime/cuda/cudaEngine.js';
import type { Engine } from '../src/runtime/engine.js';
import { MultiEngine } from '../src/runtime/multiEngine.js';
import { addonPath, loadCudaAddon } from '../src/runtime/cuda/addon.js';
import { CHECKPOINTS } from './helpers.js';
import { CUDA_UNAVAILABLE } from './support/engines.js';
import { cosine } from './support/compare.js';

const skip = CUDA_UNAVAILABLE ? `no CUDA engine on this machine (${CUDA_UNAVAILABLE})` : false;


function maxRelative(actual: Float32Array, expected: Float32Array): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
    scale = Math.max(scale, Math.abs(expected[i] as number));
  }
  return worst / scale;
}

const randomChain = (random: SeededRandom, length: number): string =>
  Array.from({ length }, () => 'ACDEFGHIKLMNPQRSTVWY'[Math.floor(random.uniform() * 20)]).join('');

describe('CUDA engine', { skip }, () => {
  test('native kernel checks against a float64 CPU reference (native/cuda/build/kernels_test)', (t) => {
    const binary = join(dirname(addonPath()), 'kernels_test');
    if (!existsSync(binary)) return t.skip('kernels_test is not built: npm run build:cuda -- --tests');
    const run = spawnSync(binary, [], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  });

  test('engine facts: device cuda, the precision asked for, the GPU by name', async () => {
    const model = await IgBert.load(join(CHECKPOINTS, 'mlm-h64'), { device: 'cuda' });
    assert.equal(model.engineInfo.device, 'cuda');
    assert.equal(model.engineInfo.precision, 'bf16', 'bf16 is the default on cuda');
    assert.equal(model.engineInfo.layout, 'packed');
    assert.match(model.engineInfo.deviceName ?? '', /GPU 0/);
    await model.dispose();
  });

  for (const dtype of ['bf16', 'fp16'] as const) {
    test(`${dtype}: embeddings and log-probabilities close to fp32 on every reference checkpoint`, async () => {
      for (const name of ['mlm-h64', 'mlm-legacy']) {
        const fp32 = await IgBert.load(join(CHECKPOINTS, name), { device: 'cuda', dtype: 'fp32' });
        const half = await IgBert.load(join(CHECKPOINTS, name), { device: 'cuda', dtype });
        const records = [
          { id: 'a', heavy: 'EVQLVESGGGLVQPGGSLRLSCAASGFNIKDTYIHWVRQ', light: 'DIQMTQSPSSLSASVGDRVTITCRASQDVNTAVAWYQQ' },
          { id: 'b', heavy: 'QVQLQQSGAELARPGASVKMSCKAS', light: '' },
        ];
        const [e32, e16] = [await fp32.embed(records), await half.embed(records)];
        e32.forEach((e, i) => assert.ok(cosine(e.embedding, e16[i]!.embedding) >= 0.999, `${name} ${dtype} ${e.id}`));
        const [s32, s16] = [await fp32.score(records, { perResidue: true }), await half.score(records, { perResidue: true })];
        s32.forEach((s, i) => {
          const terms = s.perResidue!;
          const other = s16[i]!.perResidue!;
          const meanAbs = terms.reduce((sum, v, k) => sum + Math.abs(v - (other[k] as number)), 0) / terms.length;
          assert.ok(meanAbs <= 0.05, `${name} ${dtype} ${s.id}: mean |Δ| per PLL term ${meanAbs}`);
        });
        await fp32.dispose();
        await half.dispose();
      }
    });
  }

  describe('a 2,100-token antibody', () => {
    let dir: string;
    let records: AntibodyRecord[];
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'igbert-long-'));
      await writeRandomCheckpoint(dir, { ...TINY_CONFIG, max_position_embeddings: 4096 }, 7);
      const random = new SeededRandom(3);
      records = [
        { id: 'long', heavy: randomChain(random, 1100), light: randomChain(random, 998) },
        { id: 'short-1', heavy: randomChain(random, 120), light: randomChain(random, 107) },
        { id: 'short-2', heavy: randomChain(random, 5), light: '' },
      ];
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    test('fp32 equals ONNX Runtime; alone equals inside a packed batch; bf16 stays close', async () => {
      const cpu = await IgBert.load(dir, { device: 'cpu' });
      const gpu = await IgBert.load(dir, { device: 'cuda', dtype: 'fp32' });
      const bf16 = await IgBert.load(dir, { device: 'cuda' });
      const [reference, batched, alone, half] = [
        await cpu.embed(records, { residues: true }),
        await gpu.embed(records, { residues: true }),
        await gpu.embed(records.slice(0, 1), { residues: true }),
        await bf16.embed(records),
      ];
      reference.forEach((ref, i) => {
        assert.ok(maxRelative(batched[i]!.embedding, ref.embedding) <= 1e-5, `${ref.id} mean`);
        const rows = (e: typeof ref): Float32Array => Float32Array.from(e.residueEmbeddings!.flatMap((r) => [...r]));
        assert.ok(maxRelative(rows(batched[i]!), rows(ref)) <= 1e-5, `${ref.id} residues`);
        assert.ok(cosine(half[i]!.embedding, ref.embedding) >= 0.999, `${ref.id} bf16`);
      });
      assert.ok(maxRelative(alone[0]!.embedding, batched[0]!.embedding) <= 1e-6, 'alone vs batch');
      for (const model of [cpu, gpu, bf16]) await model.dispose();
    });
  });
});

describe('every GPU of a node (engines of one kind as one)', { skip }, () => {
  const records = Array.from({ length: 60 }, (_, i) => ({
    id: `ab${i}`,
    heavy: 'EVQLVESGGGLVQPGGSLRLSCAASGFNIKDTYIHWVRQ'.slice(0, 10 + (i % 29)),
    light: 'DIQMTQSPSSLSASVGDRVTITCRASQDVNTAVAWYQQ'.slice(0, 5 + ((i * 7) % 31)),
  }));
  const dir = join(CHECKPOINTS, 'mlm-h64');

  test('two engines on one GPU (--gpus 0,0) give the same bits as one, in input order', async () => {
    const one = await IgBert.load(dir, { device: 'cuda', gpus: [0], batching: { maxBatchTokens: 256 } });
    const two = await IgBert.load(dir, { device: 'cuda', gpus: [0, 0], batching: { maxBatchTokens: 256 } });
    assert.match(two.engineInfo.deviceName ?? '', /^2 GPUs: /);
    const [a, b] = [await one.embed(records), await two.embed(records)];
    b.forEach((e, i) => {
      assert.equal(e.id, records[i]?.id);
      assert.deepEqual([...e.embedding], [...a[i]!.embedding], e.id);
    });
    await one.dispose();
    await two.dispose();
  });

  test('a GPU that fails mid-job is taken out: no row is lost, the results are unchanged, the failure is reported', async () => {
    const opened = await openCheckpoint(dir);
    const bert = bertFromStore(opened.checkpoint.config, opened.store);
    const addon = loadCudaAddon();
    const info = { runtime: 'test', device: 'cuda', precision: 'bf16' } as const;
    const [healthy, doomed] = await CudaEngine.createMany(
      bert,
      [0, 1].map((k) => ({ context: new addon.Context({ device: 0, dtype: 'bf16' }), info: { ...info, deviceName: `engine ${k}` } })),
      (param) => storedTensor(opened, param),
    );
    let runs = 0;
    // The failure is injected around a real engine: after two batches, every run of this one throws.
    const failing: Engine = {
      info: doomed!.info,
      run: (batch) => (++runs > 2 ? Promise.reject(new RuntimeFailure('injected failure: the GPU fell off the bus')) : doomed!.run(batch)),
      prepare: (needs) => doomed!.prepare(needs),
      dispose: () => doomed!.dispose(),
    };
    const lines: string[] = [];
    const group = new MultiEngine([healthy!, failing], (line) => lines.push(line));
    const model = new IgBertModel(opened.checkpoint, group, { batching: { maxBatchTokens: 256 } });
    const alone = await IgBert.load(dir, { device: 'cuda', gpus: [0], batching: { maxBatchTokens: 256 } });
    const [results, reference] = [await model.embed(records), await alone.embed(records)];
    assert.equal(results.length, records.length);
    results.forEach((e, i) => assert.deepEqual([...e.embedding], [...reference[i]!.embedding], e.id));
    assert.equal(lines.length, 1);
    assert.match(lines[0] as string, /engine 1 failed and is taken out of this job \(injected failure/);
    assert.ok(runs > 2, 'the failing engine was used before it failed');
    await model.dispose();
    await alone.dispose();
  });
});
