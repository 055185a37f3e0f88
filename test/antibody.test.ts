/**
 * Antibody records -> tokens: equal to Hugging Face on the model-card text (test/fixtures/reference/tokenizer.json,
 * "antibodies"), and every InputError path with the location it reports.
 */
import { packBatch } from '../src/batches/packedBatch.js';
import { padBatch } from '../src/runtime/ort/ortEngine.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';

import { InputError } from '../src/errors.js';
import {
  BertTokenizer,
  IGBERT_RESIDUES,
  Vocabulary,
  encodeAntibody,
  modelCardText,
  normalizeChain,
  residueAlphabet,
  type AntibodyRecord,
} from '../src/tokenizer/index.js';

interface HfAntibody {
  heavy: string;
  light: string;
  text: string;
  input_ids: number[];
  special_tokens_mask: number[];
  token_type_ids: number[];
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/reference/tokenizer.json', import.meta.url), 'utf8'),
) as { vocab: string[]; antibodies: HfAntibody[] };
const tokenizer = new BertTokenizer(new Vocabulary(fixture.vocab), { doLowerCase: false });
const LIMIT = 40000; // IgBert's max_position_embeddings

describe('encodeAntibody equals Hugging Face on the model-card text', () => {
  for (const hf of fixture.antibodies) {
    test(`${hf.heavy || '-'} / ${hf.light || '-'}`, () => {
      const encoded = encodeAntibody({ heavy: hf.heavy, light: hf.light }, 1, tokenizer, LIMIT);
      assert.equal(modelCardText(hf.heavy, hf.light), hf.text);
      assert.deepEqual([...encoded.inputIds], hf.input_ids);
      assert.deepEqual([...encoded.specialTokensMask], hf.special_tokens_mask);
      assert.deepEqual([...encoded.tokenTypeIds], hf.token_type_ids);
      const viaText = tokenizer.encode(modelCardText(encoded.heavy, encoded.light));
      assert.deepEqual([...encoded.inputIds], viaText.inputIds);
      assert.deepEqual([...encoded.specialTokensMask], viaText.specialTokensMask);

      const heavyStart = hf.heavy ? 1 : -1;
      const lightStart = hf.light ? (hf.heavy ? hf.heavy.length + 2 : 1) : -1;
      assert.equal(encoded.heavyStart, heavyStart);
      assert.equal(encoded.lightStart, lightStart);
      const masked = [...hf.heavy].flatMap((c, i) => (c === '*' ? [heavyStart + i] : []));
      masked.push(...[...hf.light].flatMap((c, i) => (c === '*' ? [lightStart + i] : [])));
      assert.deepEqual(encoded.maskedTokenPositions, masked);
      for (const position of masked) assert.equal(encoded.inputIds[position], tokenizer.specialIds.mask);
    });
  }
});

describe('checkpoint folders saved by transformers: fromFiles + encodeAntibody equal their reference records', () => {
  for (const name of ['mlm-h64', 'model-pooler', 'mlm-legacy']) {
    test(name, async () => {
      const folder = new URL(`./fixtures/checkpoints/${name}/`, import.meta.url);
      const readText = async (file: string): Promise<string | undefined> => {
        try {
          return await readFile(new URL(file, folder), 'utf8');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw error;
        }
      };
      const fromFolder = await BertTokenizer.fromFiles(readText, name);
      assert.equal(fromFolder.doLowerCase, false);
      const reference = JSON.parse(
        readFileSync(new URL(`./fixtures/reference/${name}.json`, import.meta.url), 'utf8'),
      ) as { records: (HfAntibody & { id: string })[] };
      reference.records.forEach((hf, index) => {
        const encoded = encodeAntibody(hf, index + 1, fromFolder, LIMIT);
        assert.equal(encoded.id, hf.id);
        assert.deepEqual([...encoded.inputIds], hf.input_ids, hf.id);
        assert.deepEqual([...encoded.specialTokensMask], hf.special_tokens_mask, hf.id);
      });
    });
  }
});

test('paired: only [CLS] and the final [SEP] are special; the middle [SEP] has mask 0 like Hugging Face', () => {
  const encoded = encodeAntibody({ id: 'p', heavy: 'EV', light: 'DI' }, 1, tokenizer, LIMIT);
  assert.deepEqual([...encoded.inputIds], [2, 9, 8, 3, 14, 11, 3]);
  assert.deepEqual([...encoded.specialTokensMask], [1, 0, 0, 0, 0, 0, 1]);
  assert.equal(encoded.id, 'p');
});

test('whitespace is removed and letters upper-cased before encoding', () => {
  const messy = encodeAntibody({ heavy: ' e v\tq\nl ', light: 'd i\r\nq\u00a0m' }, 1, tokenizer, LIMIT);
  const clean = encodeAntibody({ heavy: 'EVQL', light: 'DIQM' }, 1, tokenizer, LIMIT);
  assert.deepEqual(messy, clean);
  assert.equal(messy.heavy, 'EVQL');
  assert.equal(messy.light, 'DIQM');
});

test('a record without id gets its record number as id; null and absent chains mean "no chain"', () => {
  const a = encodeAntibody({ heavy: 'EV', light: null }, 7, tokenizer, LIMIT);
  assert.equal(a.id, '7');
  assert.deepEqual(a, encodeAntibody({ heavy: 'EV' }, 7, tokenizer, LIMIT));
  assert.deepEqual(a, encodeAntibody({ id: '', heavy: 'EV', light: '  ' }, 7, tokenizer, LIMIT));
  assert.equal(a.lightStart, -1);
});

test('the limit is inclusive: exactly max positions tokens is accepted', () => {
  const encoded = encodeAntibody({ heavy: 'A'.repeat(5), light: 'A'.repeat(5) }, 1, tokenizer, 13);
  assert.equal(encoded.inputIds.length, 13);
});

test('residueAlphabet reads the residue letters from the vocabulary', () => {
  assert.deepEqual([...residueAlphabet(tokenizer.vocabulary)].sort(), [...IGBERT_RESIDUES].sort());
  assert.equal(IGBERT_RESIDUES.has('J'), false);
});

describe('InputError paths', () => {
  interface ErrorCase {
    name: string;
    record: AntibodyRecord;
    limit?: number;
    code?: 'INVALID_INPUT' | 'SEQUENCE_TOO_LONG';
    location: Record<string, unknown>;
    message: RegExp[];
  }
  const cases: ErrorCase[] = [
    {
      name: 'gap "-" in the heavy chain, with its position',
      record: { id: 'ab1', heavy: 'EVQ-LV', light: 'DIQ' },
      location: { record: 3, id: 'ab1', chain: 'H', position: 4, character: '-' },
      message: [/^record 3 \(id "ab1"\), heavy chain, position 4: character "-" is not allowed/, /gaps are not residues/],
    },
    {
      name: 'gap "." in the light chain',
      record: { heavy: 'EV', light: 'D.I' },
      location: { record: 3, chain: 'L', position: 2, character: '.' },
      message: [/^record 3, light chain, position 2: character "\."/, /aligned sequences/],
    },
    {
      name: 'position counts residues after whitespace removal',
      record: { heavy: 'E V Q 1' },
      location: { record: 3, chain: 'H', position: 4, character: '1' },
      message: [/position 4: character "1"/, /only amino-acid letters \(ABCDEFGHIKLMNOPQRSTUVWXYZ, either case\)/],
    },
    {
      name: 'digit',
      record: { id: 'x', light: '7' },
      location: { record: 3, id: 'x', chain: 'L', position: 1, character: '7' },
      message: [/character "7"/, /only amino-acid letters/],
    },
    {
      name: 'letter that is not a residue token (J), even in lower case',
      record: { heavy: 'EVj' },
      location: { record: 3, chain: 'H', position: 3, character: 'j' },
      message: [/character "j"/, /"J" is not a residue in the model's vocabulary/, /write X/],
    },
    {
      name: 'non-ASCII letter',
      record: { heavy: 'EÉ' },
      location: { record: 3, chain: 'H', position: 2, character: 'É' },
      message: [/character "É"/, /only amino-acid letters/],
    },
    {
      name: 'special token written in the chain',
      record: { heavy: 'E[MASK]V' },
      location: { record: 3, chain: 'H', position: 2, character: '[' },
      message: [/character "\["/, /\* for a masked residue/],
    },
    {
      name: 'control character shown escaped',
      record: { heavy: 'E\u0000V' },
      location: { record: 3, chain: 'H', position: 2, character: '\u0000' },
      message: [/character "\\u0000"/],
    },
    {
      name: 'both chains absent',
      record: { id: 'empty' },
      location: { record: 3, id: 'empty' },
      message: [/^record 3 \(id "empty"\) has neither a heavy nor a light chain/],
    },
    {
      name: 'both chains empty or blank',
      record: { heavy: '', light: ' \t ' },
      location: { record: 3 },
      message: [/^record 3 has neither a heavy nor a light chain/],
    },
    {
      name: 'chain that is not text',
      record: { heavy: 42 as unknown as string },
      location: { record: 3, chain: 'H' },
      message: [/heavy chain: the chain must be text, found 42/],
    },
    {
      name: 'too long: length, limit, never truncates',
      record: { id: 'long', heavy: 'A'.repeat(6), light: 'A'.repeat(5) },
      limit: 13,
      code: 'SEQUENCE_TOO_LONG',
      location: { record: 3, id: 'long' },
      message: [/^record 3 \(id "long"\): 14 tokens \(6 heavy \+ 5 light residues \+ 3 special tokens\)/, /limit of 13/, /never truncates/],
    },
    {
      name: 'too long, single chain',
      record: { light: 'A'.repeat(12) },
      limit: 13,
      code: 'SEQUENCE_TOO_LONG',
      location: { record: 3 },
      message: [/14 tokens \(0 heavy \+ 12 light residues \+ 2 special tokens\)/],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(() => encodeAntibody(c.record, 3, tokenizer, c.limit ?? LIMIT), (error: unknown) => {
        assert.ok(error instanceof InputError, String(error));
        assert.equal(error.code, c.code ?? 'INVALID_INPUT');
        assert.deepEqual(error.location, c.location);
        assert.deepEqual(error.details, c.location);
        for (const pattern of c.message) assert.match(error.message, pattern);
        return true;
      });
    });
  }

  test('normalizeChain on its own (IgBert residues by default)', () => {
    assert.equal(normalizeChain(' ev q*l ', 'heavy', { record: 1 }), 'EVQ*L');
    assert.throws(
      () => normalizeChain('EV-', 'light', { record: 2, id: 'z' }),
      (error: unknown) =>
        error instanceof InputError &&
        error.location.position === 3 &&
        error.location.chain === 'L' &&
        error.location.id === 'z',
    );
  });
});

test('the ONNX engine pads a packed batch as padding=True does (right, [PAD], attention 0)', () => {
  const a = encodeAntibody({ heavy: 'EV', light: 'D' }, 1, tokenizer, LIMIT);
  const b = encodeAntibody({ heavy: 'W' }, 2, tokenizer, LIMIT);
  const packed = packBatch([a, b].map((tokens) => ({ tokens, request: {} })), { layer: 0 });
  assert.deepEqual([...packed.lengths], [6, 3]);
  assert.deepEqual([...packed.offsets], [0, 6, 9]);
  const { inputs, sequenceLength } = padBatch(packed, tokenizer.specialIds.pad);
  assert.equal(sequenceLength, 6);
  assert.deepEqual(inputs['input_ids']?.dims, [2, 6]);
  assert.deepEqual([...(inputs['input_ids']?.data ?? [])], [2, 9, 8, 3, 14, 3, 2, 24, 3, 0, 0, 0]);
  assert.deepEqual([...(inputs['attention_mask']?.data ?? [])], [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
  assert.deepEqual([...(inputs['token_type_ids']?.data ?? [])], new Array(12).fill(0));
  const hfBatch = tokenizer.encodeBatch([modelCardText('EV', 'D'), modelCardText('W', '')]);
  assert.deepEqual([...(inputs['input_ids']?.data ?? [])], hfBatch.flatMap((e) => e.inputIds));
  assert.deepEqual([...(inputs['attention_mask']?.data ?? [])], hfBatch.flatMap((e) => e.attentionMask));
  const empty = padBatch(packBatch([], { layer: 0 }), 0);
  assert.equal(empty.sequenceLength, 0);
});
