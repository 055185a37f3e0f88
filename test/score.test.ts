/**
 * Likelihoods against Hugging Face (scripts/reference/scores.py): exact pseudo-log-likelihood terms (one masked copy
 * per residue) and wild-type marginal terms, each within 1e-4 (natural log) of transformers in fp32.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { IgBert, InputError, type IgBertModel } from '../src/index.js';
import { ENGINES_UNDER_TEST } from './support/engines.js';
import { assertAbsClose, CHECKPOINTS, SCORE_CHECKPOINTS, scoresReference } from './helpers.js';

for (const name of SCORE_CHECKPOINTS) for (const { label, load } of ENGINES_UNDER_TEST) {
  describe(`score against transformers: ${name}, ${label}`, () => {
    const reference = scoresReference(name);
    const records = reference.records.map(({ id, heavy, light }) => ({ id, heavy, light }));
    let model: IgBertModel;
    before(async () => {
      model = await load(join(CHECKPOINTS, name));
    });
    after(async () => model.dispose());

    for (const [method, key] of [['pll', 'pll_terms'], ['wt-marginal', 'wt_marginal_terms']] as const) {
      test(`${method}: every per-residue term, and the sums, means and perplexity built from them`, async () => {
        const results = await model.score(records, { method, perResidue: true });
        results.forEach((result, i) => {
          const ref = reference.records[i]!;
          const terms = ref[key];
          assert.equal(result.id, ref.id);
          assert.equal(result.method, method);
          assertAbsClose(result.perResidue!, terms, `${ref.id} ${method}`);
          const sum = terms.reduce((a, b) => a + b, 0);
          assert.ok(Math.abs(result.logLikelihood - sum) <= 1e-4 * terms.length, `${ref.id} log-likelihood ${result.logLikelihood} vs ${sum}`);
          assert.ok(Math.abs(result.meanLogLikelihood - sum / terms.length) <= 1e-4);
          assert.ok(Math.abs(result.perplexity - Math.exp(-result.meanLogLikelihood)) <= 1e-9);
          const heavySum = terms.slice(0, ref.heavy.length).reduce((a, b) => a + b, 0);
          assert.equal(result.heavyLogLikelihood === null, ref.heavy === '');
          assert.equal(result.lightLogLikelihood === null, ref.light === '');
          if (ref.heavy) assert.ok(Math.abs(result.heavyLogLikelihood! - heavySum) <= 1e-4 * ref.heavy.length);
          if (ref.light) assert.ok(Math.abs(result.lightLogLikelihood! - (sum - heavySum)) <= 1e-4 * terms.length);
          assert.deepEqual(
            result.residues!.map((r) => r.residue).join(''),
            ref.heavy + ref.light,
            'residues listed heavy then light, separator excluded',
          );
        });
      });
    }
  });
}

describe('score: batching and errors', () => {
  let model: IgBert;
  before(async () => {
    model = await IgBert.load(join(CHECKPOINTS, 'mlm-h64'));
  });
  after(async () => model.dispose());
  const records = scoresReference('mlm-h64').records.map(({ id, heavy, light }) => ({ id, heavy, light }));

  test('batch composition does not change the terms (tiny batches vs one large batch)', async () => {
    const big = await model.score(records, { perResidue: true });
    const small = await IgBert.load(join(CHECKPOINTS, 'mlm-h64'), { batching: { maxBatchTokens: 16, maxBatchSize: 2 } });
    try {
      const results = await small.score(records, { perResidue: true });
      results.forEach((r, i) => assertAbsClose(r.perResidue!, big[i]!.perResidue!, `${r.id} small batches`, 1e-5));
    } finally {
      await small.dispose();
    }
  });

  test('without perResidue the result has only the scalars', async () => {
    const [result] = await model.score([records[0]!]);
    assert.deepEqual(Object.keys(result!), ['id', 'method', 'logLikelihood', 'meanLogLikelihood', 'perplexity', 'heavyLogLikelihood', 'lightLogLikelihood']);
  });

  test('the names of 0.1 (pll, pllMean, heavyPll, lightPll) still read, as deprecated getters outside Object.keys and JSON', async () => {
    const [paired, lightOnly] = await model.score([records[0]!, { id: 'l', light: 'DIQMTQ' }], { method: 'wt-marginal' });
    for (const result of [paired!, lightOnly!]) {
      assert.equal(result.pll, result.logLikelihood);
      assert.equal(result.pllMean, result.meanLogLikelihood);
      assert.equal(result.heavyPll, result.heavyLogLikelihood);
      assert.equal(result.lightPll, result.lightLogLikelihood);
      assert.ok(!Object.keys(result).some((key) => /pll/i.test(key)));
      assert.ok(!/pll/i.test(JSON.stringify(result)));
    }
    assert.equal(lightOnly!.heavyPll, null);
  });

  test('a masked residue cannot be scored: InputError naming record, chain and position', async () => {
    await assert.rejects(model.score([{ id: 'm', heavy: 'EVQ*L', light: 'DIQ' }]), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.deepEqual(error.location, { record: 1, id: 'm', chain: 'H', position: 4, character: '*' });
      assert.match(error.message, /record 1 \(id "m"\), heavy chain, position 4.*igbert fill/);
      return true;
    });
  });

  test('an unknown method is a UsageError', async () => {
    await assert.rejects(model.score(records, { method: 'bogus' as 'pll' }), /score method must be one of pll, wt-marginal/);
  });
});
