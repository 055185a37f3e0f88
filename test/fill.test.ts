/**
 * Infilling against Hugging Face (scripts/reference/scores.py): first-pass log-probs at every mask (full vocabulary,
 * within 1e-4) and greedy designs in parallel and most-confident-first order; properties of sampling; error paths.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { IgBert, InputError, type IgBertModel, UsageError, type FillResult } from '../src/index.js';
import { ENGINES_UNDER_TEST } from './support/engines.js';
import { assertAbsClose, CHECKPOINTS, SCORE_CHECKPOINTS, scoresReference } from './helpers.js';

const STANDARD = 'ACDEFGHIKLMNPQRSTVWY';

for (const name of SCORE_CHECKPOINTS) for (const { label, load } of ENGINES_UNDER_TEST) {
  describe(`fill against transformers: ${name}, ${label}`, () => {
    const reference = scoresReference(name);
    const records = reference.fills.map(({ id, heavy, light }) => ({ id, heavy, light }));
    let model: IgBertModel;
    before(async () => {
      model = await load(join(CHECKPOINTS, name));
    });
    after(async () => model.dispose());

    test('first-pass candidates: every mask, full-vocabulary log-probs of the 20 amino acids, best first', async () => {
      const results = await model.fill(records);
      results.forEach((result, i) => {
        const ref = reference.fills[i]!;
        assert.equal(result.positions.length, ref.positions.length, `${ref.id}: every mask is filled`);
        result.positions.forEach((position, p) => {
          const expected = ref.positions[p]!;
          assert.deepEqual([position.chain[0]!.toUpperCase(), position.position], [expected.chain, expected.position]);
          assert.equal(position.candidates.length, 20);
          const logprobs = position.candidates.map((c) => c.logprob);
          assert.deepEqual(logprobs, [...logprobs].sort((a, b) => b - a), 'best first');
          assertAbsClose(
            logprobs,
            position.candidates.map((c) => expected.log_probs[reference.vocab.indexOf(c.residue)]!),
            `${ref.id} ${expected.chain}${expected.position}`,
          );
          assert.ok(position.candidates.every((c) => STANDARD.includes(c.residue)));
        });
      });
    });

    for (const order of ['parallel', 'confidence'] as const) {
      test(`greedy ${order}: the designs transformers makes`, async () => {
        const results = await model.fill(records, { order });
        results.forEach((result, i) => {
          const expected = reference.fills[i]![order === 'parallel' ? 'greedy_parallel' : 'greedy_confidence'];
          assert.equal(result.designs.length, 1);
          const [design] = result.designs;
          assert.deepEqual([design!.heavy, design!.light], [expected.heavy, expected.light], result.id);
          assertAbsClose([design!.logprob], [expected.logprob], `${result.id} logprob`);
        });
      });
    }
  });
}

describe('fill: properties and errors', () => {
  let model: IgBert;
  before(async () => {
    model = await IgBert.load(join(CHECKPOINTS, 'mlm-h64'));
  });
  after(async () => model.dispose());
  const records = [
    { id: 'a', heavy: 'EVQ**VESGG*LVQ', light: 'D*QMT' },
    { id: 'b', heavy: 'QVQLQQSGAELARPGASVKMS', light: '' },
  ];

  const unchangedOutsideMasks = (input: string, output: string): void => {
    assert.equal(output.length, input.length);
    for (let i = 0; i < input.length; i++) if (input[i] !== '*') assert.equal(output[i], input[i]);
    assert.ok(!output.includes('*'));
  };

  for (const order of ['parallel', 'confidence'] as const) {
    test(`sample (${order}): never changes unmasked residues; same seed, same designs; another seed differs`, async () => {
      const options = { strategy: 'sample', order, num: 6, temperature: 2, mask: 'H:10-12' } as const;
      const first = await model.fill(records, { ...options, seed: 7 });
      const again = await model.fill(records, { ...options, seed: 7 });
      const other = await model.fill(records, { ...options, seed: 8 });
      assert.deepEqual(again, first);
      assert.notDeepEqual(other.map((r) => r.designs), first.map((r) => r.designs));
      const masked = [
        { heavy: 'EVQ**VESG***VQ', light: 'D*QMT' },
        { heavy: 'QVQLQQSGA***RPGASVKMS', light: '' },
      ];
      first.forEach((result: FillResult, i) => {
        assert.equal(result.designs.length, 6);
        const logprobs = result.designs.map((d) => d.logprob);
        assert.deepEqual(logprobs, [...logprobs].sort((a, b) => b - a), 'designs best first');
        for (const design of result.designs) {
          assert.equal(design.light === null, masked[i]!.light === '', 'a chain the record lacks is null');
          unchangedOutsideMasks(masked[i]!.heavy, design.heavy ?? '');
          unchangedOutsideMasks(masked[i]!.light, design.light ?? '');
          assert.ok([...(design.heavy ?? ''), ...(design.light ?? '')].every((r) => STANDARD.includes(r)));
        }
      });
    });
  }

  test('the designs of a record do not depend on the other records in the call', async () => {
    const options = { strategy: 'sample', order: 'confidence', num: 3, seed: 1 } as const;
    const alone = await model.fill([records[0]!], options);
    const withOthers = await model.fill([{ id: 'c', heavy: 'EV*L**' }, records[0]!], options);
    assert.deepEqual(withOthers[1], alone[0]);
  });

  test('top-k 1 sampling equals greedy; candidates limits the list', async () => {
    const greedy = await model.fill(records.slice(0, 1), { candidates: 3 });
    const topOne = await model.fill(records.slice(0, 1), { strategy: 'sample', topK: 1, seed: 3 });
    assert.deepEqual(topOne[0]!.designs, greedy[0]!.designs);
    assert.ok(greedy[0]!.positions.every((p) => p.candidates.length === 3));
  });

  test('allowNonStandard adds X B Z U O to the candidates', async () => {
    const [result] = await model.fill([{ heavy: 'EV*L' }], { allowNonStandard: true });
    assert.deepEqual(result!.positions[0]!.candidates.map((c) => c.residue).sort().join(''), [...STANDARD, ...'XBZUO'].sort().join(''));
  });

  test('no masks to fill → InputError naming the record', async () => {
    await assert.rejects(model.fill([{ id: 'full', heavy: 'EVQL', light: 'DIQ' }]), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /record 1 \(id "full"\) has no residues to fill/);
      return true;
    });
  });

  test('mask region out of range → InputError', async () => {
    await assert.rejects(model.fill([{ heavy: 'EVQL' }], { mask: 'H:3-9' }), /heavy chain, position 9 is out of range/);
  });

  const usage: [object, RegExp][] = [
    [{ num: 2 }, /greedy filling gives one design/],
    [{ temperature: 0.5 }, /apply to strategy "sample" only/],
    [{ strategy: 'sample', temperature: 0 }, /temperature must be a positive number/],
    [{ strategy: 'sample', topK: -1 }, /top-k must be a non-negative integer/],
    [{ strategy: 'beam' }, /strategy must be one of greedy, sample/],
    [{ mask: 'H:9-3' }, /must not run backwards/],
  ];
  for (const [options, message] of usage) {
    test(`usage error: ${JSON.stringify(options)}`, async () => {
      await assert.rejects(model.fill(records, options), (error: unknown) => error instanceof UsageError && message.test(error.message));
    });
  }
});
