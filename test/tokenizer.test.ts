/**
 * BertTokenizer and Vocabulary against Hugging Face: test/fixtures/reference/tokenizer.json is written by
 * scripts/reference/tokenizer_fixtures.py with transformers 5 (tokenizers backend). Exact equality everywhere.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { CheckpointError, UnsupportedError } from '../src/errors.js';
import { BertTokenizer, Vocabulary, type Encoding } from '../src/tokenizer/index.js';
import { inRanges, normalizeBertText, preTokenizeBert } from '../src/tokenizer/_normalizer.js';

interface HfEncoding {
  text: string;
  normalized: string;
  words: string[];
  tokens: string[];
  input_ids: number[];
  attention_mask: number[];
  token_type_ids: number[];
  special_tokens_mask: number[];
}
interface HfBatch {
  texts: string[];
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  special_tokens_mask: number[][];
}
interface ConfigCase {
  name: string;
  vocab_text: string;
  files: Record<string, unknown>;
  do_lower_case: boolean;
  special_tokens: Record<'unk_token' | 'sep_token' | 'pad_token' | 'cls_token' | 'mask_token', string>;
  model_max_length: number | null;
  padding_side: 'right' | 'left';
  probes: HfEncoding[];
  batch: HfBatch;
}
type Ranges = [number, number][];
interface Fixture {
  transformers_version: string;
  vocab: string[];
  cased: HfEncoding[];
  lowercase: HfEncoding[];
  batch: HfBatch;
  config_cases: ConfigCase[];
  unicode: {
    removed_by_clean_text: Ranges;
    whitespace_after_clean_text: Ranges;
    chinese: Ranges;
    punctuation: Ranges;
    pre_tokenizer_whitespace: Ranges;
    strip_accents: Record<string, string>;
    lowercase: Record<string, string>;
  };
}

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/reference/tokenizer.json', import.meta.url), 'utf8'),
) as Fixture;
const vocabulary = new Vocabulary(fixture.vocab, 'vocab.txt');
const cased = new BertTokenizer(vocabulary, { doLowerCase: false });

const asHf = (encoding: Encoding) => ({
  input_ids: encoding.inputIds,
  attention_mask: encoding.attentionMask,
  token_type_ids: encoding.tokenTypeIds,
  special_tokens_mask: encoding.specialTokensMask,
});
/** normalizeBertText + preTokenizeBert alone, with a tokenizer's settings, against HF's normaliser + pre-tokenizer. */
function assertNormalizedLikeHf(tokenizer: BertTokenizer, hf: HfEncoding): void {
  const normalized = normalizeBertText(hf.text, {
    lowercase: tokenizer.doLowerCase,
    stripAccents: tokenizer.stripAccents,
    handleChineseChars: tokenizer.tokenizeChineseChars,
  });
  assert.equal(normalized, hf.normalized);
  assert.deepEqual(preTokenizeBert(normalized), hf.words);
}
const expected = ({ input_ids, attention_mask, token_type_ids, special_tokens_mask }: HfEncoding) => ({
  input_ids,
  attention_mask,
  token_type_ids,
  special_tokens_mask,
});
const batchAsHf = (encodings: Encoding[]) => ({
  input_ids: encodings.map((e) => e.inputIds),
  attention_mask: encodings.map((e) => e.attentionMask),
  token_type_ids: encodings.map((e) => e.tokenTypeIds),
  special_tokens_mask: encodings.map((e) => e.specialTokensMask),
});
const { texts: _texts, ...expectedBatch } = fixture.batch;

/** An in-memory checkpoint folder for BertTokenizer.fromFiles. */
function reader(files: Record<string, string>) {
  return async (name: string): Promise<string | undefined> => files[name];
}

test('the fixture comes from transformers 5 (tokenizers backend)', () => {
  assert.match(fixture.transformers_version, /^5\./);
  assert.equal(fixture.cased.length > 100, true);
});

describe('do_lower_case=False (IgBert): tokens and encodings equal Hugging Face', () => {
  for (const hf of fixture.cased) {
    test(JSON.stringify(hf.text.length > 40 ? `${hf.text.slice(0, 40)}… (${hf.text.length})` : hf.text), () => {
      assertNormalizedLikeHf(cased, hf);
      assert.deepEqual(cased.tokenize(hf.text), hf.tokens);
      assert.deepEqual(asHf(cased.encode(hf.text)), expected(hf));
    });
  }
});

describe('do_lower_case=True: tokens and encodings equal Hugging Face', () => {
  const lower = new BertTokenizer(vocabulary, { doLowerCase: true });
  for (const hf of fixture.lowercase) {
    test(JSON.stringify(hf.text.slice(0, 40)), () => {
      assertNormalizedLikeHf(lower, hf);
      assert.deepEqual(lower.tokenize(hf.text), hf.tokens);
      assert.deepEqual(asHf(lower.encode(hf.text)), expected(hf));
    });
  }
});

test('encodeBatch pads like padding=True (right, [PAD], attention 0, special_tokens_mask 1)', () => {
  assert.deepEqual(batchAsHf(cased.encodeBatch(fixture.batch.texts)), expectedBatch);
  assert.deepEqual(cased.encodeBatch([]), []);
});

describe('checkpoint folders: tokenizer_config.json / special_tokens_map.json read like from_pretrained', () => {
  for (const hf of fixture.config_cases) {
    test(hf.name, async () => {
      const files: Record<string, string> = { 'vocab.txt': hf.vocab_text };
      for (const [name, content] of Object.entries(hf.files)) files[name] = JSON.stringify(content);
      const tokenizer = await BertTokenizer.fromFiles(reader(files), hf.name);
      assert.equal(tokenizer.doLowerCase, hf.do_lower_case);
      assert.deepEqual(
        {
          unk_token: tokenizer.specialTokens.unk,
          sep_token: tokenizer.specialTokens.sep,
          pad_token: tokenizer.specialTokens.pad,
          cls_token: tokenizer.specialTokens.cls,
          mask_token: tokenizer.specialTokens.mask,
        },
        hf.special_tokens,
      );
      assert.equal(tokenizer.modelMaxLength, hf.model_max_length ?? undefined);
      assert.equal(tokenizer.paddingSide, hf.padding_side);
      for (const probe of hf.probes) {
        assertNormalizedLikeHf(tokenizer, probe);
        assert.deepEqual(tokenizer.tokenize(probe.text), probe.tokens, probe.text);
        assert.deepEqual(asHf(tokenizer.encode(probe.text)), expected(probe), probe.text);
      }
      const { texts, ...batch } = hf.batch;
      assert.deepEqual(batchAsHf(tokenizer.encodeBatch(texts)), batch);
    });
  }
});

test('every Unicode code point is cleaned, split, accent-stripped and lower-cased as in tokenizers', () => {
  const u = fixture.unicode;
  const flat = (ranges: Ranges) => ranges.flat();
  const removed = flat(u.removed_by_clean_text);
  const toSpace = flat(u.whitespace_after_clean_text);
  const chinese = flat(u.chinese);
  const punctuation = flat(u.punctuation);
  const splitting = flat(u.pre_tokenizer_whitespace);
  const plain = { lowercase: false, stripAccents: false, handleChineseChars: false };
  const mismatches: string[] = [];
  const check = (ok: boolean, what: string, codePoint: number) => {
    if (!ok && mismatches.length < 20) mismatches.push(`${what} U+${codePoint.toString(16).toUpperCase()}`);
  };
  for (let codePoint = 0; codePoint < 0x110000; codePoint += 1) {
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) continue;
    const char = String.fromCodePoint(codePoint);
    const cleaned = normalizeBertText(char, plain);
    check((cleaned === '') === inRanges(removed, codePoint), 'clean_text removal', codePoint);
    check((cleaned === ' ') === inRanges(toSpace, codePoint), 'clean_text whitespace', codePoint);
    const spaced = normalizeBertText(char, { ...plain, handleChineseChars: true }) === ` ${char} `;
    check(spaced === inRanges(chinese, codePoint), 'chinese', codePoint);
    const words = preTokenizeBert(`a${char}b`).length;
    check((words === 3) === inRanges(punctuation, codePoint), 'punctuation', codePoint);
    check((words === 2) === inRanges(splitting, codePoint), 'pre-tokenizer whitespace', codePoint);
    if (cleaned !== char) continue; // the fixture measured accents and case without clean_text
    const hangulSkipped = codePoint >= 0xac00 && codePoint <= 0xd7a3 && codePoint % 97 !== 0;
    if (!hangulSkipped) {
      const stripped = normalizeBertText(char, { ...plain, stripAccents: true });
      check(stripped === (u.strip_accents[codePoint] ?? char), 'strip_accents', codePoint);
    }
    const lowered = normalizeBertText(char, { ...plain, lowercase: true });
    check(lowered === (u.lowercase[codePoint] ?? char), 'lowercase', codePoint);
  }
  assert.deepEqual(mismatches, []);
});

describe('Vocabulary', () => {
  test('ids are line indices; lookups both ways', () => {
    assert.equal(vocabulary.size, 30);
    assert.equal(vocabulary.id('[MASK]'), 4);
    assert.equal(vocabulary.id('E'), 9);
    assert.equal(vocabulary.token(29), 'O');
    assert.equal(vocabulary.id('J'), undefined);
    assert.equal(vocabulary.token(30), undefined);
    assert.equal(vocabulary.token(-1), undefined);
    assert.equal(vocabulary.token(1.5), undefined);
    assert.equal(vocabulary.has('X'), true);
  });

  const parsing: [name: string, text: string, tokens: string[]][] = [
    ['final newline ends the last line', 'A\nB\n', ['A', 'B']],
    ['no final newline', 'A\nB', ['A', 'B']],
    ['CRLF and trailing spaces/tabs are trimmed (Rust trim_end)', 'A \r\nB\t\r\n', ['A', 'B']],
    ['leading whitespace is kept', ' A\nB\n', [' A', 'B']],
    ['a blank line is the token ""', 'A\n\nB\n', ['A', '', 'B']],
    ['a lone newline is one empty line', '\n', ['']],
  ];
  for (const [name, text, tokens] of parsing) {
    test(name, () => assert.deepEqual(Vocabulary.fromText(text).tokens, tokens));
  }

  const broken: [name: string, text: string, message: RegExp][] = [
    ['empty file', '', /vocab\.txt holds no tokens/],
    ['duplicate token names both lines', 'A\nB\nA\n', /vocab\.txt line 3: token "A" already appears on line 1/],
    ['duplicate after trimming', 'A\nA \n', /line 2: token "A" already appears on line 1/],
    ['byte-order mark', '\uFEFF[PAD]\n', /byte-order mark/],
  ];
  for (const [name, text, message] of broken) {
    test(`refuses: ${name}`, () => {
      assert.throws(() => Vocabulary.fromText(text, 'vocab.txt'), (error: unknown) => {
        assert.ok(error instanceof CheckpointError);
        assert.equal(error.code, 'INVALID_CHECKPOINT');
        assert.match(error.message, message);
        return true;
      });
    });
  }
});

describe('BertTokenizer.fromFiles errors', () => {
  const vocabText = `${fixture.vocab.join('\n')}\n`;
  const cases: [name: string, files: Record<string, string>, type: typeof CheckpointError, message: RegExp][] = [
    ['missing vocab.txt', {}, CheckpointError, /ckpt\/vocab\.txt is missing.*copy it/],
    [
      'tokenizer_config.json is not JSON',
      { 'vocab.txt': vocabText, 'tokenizer_config.json': '{' },
      CheckpointError,
      /ckpt\/tokenizer_config\.json is not valid JSON/,
    ],
    [
      'special_tokens_map.json is not an object',
      { 'vocab.txt': vocabText, 'special_tokens_map.json': '[]' },
      CheckpointError,
      /special_tokens_map\.json must hold a JSON object/,
    ],
    [
      'special token not in the vocabulary',
      { 'vocab.txt': vocabText, 'tokenizer_config.json': '{"mask_token": "<mask>"}' },
      CheckpointError,
      /mask_token "<mask>" is not in ckpt\/vocab\.txt \(30 tokens\)/,
    ],
    [
      'additional special token not in the vocabulary',
      { 'vocab.txt': vocabText, 'tokenizer_config.json': '{"additional_special_tokens": ["[GAP]"]}' },
      CheckpointError,
      /special token "\[GAP\]" is not in ckpt\/vocab\.txt/,
    ],
    [
      'null special token',
      { 'vocab.txt': vocabText, 'tokenizer_config.json': '{"pad_token": null}' },
      CheckpointError,
      /pad_token is null/,
    ],
    [
      'do_lower_case not a boolean',
      { 'vocab.txt': vocabText, 'tokenizer_config.json': '{"do_lower_case": "no"}' },
      CheckpointError,
      /"do_lower_case" must be true or false/,
    ],
    [
      'another tokenizer class',
      { 'vocab.txt': vocabText, 'tokenizer_config.json': '{"tokenizer_class": "T5Tokenizer"}' },
      UnsupportedError,
      /tokenizer_class is "T5Tokenizer"/,
    ],
    [
      'special token with lstrip',
      {
        'vocab.txt': vocabText,
        'tokenizer_config.json': '{"mask_token": {"content": "[MASK]", "lstrip": true, "rstrip": false}}',
      },
      UnsupportedError,
      /mask_token \("\[MASK\]"\) sets "lstrip": true/,
    ],
    [
      'non-special added token',
      {
        'vocab.txt': vocabText,
        'tokenizer_config.json': '{"added_tokens_decoder": {"9": {"content": "E", "special": false}}}',
      },
      UnsupportedError,
      /added_tokens_decoder\["9"\] \("E"\) is a non-special added token/,
    ],
  ];
  for (const [name, files, type, message] of cases) {
    test(name, async () => {
      await assert.rejects(BertTokenizer.fromFiles(reader(files), 'ckpt'), (error: unknown) => {
        assert.ok(error instanceof type, String(error));
        assert.match((error as Error).message, message);
        return true;
      });
    });
  }

  test('object-form special tokens and do_lower_case true/false from tokenizer_config.json', async () => {
    const objectForm = JSON.stringify({
      do_lower_case: false,
      sep_token: { __type: 'AddedToken', content: '[SEP]', lstrip: false, rstrip: false, normalized: false },
    });
    const caseSensitive = await BertTokenizer.fromFiles(
      reader({ 'vocab.txt': vocabText, 'tokenizer_config.json': objectForm }),
    );
    assert.equal(caseSensitive.doLowerCase, false);
    assert.equal(caseSensitive.specialIds.sep, 3);
    assert.deepEqual(caseSensitive.tokenize('E[SEP]V'), ['E', '[SEP]', 'V']);
    const lowering = await BertTokenizer.fromFiles(
      reader({ 'vocab.txt': vocabText, 'tokenizer_config.json': '{"do_lower_case": true}' }),
    );
    assert.equal(lowering.doLowerCase, true);
    assert.deepEqual(lowering.tokenize('E[SEP]V'), ['[UNK]', '[SEP]', '[UNK]']);
    // No tokenizer_config.json at all: BertTokenizer's default do_lower_case=True, which turns residues into [UNK].
    const bare = await BertTokenizer.fromFiles(reader({ 'vocab.txt': vocabText }));
    assert.equal(bare.doLowerCase, true);
    assert.deepEqual(bare.specialIds, { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 });
  });
});
