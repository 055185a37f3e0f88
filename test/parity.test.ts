/**
 * Parity with Hugging Face transformers on the committed random checkpoints (scripts/reference/models.py wrote the
 * checkpoints and the reference outputs). Tokens must be identical; float outputs within 1e-5 x max |reference|.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { IgBert, type IgBertModel } from '../src/index.js';
import { ENGINES_UNDER_TEST } from './support/engines.js';

import type { Pooling } from '../src/tasks/pooling.js';
import { assertClose, CHECKPOINTS, FIXTURES, flat, readJson } from './helpers.js';

interface ReferenceRecord {
  id: string;
  heavy: string;
  light: string;
  input_ids: number[];
  special_tokens_mask: number[];
  embeddings: Partial<Record<Pooling, number[]>>;
  residue_embeddings: number[][];
  hidden_state_layer_1: number[][];
  logits?: number[][];
}
interface Reference {
  transformers_version: string;
  records: ReferenceRecord[];
}

/**
 * Every engine through the seam: the ONNX engine in both batch layouts (padded with fused or spelled-out attention,
 * and packed), the CUDA engine's TypeScript half — its recorded programs run by a float64 CPU interpreter of the
 * program format (test/support/programInterpreter.ts) — and, on a machine with a GPU, the CUDA engine in fp32.
 */
const ENGINES: { label: string; load: (dir: string) => Promise<IgBertModel> }[] = [
  ...(['multihead', 'standard'] as const).map((attention) => ({
    label: `ONNX Runtime, ${attention} attention, padded batches`,
    load: (dir: string) => IgBert.load(dir, { batching: { maxBatchTokens: 4096 }, device: 'cpu', ort: { attention, layout: 'padded' } }),
  })),
  {
    label: 'ONNX Runtime, packed batches',
    load: (dir: string) => IgBert.load(dir, { batching: { maxBatchTokens: 4096 }, device: 'cpu', ort: { layout: 'packed' } }),
  },
  // Small budgets, so the mixed-length records land in several packed batches.
  ...ENGINES_UNDER_TEST.slice(1).map(({ label, load }) => ({ label, load: (dir: string) => load(dir, 256) })),
];

for (const name of ['mlm-h64', 'model-pooler', 'mlm-legacy']) for (const { label, load } of ENGINES) {
  describe(`parity with transformers: ${name}, ${label}`, () => {
    const reference = readJson<Reference>(join(FIXTURES, 'reference', `${name}.json`));
    const records = reference.records.map(({ id, heavy, light }) => ({ id, heavy, light }));
    let model: IgBertModel;
    before(async () => {
      model = await load(join(CHECKPOINTS, name));
    });
    after(async () => model.dispose());

    test('antibody tokens equal the tokenizer output for the model-card text', () => {
      model.encode(records).forEach((encoded, i) => {
        const ref = reference.records[i] as ReferenceRecord;
        assert.deepEqual([...encoded.inputIds], ref.input_ids, ref.id);
        assert.deepEqual([...encoded.specialTokensMask], ref.special_tokens_mask, ref.id);
      });
    });

    for (const pooling of ['mean', 'residues-mean', 'cls', 'heavy-mean', 'light-mean', 'pooler'] as Pooling[]) {
      const subset = reference.records.filter((r) => r.embeddings[pooling] !== undefined);
      if (subset.length === 0) continue;
      test(`${pooling} embeddings, all records in one mixed-length batch`, async () => {
        const results = await model.embed(subset.map(({ id, heavy, light }) => ({ id, heavy, light })), { pooling });
        results.forEach((result, i) => {
          const ref = subset[i] as ReferenceRecord;
          assert.equal(result.id, ref.id);
          assertClose(result.embedding, ref.embeddings[pooling] as number[], `${ref.id} ${pooling}`);
        });
      });
    }

    test('residue embeddings (last layer and layer 1)', async () => {
      const last = await model.embed(records, { residues: true });
      const layer1 = await model.embed(records, { residues: true, layer: 1 });
      reference.records.forEach((ref, i) => {
        assertClose(flat((last[i]?.residueEmbeddings ?? []).map((r) => [...r])), flat(ref.residue_embeddings), `${ref.id} residues`);
        const rows = [...Array(ref.heavy.length).keys()].map((k) => 1 + k);
        const lightStart = ref.heavy.length ? ref.heavy.length + 2 : 1;
        if (ref.light.length) rows.push(...[...Array(ref.light.length).keys()].map((k) => lightStart + k));
        const expected = flat(rows.map((r) => ref.hidden_state_layer_1[r] as number[]));
        assertClose(flat((layer1[i]?.residueEmbeddings ?? []).map((r) => [...r])), expected, `${ref.id} layer 1`);
      });
    });

    if (reference.records[0]?.logits) {
      test('masked-LM logits for every token', async () => {
        const results = await model.maskedLogits(records);
        results.forEach((result, i) => {
          const ref = reference.records[i] as ReferenceRecord;
          assertClose(result.values, flat(ref.logits as number[][]), `${ref.id} logits`);
        });
      });
    }

    test('batch invariance: each record alone equals the record inside the mixed batch', async () => {
      const batched = await model.embed(records, { pooling: 'mean', residues: true });
      for (const [i, record] of records.entries()) {
        const [alone] = await model.embed([record], { pooling: 'mean', residues: true });
        assertClose(alone?.embedding ?? [], batched[i]?.embedding ?? [], `${record.id} alone vs batch`);
        assertClose(
          flat((alone?.residueEmbeddings ?? []).map((r) => [...r])),
          flat((batched[i]?.residueEmbeddings ?? []).map((r) => [...r])),
          `${record.id} residues alone vs batch`,
        );
      }
    });
  });
}
