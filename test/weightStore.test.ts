/**
 * Finding a checkpoint's weight files (single, sharded, hostile, PyTorch-only) and resolving Hugging Face module
 * paths in them: bert. prefix or bare BertModel keys, legacy LayerNorm gamma/beta, the tied MLM decoder.
 * Real checkpoints come from scripts/reference/models.py (test/fixtures/checkpoints/).
 */
import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseBertConfig } from '../src/config.js';
import { CheckpointError, UsageError } from '../src/errors.js';
import { WeightStore, findCheckpointWeights, readTensor, writeSafetensorsFile } from '../src/weights/index.js';
import type { SafetensorsDType, TensorInfo } from '../src/weights/index.js';

const CHECKPOINTS = fileURLToPath(new URL('./fixtures/checkpoints/', import.meta.url));

async function loadFixture(name: string): Promise<WeightStore> {
  const dir = join(CHECKPOINTS, name);
  const config = parseBertConfig(await readFile(join(dir, 'config.json'), 'utf8'));
  return new WeightStore(await findCheckpointWeights(dir), config);
}

/** A TensorInfo for a tensor that exists only in the index (no bytes behind it). */
function fake(name: string, shape: number[], file = 'model.safetensors', dtype: SafetensorsDType = 'F32'): TensorInfo {
  const byteLength = shape.reduce((a, b) => a * b, 1) * 4;
  return { name, dtype, shape, dataOffsets: [0, byteLength], absoluteOffset: 8, byteLength, file };
}

/** The module paths a BERT graph binds (BertModel-relative, current names), for unusedKeys. */
function bertModulePaths(layers: number, mlmHead: boolean): string[] {
  const linear = (p: string) => [`${p}.weight`, `${p}.bias`];
  const paths = [
    'embeddings.word_embeddings.weight',
    'embeddings.position_embeddings.weight',
    'embeddings.token_type_embeddings.weight',
    ...linear('embeddings.LayerNorm'),
  ];
  for (let i = 0; i < layers; i++) {
    for (const block of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense',
      'attention.output.LayerNorm', 'intermediate.dense', 'output.dense', 'output.LayerNorm']) {
      paths.push(...linear(`encoder.layer.${i}.${block}`));
    }
  }
  if (mlmHead) paths.push(...linear('cls.predictions.transform.dense'), ...linear('cls.predictions.transform.LayerNorm'));
  return paths;
}

const V = 30;
const H = 8;
const decoderConfig = (tie: boolean) => ({ tie_word_embeddings: tie, vocab_size: V, hidden_size: H });

function throwsCheckpoint(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CheckpointError, `expected CheckpointError, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

describe('WeightStore on checkpoints saved by transformers', () => {
  test('BertForMaskedLM (bert. prefix, tied decoder absent from the file)', async () => {
    const store = await loadFixture('mlm-h64');
    const layer = store.scope('encoder').scope('layer.1');
    assert.equal(layer.prefix, 'encoder.layer.1.');
    assert.equal(layer.get('attention.self.query.weight', [128, 128]).name, 'bert.encoder.layer.1.attention.self.query.weight');
    assert.equal(store.get('embeddings.LayerNorm.weight', [128]).name, 'bert.embeddings.LayerNorm.weight');
    assert.equal(store.hasMlmHead, true);
    assert.equal(store.hasPooler, false);
    const decoder = store.mlmDecoder();
    assert.equal(decoder.tiedToWordEmbeddings, true);
    assert.equal(decoder.weight.name, 'bert.embeddings.word_embeddings.weight');
    assert.equal(decoder.bias.name, 'cls.predictions.bias');
    assert.deepEqual(decoder.aliases, []);
    assert.equal(store.decoderWeightPath, 'embeddings.word_embeddings.weight');
    assert.equal(store.decoderBiasPath, 'cls.predictions.bias');
    assert.equal(store.get(store.decoderWeightPath, [30, 128]), decoder.weight);
  });

  test('sharded F16 checkpoint with legacy LayerNorm.gamma/beta and an untied decoder', async () => {
    const store = await loadFixture('mlm-legacy');
    const files = new Set(store.allTensors().map((t) => t.file));
    assert.equal(files.size, 4);
    const gamma = store.scope('encoder').scope('layer.1').scope('output').get('LayerNorm.weight', [64]);
    assert.equal(gamma.name, 'bert.encoder.layer.1.output.LayerNorm.gamma');
    assert.equal(gamma.dtype, 'F16');
    assert.equal(store.get('cls.predictions.transform.LayerNorm.bias', [64]).name, 'cls.predictions.transform.LayerNorm.beta');
    // Untied in transformers 5: the decoder computes with its own stored weight and bias; cls.predictions.bias
    // (stored with different values by models.py) is unused, which the parity reference depends on.
    const decoder = store.mlmDecoder();
    assert.equal(decoder.tiedToWordEmbeddings, false);
    assert.equal(decoder.weight.name, 'cls.predictions.decoder.weight');
    assert.equal(decoder.weightPath, 'cls.predictions.decoder.weight');
    assert.equal(decoder.bias.name, 'cls.predictions.decoder.bias');
    assert.equal(store.decoderBiasPath, 'cls.predictions.decoder.bias');
    assert.deepEqual(decoder.aliases, []);
    const headBias = await readTensor(store.get('cls.predictions.bias', [30]));
    assert.notDeepEqual(await readTensor(decoder.bias), headBias);
    const used = [...bertModulePaths(2, true), decoder.weight, decoder.bias];
    assert.deepEqual(store.unusedKeys(used), ['cls.predictions.bias']);
  });

  test('BertModel with a pooler (bare keys, no MLM head)', async () => {
    const store = await loadFixture('model-pooler');
    assert.equal(store.get('encoder.layer.2.output.dense.weight', [48, 96]).name, 'encoder.layer.2.output.dense.weight');
    assert.equal(store.hasPooler, true);
    assert.equal(store.hasMlmHead, false);
    assert.equal(store.get('pooler.dense.bias', [48]).name, 'pooler.dense.bias');
    assert.deepEqual(store.unusedKeys(bertModulePaths(3, false)), ['pooler.dense.bias', 'pooler.dense.weight']);
    throwsCheckpoint(() => store.mlmDecoder(), /no masked-language-model head/, /BertForMaskedLM/);
    // A loader may read the decoder paths unconditionally; they only fail when bound.
    assert.equal(store.decoderWeightPath, 'embeddings.word_embeddings.weight');
    throwsCheckpoint(() => store.get(store.decoderBiasPath, [30]), /Missing tensor cls\.predictions\.bias/);
  });
});

describe('WeightStore resolution rules', () => {
  const bertKeys = [
    fake('bert.embeddings.word_embeddings.weight', [V, H]),
    fake('bert.embeddings.LayerNorm.gamma', [H]),
    fake('bert.embeddings.position_ids', [1, 16], 'model.safetensors', 'I64'),
    fake('bert.encoder.layer.0.attention.self.query.weight', [H, H]),
    fake('cls.predictions.bias', [V]),
    fake('cls.predictions.transform.dense.weight', [H, H]),
    fake('cls.seq_relationship.weight', [2, H]),
  ];

  test('shape mismatch names the full key, the path asked for, expected and found shapes', () => {
    const store = WeightStore.fromTensors(bertKeys);
    throwsCheckpoint(
      () => store.scope('encoder').scope('layer.0').get('attention.self.query.weight', [16, 8]),
      /Tensor "bert\.encoder\.layer\.0\.attention\.self\.query\.weight" \(for encoder\.layer\.0\.attention\.self\.query\.weight\)/,
      /has shape \[8, 8\], expected \[16, 8\]/,
      /config\.json does not match these weights/,
    );
    throwsCheckpoint(() => store.getOptional('embeddings.LayerNorm.weight', [9]), /LayerNorm\.gamma.*shape \[8\], expected \[9\]/);
  });

  test('a missing tensor lists every spelling tried and what the keys look like', () => {
    const store = WeightStore.fromTensors(bertKeys);
    throwsCheckpoint(
      () => store.scope('encoder').get('layer.5.output.LayerNorm.weight', [H]),
      /Missing tensor encoder\.layer\.5\.output\.LayerNorm\.weight/,
      /"bert\.encoder\.layer\.5\.output\.LayerNorm\.weight", "bert\.encoder\.layer\.5\.output\.LayerNorm\.gamma", "encoder\.layer\.5\.output\.LayerNorm\.weight", "encoder\.layer\.5\.output\.LayerNorm\.gamma"/,
      /The checkpoint has 1 encoder layers; does num_hidden_layers in config\.json match\?/,
      /is in the checkpoint \(model\.safetensors\)\. .* It holds 7 tensors; keys look like: "bert\.embeddings\.word_embeddings\.weight", .* and 1 more\./,
    );
    assert.equal(store.getOptional('pooler.dense.weight', [H, H]), undefined);
    throwsCheckpoint(() => store.get('pooler.dense.weight', [H, H]), /Does config\.json match these weights \(architectures/);
    const gpt = WeightStore.fromTensors([fake('transformer.h.0.attn.c_attn.weight', [H, 3 * H])]);
    throwsCheckpoint(() => gpt.get('embeddings.word_embeddings.weight', [V, H]), /Is this a BERT checkpoint\?.*transformer\.h\.0/);
  });

  test('two spellings of one parameter are refused, not chosen between', () => {
    const both = WeightStore.fromTensors([fake('bert.embeddings.LayerNorm.weight', [H]), fake('bert.embeddings.LayerNorm.gamma', [H])]);
    throwsCheckpoint(() => both.has('embeddings.LayerNorm.weight'), /stores embeddings\.LayerNorm\.weight twice/);
    const prefixed = WeightStore.fromTensors([fake('bert.pooler.dense.weight', [H, H]), fake('pooler.dense.weight', [H, H])]);
    throwsCheckpoint(() => prefixed.hasPooler, /"bert\.pooler\.dense\.weight", "pooler\.dense\.weight"/);
  });

  test('the MLM decoder: stored decoder tensors as stored, absent ones tied when tie_word_embeddings allows', () => {
    const withCopy = WeightStore.fromTensors([...bertKeys, fake('cls.predictions.decoder.weight', [V, H])]);
    const tied = withCopy.mlmDecoder(decoderConfig(true));
    assert.equal(tied.weight.name, 'cls.predictions.decoder.weight');
    assert.equal(tied.tiedToWordEmbeddings, false);
    assert.deepEqual(tied.aliases.map((a) => [a.tensor.name, a.tiedTo.name]), [
      ['cls.predictions.decoder.weight', 'bert.embeddings.word_embeddings.weight'],
    ]);
    const untied = withCopy.mlmDecoder(decoderConfig(false));
    assert.equal(untied.weight.name, 'cls.predictions.decoder.weight');
    assert.deepEqual(untied.aliases, []);
    const tiedAbsent = WeightStore.fromTensors(bertKeys, decoderConfig(true)).mlmDecoder();
    assert.equal(tiedAbsent.weight.name, 'bert.embeddings.word_embeddings.weight');
    assert.equal(tiedAbsent.tiedToWordEmbeddings, true);
    assert.equal(tiedAbsent.bias.name, 'cls.predictions.bias');
    const untiedMissing = WeightStore.fromTensors(bertKeys, decoderConfig(false));
    throwsCheckpoint(() => untiedMissing.mlmDecoder(), /"tie_word_embeddings": false/, /cls\.predictions\.decoder\.weight is not in the checkpoint \(model\.safetensors\)/);

    const bothBiases = WeightStore.fromTensors([...bertKeys, fake('cls.predictions.decoder.bias', [V])], decoderConfig(true));
    assert.equal(bothBiases.mlmDecoder().bias.name, 'cls.predictions.decoder.bias');
    assert.deepEqual(bothBiases.mlmDecoder().aliases.map((a) => [a.tensor.name, a.tiedTo.name]), [
      ['cls.predictions.decoder.bias', 'cls.predictions.bias'],
    ]);
    const onlyDecoderBias = WeightStore.fromTensors(
      [...bertKeys.filter((t) => t.name !== 'cls.predictions.bias'), fake('cls.predictions.decoder.bias', [V])],
      decoderConfig(true),
    );
    assert.equal(onlyDecoderBias.decoderBiasPath, 'cls.predictions.decoder.bias');
    const noBias = WeightStore.fromTensors(bertKeys.filter((t) => t.name !== 'cls.predictions.bias'), decoderConfig(true));
    throwsCheckpoint(() => noBias.mlmDecoder(), /neither "cls\.predictions\.decoder\.bias" nor "cls\.predictions\.bias"/);
    throwsCheckpoint(() => withCopy.mlmDecoder({ ...decoderConfig(true), vocab_size: 31 }), /expected \[31, 8\]/);
    assert.throws(() => WeightStore.fromTensors(bertKeys).mlmDecoder(), UsageError);
  });

  test('unusedKeys reports what the model did not consume', () => {
    const store = WeightStore.fromTensors(bertKeys);
    const encoder = store.scope('encoder');
    const used = [
      store.get('embeddings.word_embeddings.weight', [V, H]),
      'embeddings.LayerNorm.weight',
      encoder.get('layer.0.attention.self.query.weight', [H, H]),
      'cls.predictions.bias',
      'cls.predictions.transform.dense.weight',
    ];
    assert.deepEqual(store.unusedKeys(used), ['bert.embeddings.position_ids', 'cls.seq_relationship.weight']);
    assert.deepEqual(encoder.unusedKeys(['layer.0.attention.self.query.weight']).length, bertKeys.length - 1);
  });

  test('the same key in two files is an error; scope names are checked', () => {
    throwsCheckpoint(
      () => WeightStore.fromTensors([fake('a.weight', [1], 'model-1.safetensors'), fake('a.weight', [1], 'model-2.safetensors')]),
      /"a\.weight" is stored twice, in model-1\.safetensors and in model-2\.safetensors/,
    );
    const store = WeightStore.fromTensors([]);
    for (const bad of ['', '.encoder', 'encoder.']) assert.throws(() => store.scope(bad), UsageError);
    assert.match(store.describe(), /holds no tensors/);
  });
});

describe('findCheckpointWeights', () => {
  let root: string;
  let count = 0;
  const folder = async (files: Record<string, string | Uint8Array>): Promise<string> => {
    const dir = join(root, `case-${count++}`);
    await mkdir(dir);
    for (const [name, contents] of Object.entries(files)) await writeFile(join(dir, name), contents);
    return dir;
  };
  const shard = async (dir: string, name: string, tensorNames: string[]): Promise<void> => {
    const tensors = tensorNames.map((n, i) => ({ name: n, shape: [2], dtype: 'F32' as const, data: new Float32Array([i, -i]) }));
    await writeSafetensorsFile(join(dir, name), tensors, { format: 'pt' });
  };
  const index = (weightMap: Record<string, unknown>): string => JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'igbert-checkpoints-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('sharded index: every shard opened, tensors resolve across shards', async () => {
    const dir = await folder({ [`model.safetensors.index.json`]: index({ 'bert.a': 'model-00001-of-00002.safetensors', 'cls.b': 'model-00002-of-00002.safetensors' }) });
    await shard(dir, 'model-00001-of-00002.safetensors', ['bert.a']);
    await shard(dir, 'model-00002-of-00002.safetensors', ['cls.b']);
    const files = await findCheckpointWeights(dir);
    assert.deepEqual(files.map((f) => f.file), [join(dir, 'model-00001-of-00002.safetensors'), join(dir, 'model-00002-of-00002.safetensors')]);
    const store = new WeightStore(files);
    assert.equal(store.get('a', [2]).file, files[0]?.file);
    assert.deepEqual([...(await readTensor(store.get('cls.b', [2])))], [0, -0]);
  });

  test('model.safetensors wins over an index, as in transformers', async () => {
    const dir = await folder({ 'model.safetensors.index.json': index({ x: 'missing.safetensors' }) });
    await shard(dir, 'model.safetensors', ['bert.a']);
    assert.deepEqual((await findCheckpointWeights(dir)).map((f) => [...f.tensors.keys()]), [['bert.a']]);
  });

  test('a missing shard is named', async () => {
    const dir = await folder({ 'model.safetensors.index.json': index({ 'bert.a': 'model-00001-of-00002.safetensors', 'cls.b': 'model-00002-of-00002.safetensors' }) });
    await shard(dir, 'model-00001-of-00002.safetensors', ['bert.a']);
    await assert.rejects(findCheckpointWeights(dir), (error: unknown) => {
      assert.ok(error instanceof CheckpointError);
      assert.match(error.message, /lists shard "model-00002-of-00002\.safetensors" \(for 1 tensors, e\.g\. "cls\.b"\)/);
      assert.match(error.message, /does not exist\. Download the missing shard/);
      return true;
    });
  });

  test('a tensor the index puts in a shard that lacks it', async () => {
    const dir = await folder({ 'model.safetensors.index.json': index({ 'bert.a': 'model-1.safetensors', 'bert.ghost': 'model-1.safetensors' }) });
    await shard(dir, 'model-1.safetensors', ['bert.a']);
    await assert.rejects(findCheckpointWeights(dir), /says "bert\.ghost" is in model-1\.safetensors, but that shard has no such tensor/);
  });

  const hostile: unknown[] = ['../model.safetensors', '/etc/passwd', 'sub/model.safetensors', 'sub\\model.safetensors', '..', 'C:model.safetensors', '', 42, null];
  for (const name of hostile) {
    test(`hostile shard name ${JSON.stringify(name)} is refused`, async () => {
      const dir = await folder({ 'model.safetensors.index.json': index({ 'bert.a': name }) });
      await assert.rejects(findCheckpointWeights(dir), (error: unknown) => {
        assert.ok(error instanceof CheckpointError);
        assert.match(error.message, /tensor "bert\.a" is mapped to .*not a plain file name in the checkpoint folder/);
        return true;
      });
    });
  }

  test('a broken index', async () => {
    await assert.rejects(findCheckpointWeights(await folder({ 'model.safetensors.index.json': '{"weight_map": ' })), /index\.json is not valid JSON/);
    await assert.rejects(findCheckpointWeights(await folder({ 'model.safetensors.index.json': '{"metadata": {}}' })), /no "weight_map" object/);
    await assert.rejects(findCheckpointWeights(await folder({ 'model.safetensors.index.json': index({}) })), /"weight_map" is empty/);
  });

  test('PyTorch-only folder: refused with why and how to convert', async () => {
    const dir = await folder({ 'config.json': '{}', 'pytorch_model.bin': 'PK\u0003\u0004 not really a pickle', 'vocab.txt': '' });
    await assert.rejects(findCheckpointWeights(dir), (error: unknown) => {
      assert.ok(error instanceof CheckpointError);
      assert.match(error.message, /only PyTorch pickle weights \(pytorch_model\.bin\)/);
      assert.match(error.message, /never unpickles PyTorch \.bin files: loading a pickle can run arbitrary code/);
      assert.match(error.message, /AutoModelForMaskedLM as M; M\.from_pretrained\('.*case-\d+'\)\.save_pretrained\('.*-safetensors', safe_serialization=True\)/);
      return true;
    });
    await assert.rejects(findCheckpointWeights(await folder({ 'tf_model.h5': '', 'flax_model.msgpack': '' })), (error: unknown) => {
      assert.ok(error instanceof CheckpointError);
      assert.match(error.message, /only TensorFlow \/ Flax weights \(tf_model\.h5, flax_model\.msgpack\)/);
      assert.match(error.message, /from_tf=True/);
      assert.doesNotMatch(error.message, /unpickle/);
      return true;
    });
  });

  test('no weights at all: lists what is there', async () => {
    await assert.rejects(findCheckpointWeights(await folder({ 'config.json': '{}', 'weights.safetensors': '' })), /Found: config\.json, weights\.safetensors/);
    await assert.rejects(findCheckpointWeights(await folder({})), /nothing \(the folder is empty\)/);
    await assert.rejects(findCheckpointWeights(join(root, 'does-not-exist')), /does-not-exist does not exist/);
  });
});
