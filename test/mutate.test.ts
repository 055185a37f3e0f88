/**
 * Mutation effects and scans against Hugging Face (scripts/reference/scores.py): masked-marginal and wt-marginal
 * sums of log p(mutant) - log p(wild type), and per-position scan log-probs, within 1e-4; parsing and error paths.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { AMINO_ACIDS, IgBert, InputError, type IgBertModel, parseMutationSets, parseRegions, UsageError } from '../src/index.js';
import { ENGINES_UNDER_TEST } from './support/engines.js';
import { assertAbsClose, CHECKPOINTS, SCORE_CHECKPOINTS, scoresReference } from './helpers.js';

const byId = (name: string) => new Map(scoresReference(name).records.map((r) => [r.id, r]));

for (const name of SCORE_CHECKPOINTS) for (const { label, load } of ENGINES_UNDER_TEST) {
  describe(`mutate and scan against transformers: ${name}, ${label}`, () => {
    const reference = scoresReference(name);
    const records = byId(name);
    let model: IgBertModel;
    before(async () => {
      model = await load(join(CHECKPOINTS, name));
    });
    after(async () => model.dispose());

    for (const [method, key] of [['masked-marginal', 'masked_marginal'], ['wt-marginal', 'wt_marginal']] as const) {
      test(`${method} scores of every mutation set, all records in one call`, async () => {
        const input = reference.mutations.map((m) => ({ ...records.get(m.id)!, mutations: m.mutations }));
        const results = await model.mutate(input, { method });
        assert.equal(results.length, reference.mutations.length);
        results.forEach((result, i) => {
          const ref = reference.mutations[i]!;
          assert.equal(result.id, ref.id);
          assert.equal(result.mutations, ref.mutations);
          assertAbsClose([result.score], [ref[key]], `${ref.id} ${ref.mutations} ${method}`);
          assert.ok(Math.abs(result.score - result.siteScores.reduce((a, b) => a + b, 0)) < 1e-12);
        });
      });
    }

    test('several sets per record (";") give one result each, in order', async () => {
      const pair = records.get('pair-1')!;
      const sets = reference.mutations.filter((m) => m.id === 'pair-1');
      const results = await model.mutate([pair], { mutations: sets.map((m) => m.mutations).join(';') });
      assert.deepEqual(results.map((r) => r.mutations), sets.map((m) => m.mutations));
      assertAbsClose(results.map((r) => r.score), sets.map((m) => m.masked_marginal), 'pair-1 sets');
    });

    for (const method of ['masked-marginal', 'wt-marginal'] as const) {
      test(`scan (${method}): log-probs of the 20 amino acids at every scanned position; wild type scores 0`, async () => {
        const scans = reference.scans.map((s) => ({ id: s.id, heavy: s.heavy, light: s.light }));
        for (const [i, ref] of reference.scans.entries()) {
          const [result] = await model.scan([scans[i]!], { regions: ref.region, method });
          assert.equal(result!.positions.length, ref.positions.length);
          result!.positions.forEach((position, p) => {
            const expected = ref.positions[p]!;
            assert.deepEqual([position.chain[0]!.toUpperCase(), position.position, position.wildType], [expected.chain, expected.position, expected.wt]);
            const wt = AMINO_ACIDS.indexOf(position.wildType);
            if (wt >= 0) assert.equal(position.scores[wt], 0, 'wild type scores exactly 0');
            if (method === 'masked-marginal') {
              assertAbsClose(position.logProbs, expected.log_probs, `${ref.id} ${expected.chain}${expected.position}`);
              assertAbsClose(position.scores, expected.scores, `${ref.id} ${expected.chain}${expected.position} scores`);
            }
          });
        }
      });
    }

    test('scan wt-marginal equals the unmasked marginals of score', async () => {
      const record = records.get('pair-2')!;
      const [scanned] = await model.scan([record], { method: 'wt-marginal' });
      const terms = record.wt_marginal_terms;
      scanned!.positions.forEach((position, i) => {
        const wt = AMINO_ACIDS.indexOf(position.wildType);
        assertAbsClose([position.logProbs[wt]!], [terms[i]!], `pair-2 residue ${i}`);
      });
    });
  });
}

describe('mutation strings and scan regions', () => {
  test('parse: chains, several sets, spaces, lower case', () => {
    assert.deepEqual(parseMutationSets('H:S30A, l:y49f ; H:S30G'), [
      [
        { chain: 'H', position: 30, wildType: 'S', mutant: 'A' },
        { chain: 'L', position: 49, wildType: 'Y', mutant: 'F' },
      ],
      [{ chain: 'H', position: 30, wildType: 'S', mutant: 'G' }],
    ]);
  });

  const bad: [string, RegExp][] = [
    ['', /no mutations/],
    [';', /no mutations/],
    ['S30A', /"S30A" is not a mutation.*H:S30A/],
    ['K:S30A', /"K:S30A" is not a mutation/],
    ['H:S30', /"H:S30" is not a mutation/],
    ['H:30A', /"H:30A" is not a mutation/],
    ['H:SA30', /not a mutation/],
  ];
  for (const [text, message] of bad) {
    test(`parse error: ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseMutationSets(text, { record: 4, id: 'ab' }), (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, /^record 4 \(id "ab"\): /);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  test('regions: chains, single positions, ranges; bad ones are UsageErrors', () => {
    assert.deepEqual(parseRegions('H:95-102, L:50,H'), [
      { chain: 'H', start: 95, end: 102 },
      { chain: 'L', start: 50, end: 50 },
      { chain: 'H', start: 1 },
    ]);
    for (const text of ['', 'X:1-2', 'H:0-3', 'H:5-3', 'H:1-', 'H95']) {
      assert.throws(() => parseRegions(text, '--region'), (e: unknown) => e instanceof UsageError && /--region/.test(e.message), text);
    }
  });
});

describe('mutate and scan: errors against the sequence', () => {
  let model: IgBert;
  before(async () => {
    model = await IgBert.load(join(CHECKPOINTS, 'mlm-h64'));
  });
  after(async () => model.dispose());
  const record = { id: 'ab1', heavy: 'EVQLVESGG', light: 'DIQMT' };

  const cases: [string, string, RegExp, object][] = [
    ['wild type mismatch', 'H:S3A', /heavy chain, position 3: H:S3A says the wild type is S, but the sequence has Q/, { chain: 'H', position: 3, character: 'Q' }],
    ['position past the end', 'L:T9A', /light chain, position 9 is out of range: the light chain has 5 residues/, { chain: 'L', position: 9 }],
    ['position 0', 'H:E0A', /position 0 is out of range/, { chain: 'H', position: 0 }],
    ['mutant not a residue', 'H:E1J', /mutant "J" is not a residue/, { chain: 'H', position: 1 }],
    ['stop codon', 'H:E1*', /mutant "\*" is not a residue/, { chain: 'H', position: 1 }],
    ['same site twice', 'H:E1A,H:E1G', /lists this position twice/, { chain: 'H', position: 1 }],
  ];
  for (const [label, mutations, message, location] of cases) {
    test(`${label} → InputError naming record, chain and position`, async () => {
      await assert.rejects(model.mutate([{ ...record, mutations }]), (error: unknown) => {
        assert.ok(error instanceof InputError, String(error));
        assert.match(error.message, /^record 1 \(id "ab1"\)/);
        assert.match(error.message, message);
        assert.deepEqual(error.location, { record: 1, id: 'ab1', ...location });
        return true;
      });
    });
  }

  test('a chain the record lacks', async () => {
    await assert.rejects(model.mutate([{ id: 'h', heavy: 'EVQL', mutations: 'L:D1E' }]), /has no light chain/);
  });

  test('no mutations anywhere', async () => {
    await assert.rejects(model.mutate([record]), /has no mutations/);
  });

  test('scan region out of range; masked residues refused', async () => {
    await assert.rejects(model.scan([record], { regions: 'L:4-8' }), /light chain, position 8 is out of range/);
    await assert.rejects(model.scan([{ heavy: 'EV*L' }]), /'\*' \(a masked residue\) cannot be scanned/);
  });

  test('scan without regions covers every residue, heavy then light', async () => {
    const [result] = await model.scan([record]);
    assert.equal(result!.positions.map((p) => p.wildType).join(''), record.heavy + record.light);
    assert.deepEqual(result!.positions.slice(8, 10).map((p) => [p.chain, p.position]), [['H', 9], ['L', 1]]);
  });
});
