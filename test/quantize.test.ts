/** int8 weight quantisation: per-channel rounding, the residual (two-term) Linears, and the converted layout. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { parseBertConfig } from '../src/config.js';
import { TensorType } from '../src/runtime/ort/onnxBuilder.js';
import { convertCheckpoint } from '../src/index.js';
import { onnxWeightLayout } from '../src/runtime/ort/onnxWeights.js';
import { SeededRandom } from '../src/init/random.js';
import { convertStep, hasResidualInt8, planConversion } from '../src/runtime/ort/conversion.js';
import { WeightStore, findCheckpointWeights, readTensor } from '../src/weights/index.js';
import { quantizationResidual, quantizeLinearWeight } from '../src/runtime/ort/quantize.js';
import { CHECKPOINTS } from './helpers.js';

function gaussian(n: number, seed: number): Float32Array {
  const random = new SeededRandom(seed);
  return Float32Array.from({ length: n }, () => 0.02 * random.normal());
}

/** max |W − Σ Q·scale| over the [out, in] weight, for int8 terms laid out [in, out]. */
function maxReconstructionError(weight: Float32Array, terms: { weight: Int8Array; scale: Float32Array }[], out: number, inF: number): number {
  let worst = 0;
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inF; i++) {
      const approx = terms.reduce((sum, t) => sum + (t.weight[i * out + o] as number) * (t.scale[o] as number), 0);
      worst = Math.max(worst, Math.abs((weight[o * inF + i] as number) - approx));
    }
  }
  return worst;
}

describe('int8 weight quantisation', () => {
  const out = 24;
  const inF = 40;
  const weight = gaussian(out * inF, 7);

  test('per output channel: symmetric, within half a step of the weight', () => {
    const q = quantizeLinearWeight(weight, out, inF);
    assert.ok(q.weight.every((v) => v >= -127 && v <= 127));
    for (let o = 0; o < out; o++) {
      const row = weight.subarray(o * inF, (o + 1) * inF);
      const maxAbs = Math.max(...Array.from(row, Math.abs));
      assert.equal(q.scale[o], Math.fround(maxAbs / 127), `channel ${o} scale`);
    }
    assert.ok(maxReconstructionError(weight, [q], out, inF) <= Math.max(...q.scale) / 2 + 1e-9);
  });

  test('a residual term cuts the rounding error by two orders of magnitude', () => {
    const first = quantizeLinearWeight(weight, out, inF);
    const second = quantizeLinearWeight(quantizationResidual(weight, first, out, inF), out, inF);
    const one = maxReconstructionError(weight, [first], out, inF);
    const two = maxReconstructionError(weight, [first, second], out, inF);
    // |residual| <= s1/2, so s2 <= s1/254 and the two-term error is at most s2/2.
    second.scale.forEach((s, o) => assert.ok(s <= (first.scale[o] as number) / 254 + 1e-12, `channel ${o}`));
    assert.ok(two <= Math.max(...second.scale) / 2 + 1e-9);
    assert.ok(two < one / 100, `one term ${one}, two terms ${two}`);
  });

  test('all-zero channels get scale 1 and zeros, never NaN', () => {
    const q = quantizeLinearWeight(new Float32Array(2 * 3), 2, 3);
    assert.deepEqual(Array.from(q.scale), [1, 1]);
    assert.ok(q.weight.every((v) => v === 0));
  });

  test('which Linears get the residual term: attention value and output projections only', () => {
    assert.ok(hasResidualInt8('encoder.layer.0.attention.self.value'));
    assert.ok(hasResidualInt8('encoder.layer.29.attention.output.dense'));
    for (const prefix of ['query', 'key'].map((n) => `encoder.layer.3.attention.self.${n}`)) assert.ok(!hasResidualInt8(prefix));
    assert.ok(!hasResidualInt8('encoder.layer.3.intermediate.dense'));
    assert.ok(!hasResidualInt8('encoder.layer.3.output.dense'));
  });
});

describe('converted int8 layout', () => {
  test('query+key+value: one [in, 4*out] tensor whose value columns add up to the value weight', async () => {
    const dir = join(CHECKPOINTS, 'mlm-h64');
    const config = parseBertConfig(await readFile(join(dir, 'config.json'), 'utf8'));
    const store = new WeightStore(await findCheckpointWeights(dir), config);
    const plan = planConversion(config, store, 'int8');
    const H = config.hidden_size;
    const step = plan.steps.find((s) => s.kind === 'int8' && s.infos.length === 3);
    assert.ok(step && step.kind === 'int8');
    assert.deepEqual(step.residual, [false, false, true]);
    const names = step.name.split('+');
    assert.equal(names.length, 4);
    assert.match(names[3] as string, /attention\.self\.value\.weight\.residual$/);
    assert.equal(plan.meta.tensors[`${step.name}.int8`]?.length, H * 4 * H);
    const outputStep = plan.steps.find((s) => s.kind === 'int8' && /attention\.output\.dense/.test(s.name));
    assert.ok(outputStep && outputStep.kind === 'int8' && outputStep.residual[0] === true);
    const ffnStep = plan.steps.find((s) => s.kind === 'int8' && /intermediate\.dense/.test(s.name));
    assert.ok(ffnStep && ffnStep.kind === 'int8' && ffnStep.residual[0] === false);

    const entries = await convertStep(step, readTensor, 'int8');
    const weight = new Int8Array((entries[0]?.bytes as Uint8Array).slice().buffer);
    const bytes = (entries[1]?.bytes as Uint8Array).slice();
    const scale = new Float32Array(bytes.buffer);
    const width = 4 * H;
    const value = await readTensor(step.infos[2]!);
    const key = await readTensor(step.infos[1]!);
    let valueError = 0;
    let keyError = 0;
    for (let o = 0; o < H; o++) {
      for (let i = 0; i < H; i++) {
        const v = (weight[i * width + 2 * H + o] as number) * (scale[2 * H + o] as number) + (weight[i * width + 3 * H + o] as number) * (scale[3 * H + o] as number);
        valueError = Math.max(valueError, Math.abs(v - (value[o * H + i] as number)));
        const k = (weight[i * width + H + o] as number) * (scale[H + o] as number);
        keyError = Math.max(keyError, Math.abs(k - (key[o * H + i] as number)));
      }
    }
    assert.ok(keyError > 0 && valueError < keyError / 100, `key ${keyError}, value (two terms) ${valueError}`);
  });
});

describe('pre-converted int8 folders (igbert convert)', () => {
  test('the layout is read back from the graph; a folder from before the residual terms is refused with what to do', async () => {
    const out = mkdtempSync(join(tmpdir(), 'igbert-int8-layout-'));
    await convertCheckpoint(join(CHECKPOINTS, 'mlm-h64'), out, { dtype: 'int8' });
    const graph = readFileSync(join(out, 'onnx', 'model_quantized.onnx'));
    const { meta, tensors } = onnxWeightLayout(graph, 'model_quantized.onnx_data', 'converted');
    assert.equal(meta.dtype, 'int8');
    const names = tensors.map((t) => t.name);
    assert.ok(names.some((n) => n.endsWith('attention.self.value.weight')), 'the value weight is known to the store');
    assert.ok(!names.some((n) => n.endsWith('.residual')), 'residual blocks are not checkpoint tensors');

    // The same graph with the residual blocks renamed away stands for an int8 folder converted before version 3.
    const model = onnxProto.onnx.ModelProto.decode(graph);
    for (const initializer of model.graph?.initializer ?? []) {
      if (initializer.dataType === TensorType.INT8) initializer.name = (initializer.name ?? '').replaceAll('.residual', '');
    }
    const old = onnxProto.onnx.ModelProto.encode(model).finish();
    assert.throws(() => onnxWeightLayout(old, 'model_quantized.onnx_data', 'old-folder'), /old-folder was converted by an older igbert.*igbert convert --dtype int8/);
  });
});
