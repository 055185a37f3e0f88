/** config.json parsing: every field the math needs is read; anything unsupported is refused with a clear error. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { IgBert, parseBertConfig, CheckpointError, UnsupportedError, UsageError } from '../src/index.js';
import { CHECKPOINTS } from './helpers.js';

const base = JSON.parse(readFileSync(join(CHECKPOINTS, 'mlm-h64', 'config.json'), 'utf8'));
const withChanges = (changes: Record<string, unknown>): string => JSON.stringify({ ...base, ...changes });

describe('parseBertConfig', () => {
  test('reads the fields the math needs', () => {
    const config = parseBertConfig(JSON.stringify(base));
    assert.equal(config.hidden_size, 128);
    assert.equal(config.num_attention_heads, 2);
    assert.equal(config.layer_norm_eps, 1e-12);
    assert.equal(config.max_position_embeddings, 128);
    assert.equal(config.tie_word_embeddings, true);
  });

  const cases: [string, string, typeof CheckpointError | typeof UnsupportedError, RegExp][] = [
    ['not JSON', '{oops', CheckpointError, /not valid JSON/],
    ['not an object', '[1,2]', CheckpointError, /JSON object/],
    ['another model type', withChanges({ model_type: 'roberta' }), UnsupportedError, /model_type is "roberta".*BERT checkpoints only/],
    ['tanh GELU', withChanges({ hidden_act: 'gelu_new' }), UnsupportedError, /hidden_act "gelu_new" is not supported.*exact erf GELU/],
    ['relu', withChanges({ hidden_act: 'relu' }), UnsupportedError, /hidden_act "relu"/],
    ['relative positions', withChanges({ position_embedding_type: 'relative_key' }), UnsupportedError, /position_embedding_type "relative_key"/],
    ['decoder', withChanges({ is_decoder: true }), UnsupportedError, /decoder/],
    ['heads do not divide hidden', withChanges({ num_attention_heads: 3 }), CheckpointError, /not a multiple of num_attention_heads 3/],
    ['missing hidden_size', JSON.stringify({ ...base, hidden_size: undefined }), CheckpointError, /"hidden_size" must be a positive integer/],
    ['fractional layers', withChanges({ num_hidden_layers: 2.5 }), CheckpointError, /"num_hidden_layers" must be a positive integer/],
    ['pad outside vocab', withChanges({ pad_token_id: 30 }), CheckpointError, /pad_token_id 30 is outside the vocabulary/],
    ['non-positive eps', withChanges({ layer_norm_eps: 0 }), CheckpointError, /layer_norm_eps must be > 0/],
    ['non-numeric eps', withChanges({ layer_norm_eps: 'tiny' }), CheckpointError, /"layer_norm_eps" must be a number/],
  ];
  for (const [label, text, errorClass, message] of cases) {
    test(`refuses: ${label}`, () => {
      assert.throws(() => parseBertConfig(text), (error: unknown) => {
        assert.ok(error instanceof errorClass, `${label}: ${(error as Error).constructor.name}`);
        assert.match((error as Error).message, message);
        return true;
      });
    });
  }
});

describe('model-level errors', () => {
  test('masked-LM outputs on a BertModel checkpoint (no head) are a usage error', async () => {
    const model = await IgBert.load(join(CHECKPOINTS, 'model-pooler'));
    await assert.rejects(model.maskedLogits([{ heavy: 'EVQL' }]), (e: unknown) => e instanceof UsageError && /no masked-LM head/.test((e as Error).message));
    await model.dispose();
  });

  test('pooler output without pooler weights, layer out of range, use after dispose', async () => {
    const model = await IgBert.load(join(CHECKPOINTS, 'mlm-h64'));
    await assert.rejects(model.embed([{ heavy: 'EVQL' }], { pooling: 'pooler' }), /no pooler weights/);
    await assert.rejects(model.embed([{ heavy: 'EVQL' }], { layer: 3 }), /layer 3 does not exist/);
    await assert.rejects(model.embed([{ heavy: 'EVQL' }], { layer: -4 }), /layer -4 does not exist/);
    const [last] = await model.embed([{ heavy: 'EVQL' }], { layer: -1 });
    const [two] = await model.embed([{ heavy: 'EVQL' }], { layer: 2 });
    assert.deepEqual(last?.embedding, two?.embedding);
    await model.dispose();
    await assert.rejects(model.embed([{ heavy: 'EVQL' }]), /disposed/);
  });

  test('a sequence longer than max_position_embeddings is refused, never truncated', async () => {
    const model = await IgBert.load(join(CHECKPOINTS, 'mlm-h64'));
    assert.throws(() => model.encode([{ id: 'long', heavy: 'A'.repeat(120), light: 'C'.repeat(10) }]), /never truncate|truncat/i);
    await model.dispose();
  });
});
