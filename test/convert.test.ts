/** `igbert convert`: the written ONNX model runs on plain onnxruntime-node and gives the reference numbers. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { convertCheckpoint } from '../src/node/convertModel.js';
import { assertClose, CHECKPOINTS, FIXTURES, flat, readJson } from './helpers.js';

const reference = readJson(join(FIXTURES, 'reference', 'mlm-h64.json'));

async function runOnnx(modelPath: string, ids: number[]): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(modelPath);
  const tensor = (values: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, values.length]);
  const out = await session.run({ input_ids: tensor(ids), attention_mask: tensor(ids.map(() => 1)), token_type_ids: tensor(ids.map(() => 0)) });
  await session.release();
  return out as Record<string, ort.Tensor>;
}

describe('igbert convert', () => {
  for (const attention of ['standard', 'multihead'] as const) {
    test(`fp32 (${attention} attention) equals transformers: last_hidden_state and logits`, async () => {
      const out = mkdtempSync(join(tmpdir(), 'igbert-convert-'));
      const result = await convertCheckpoint(join(CHECKPOINTS, 'mlm-h64'), out, { attention });
      assert.deepEqual(result.outputs, ['last_hidden_state', 'logits']);
      for (const f of ['config.json', 'vocab.txt', 'tokenizer_config.json', 'onnx/model.onnx', 'onnx/model.onnx_data']) {
        assert.ok(existsSync(join(out, f)), f);
      }
      assert.equal(existsSync(join(out, 'onnx', `.staging-${process.pid}`)), false);
      for (const record of reference.records.slice(0, 3)) {
        const outputs = await runOnnx(result.modelPath, record.input_ids);
        assertClose(outputs['logits']!.data as Float32Array, flat(record.logits), `${record.id} logits`);
        const hidden = outputs['last_hidden_state']!.data as Float32Array;
        assertClose(hidden.subarray(0, 128), record.embeddings.cls, `${record.id} cls row`);
      }
    });
  }

  test('fp16 and int8 variants run and stay close to fp32', async () => {
    const out = mkdtempSync(join(tmpdir(), 'igbert-convert-'));
    const record = reference.records[0];
    const fp32 = await runOnnx((await convertCheckpoint(join(CHECKPOINTS, 'mlm-h64'), out)).modelPath, record.input_ids);
    for (const dtype of ['fp16', 'int8'] as const) {
      const result = await convertCheckpoint(join(CHECKPOINTS, 'mlm-h64'), out, { dtype });
      assert.match(result.modelPath, dtype === 'fp16' ? /model_fp16\.onnx$/ : /model_quantized\.onnx$/);
      const logits = (await runOnnx(result.modelPath, record.input_ids))['logits']!.data as Float32Array;
      // Loose bound: these are lossy by design; BENCHMARKS.md reports the measured accuracy.
      assertClose(logits, fp32['logits']!.data as Float32Array, `${dtype} logits vs fp32`, dtype === 'fp16' ? 1e-2 : 0.1);
    }
    // Weights shrink: fp16 half, int8 (encoder Linears) smaller still.
    const size = (name: string): number => readFileSync(join(out, 'onnx', name)).length;
    assert.ok(size('model_fp16.onnx_data') < 0.55 * size('model.onnx_data'));
    assert.ok(size('model_quantized.onnx_data') < size('model_fp16.onnx_data'));
  });
});
