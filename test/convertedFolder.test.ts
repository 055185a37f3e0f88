/**
 * `igbert convert` output as other tools and igbert itself read it: its tokenizer.json equals the one Hugging Face
 * writes for the same tokenizer files (scripts/reference/tokenizer_json.py, one case per tokenizer configuration),
 * and the `tokenizers` library's encodings of it equal igbert's tokenizer; config.json tells transformers.js where
 * the weights are; the CLI and the library load the folder and give the checkpoint's numbers.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { CheckpointError, IgBert } from '../src/index.js';
import { convertCheckpoint } from '../src/node/convertModel.js';
import { bertTokenizerJson } from '../src/node/tokenizerJson.js';
import { BertTokenizer } from '../src/tokenizer/bertTokenizer.js';
import { assertAbsClose, assertClose, CHECKPOINTS, FIXTURES, readJson, ROOT } from './helpers.js';

interface Encoded {
  text: string;
  pair?: string;
  ids: number[];
  type_ids: number[];
  special_tokens_mask: number[];
}
interface Case {
  name: string;
  vocab_text: string;
  files: Record<string, unknown>;
  tokenizer_json: Record<string, unknown>;
  singles: Encoded[];
  pairs: Encoded[];
}
const reference = readJson<{ cases: Case[] }>(join(FIXTURES, 'reference', 'tokenizer-json.json'));

const tokenizerOf = (c: Case): Promise<BertTokenizer> => {
  const files: Record<string, string> = { 'vocab.txt': c.vocab_text };
  for (const [name, content] of Object.entries(c.files)) files[name] = JSON.stringify(content);
  return BertTokenizer.fromFiles(async (name) => files[name], c.name);
};

describe('tokenizer.json against Hugging Face', () => {
  for (const c of reference.cases) {
    test(`${c.name}: equals the tokenizer.json transformers writes, and tokenizers encodes as igbert does`, async () => {
      const tokenizer = await tokenizerOf(c);
      assert.deepStrictEqual(bertTokenizerJson(tokenizer), c.tokenizer_json);
      for (const single of c.singles) {
        const ours = tokenizer.encode(single.text);
        assert.deepEqual([ours.inputIds, ours.tokenTypeIds, ours.specialTokensMask], [single.ids, single.type_ids, single.special_tokens_mask], single.text);
      }
      // A pair (text, text_pair) has the model card's ids, but type id 1 and a special [SEP] for the second text: pass
      // "heavy [SEP] light" as one text for the model card's encoding (README, convert).
      for (const pair of c.pairs) {
        const asOneText = tokenizer.encode(`${pair.text} [SEP] ${pair.pair}`);
        assert.deepEqual(pair.ids, asOneText.inputIds, `${pair.text} | ${pair.pair}`);
        assert.ok(pair.type_ids.includes(1) && !asOneText.tokenTypeIds.includes(1));
      }
    });
  }
});

describe('a converted folder', () => {
  const H64 = join(CHECKPOINTS, 'mlm-h64');
  const RECORDS = [
    { id: 'pair', heavy: 'EVQLVESGGGLVQPGGSLRLSCAAS', light: 'DIQMTQSPSSLSASVGDRVTITC' },
    { id: 'heavy', heavy: 'QVQLQESGPGLVKPSETLSLTCTVS', light: '' },
  ];
  let converted: string;

  before(async () => {
    // IgBert's repository has no tokenizer.json: the source folder here has none either.
    const source = mkdtempSync(join(tmpdir(), 'igbert-source-'));
    for (const name of readdirSync(H64).filter((n) => n !== 'tokenizer.json')) copyFileSync(join(H64, name), join(source, name));
    converted = mkdtempSync(join(tmpdir(), 'igbert-converted-'));
    for (const dtype of ['fp32', 'int8'] as const) await convertCheckpoint(source, converted, { dtype });
  });

  test('has the tokenizer.json transformers wrote for the checkpoint, and config.json for transformers.js', () => {
    assert.deepStrictEqual(readJson(join(converted, 'tokenizer.json')), readJson(join(H64, 'tokenizer.json')));
    const config = readJson(join(converted, 'config.json'));
    assert.deepEqual(config['transformers.js_config'], { use_external_data_format: true });
    const { ['transformers.js_config']: _, ...rest } = config;
    assert.deepEqual(rest, readJson(join(H64, 'config.json')));
  });

  for (const dtype of ['fp32', 'int8'] as const) {
    test(`loads as --dtype ${dtype}: the checkpoint's embeddings and likelihoods`, async () => {
      await using fromFolder = await IgBert.load(converted, { dtype });
      await using fromCheckpoint = await IgBert.load(H64, { dtype });
      assert.equal(fromFolder.engineInfo.precision, dtype);
      const [a, b] = [await fromFolder.embed(RECORDS), await fromCheckpoint.embed(RECORDS)];
      a.forEach((result, i) => assertClose(result.embedding, b[i]!.embedding, `${dtype} ${result.id} embedding`));
      const [s, t] = [await fromFolder.score(RECORDS, { method: 'wt-marginal' }), await fromCheckpoint.score(RECORDS, { method: 'wt-marginal' })];
      assertAbsClose(s.map((r) => r.pll), t.map((r) => r.pll), `${dtype} likelihoods`);
    });
  }

  test('without --dtype and with fp16 absent: fp32 is used; --dtype fp16 says which precisions it holds', async () => {
    await using model = await IgBert.load(converted);
    assert.equal(model.engineInfo.precision, 'fp32');
    await assert.rejects(IgBert.load(converted, { dtype: 'fp16' }), (error: unknown) => {
      assert.ok(error instanceof CheckpointError);
      assert.match(error.message, /holding fp32 \(onnx\/model\.onnx\), int8 \(onnx\/model_quantized\.onnx\), not fp16: pass --dtype fp32 or --dtype int8/);
      return true;
    });
  });

  test('igbert embed --model <converted folder> runs', () => {
    const folder = mkdtempSync(join(tmpdir(), 'igbert-converted-cli-'));
    writeFileSync(join(folder, 'pairs.csv'), `id,heavy,light\n${RECORDS.map((r) => `${r.id},${r.heavy},${r.light}`).join('\n')}\n`);
    const run = spawnSync(
      process.execPath,
      [join(ROOT, 'bin', 'igbert.js'), 'embed', '--model', converted, '--dtype', 'int8', '--input', join(folder, 'pairs.csv'), '--output', join(folder, 'out.jsonl'), '--quiet'],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(readFileSync(join(folder, 'out.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line).id), ['pair', 'heavy']);
  });
});
