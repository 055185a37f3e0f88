/**
 * The probe library: metrics and folds against scipy/sklearn values, the pooler head's gradient and determinism,
 * label hygiene, and fit → head → predict on the tiny checkpoints, with the embedding cache.
 * (Ridge/logistic numbers against scikit-learn are in probe-sklearn.test.ts; the CLI in probe-cli.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InputError, UsageError } from '../src/errors.js';
import { loadModel, type IgBert } from '../src/node/loadModel.js';
import { EmbeddingCache } from '../src/probe/cache.js';
import { readCheckpointPooler } from '../src/probe/features.js';
import { assignFolds, foldMembers, kFoldTestSets, stratifiedKFoldTestSets } from '../src/probe/folds.js';
import { headDecisions, parseHead, serializeHead } from '../src/probe/head.js';
import { fromFloat32, matrix } from '../src/probe/linalg.js';
import { r2Score, rocAuc, spearman } from '../src/probe/metrics.js';
import { poolerHeadDecisions, poolerHeadLoss, trainPoolerHead } from '../src/probe/poolerHead.js';
import { fitProbe, predictProbe, tableFeatures } from '../src/probe/probe.js';
import { extractTargets, readProbeTable } from '../src/probe/table.js';
import { SeededRandom } from '../src/init/random.js';
import { assertClose, CHECKPOINTS, FIXTURES } from './helpers.js';

const TABLE = join(FIXTURES, 'probe', 'antibodies.csv');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'igbert-probe-'));

describe('metrics and folds (values from scipy / scikit-learn)', () => {
  test('Spearman with ties, ROC AUC with tied scores, R²', () => {
    assertClose([spearman([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], [2, 7, 1, 8, 2, 8, 1, 8, 2, 8])], [0.13471506281091267], 'spearman', 1e-12);
    const labels = [1, 0, 0, 1, 1, 0, 1, 1, 0, 1];
    assert.equal(rocAuc(labels, [0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.9, 0.1, 0.2, 0.7]), 0.625);
    assertClose([r2Score([1, 2, 3, 4.5], [1.1, 2.2, 2.7, 4])], [0.9416822429906542], 'r2', 1e-12);
    assert.ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
  });

  test('inner splitters mirror KFold and StratifiedKFold without shuffling', () => {
    assert.deepEqual(kFoldTestSets(7, 3), [[0, 1, 2], [3, 4], [5, 6]]);
    assert.deepEqual(stratifiedKFoldTestSets([1, 0, 0, 1, 1, 0, 1, 1, 0, 1], 3), [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]);
  });

  test('outer folds: balanced, stratified, determined by the seed', () => {
    const sizes = foldMembers(assignFolds(23, 5, 1), 5).map((m) => m.length);
    assert.deepEqual(sizes, [5, 5, 5, 4, 4]);
    assert.deepEqual(assignFolds(23, 5, 1), assignFolds(23, 5, 1));
    assert.notDeepEqual(assignFolds(23, 5, 1), assignFolds(23, 5, 2));
    const labels = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    for (const members of foldMembers(assignFolds(30, 5, 3, labels), 5)) {
      assert.deepEqual([members.filter((i) => labels[i] === 1).length, members.length], [2, 6]);
    }
  });
});

describe('pooler head', () => {
  const random = new SeededRandom(5);
  const h = 4;
  const x = matrix(7, h, Float64Array.from({ length: 7 * h }, () => random.normal()));
  const params = Float64Array.from({ length: h * h + 2 * h + 1 }, () => 0.5 * random.normal());

  for (const [task, y] of [['regression', [0.3, -1, 2, 0.5, 0, 1, -0.2]], ['classification', [1, 0, 0, 1, 1, 0, 1]]] as const) {
    test(`${task}: analytic gradient matches finite differences`, () => {
      const targets = Float64Array.from(y);
      const gradient = new Float64Array(params.length);
      poolerHeadLoss(params, h, x, targets, task, gradient);
      const numeric = params.map((_, j) => {
        const plus = params.slice();
        const minus = params.slice();
        plus[j]! += 1e-6;
        minus[j]! -= 1e-6;
        return (poolerHeadLoss(plus, h, x, targets, task) - poolerHeadLoss(minus, h, x, targets, task)) / 2e-6;
      });
      assertClose(gradient, numeric, `${task} gradient`, 1e-6);
    });
  }

  test('training on standardised states folds back exactly: zero epochs return the initial pooler', () => {
    const initial = { weight: params.slice(0, h * h), bias: params.slice(h * h, h * h + h) };
    const y = Float64Array.from({ length: 7 }, (_, i) => i);
    const untrained = trainPoolerHead(x, y, 'regression', initial, { maxEpochs: 0 });
    assertClose(untrained.pooler.weight, initial.weight, 'weight', 1e-12);
    assertClose(untrained.pooler.bias, initial.bias, 'bias', 1e-12);
    assert.equal(untrained.initialisedFrom, 'checkpoint');
  });

  test('learns a signal, deterministically for a seed', () => {
    const n = 80;
    const data = matrix(n, 6, Float64Array.from({ length: n * 6 }, () => random.normal()));
    const y = Float64Array.from({ length: n }, (_, i) => 2 * Math.tanh(data.data[i * 6]! - data.data[i * 6 + 1]!) + 0.1 * random.normal());
    const options = { learningRate: 1e-2, maxEpochs: 150, seed: 3 };
    const a = trainPoolerHead(data, y, 'regression', undefined, options);
    const b = trainPoolerHead(data, y, 'regression', undefined, options);
    assert.deepEqual(a, b);
    assert.ok(r2Score(y, poolerHeadDecisions(a, data)) > 0.8, 'fits the training rows');
    assert.equal(a.initialisedFrom, 'random');
  });
});

describe('label hygiene', async () => {
  const table = await readProbeTable(TABLE);

  test('missing and non-numeric targets are skipped with a reason', () => {
    const targets = extractTargets(table, { column: 'messy', task: 'regression' });
    const missing = 'missing target';
    const notNumber = 'target is not a number';
    assert.deepEqual(
      targets.skipped.map((s) => [s.id, s.reason]),
      [['ab04', missing], ['ab11', missing], ['ab18', notNumber], ['ab25', missing], ['ab32', missing], ['ab39', notNumber], ['ab46', missing]],
    );
    assert.equal(targets.values.length + targets.skipped.length, table.rows.length);
  });

  test('the same antibody with two labels is reported', () => {
    const targets = extractTargets(table, { column: 'affinity', task: 'regression' });
    assert.deepEqual(targets.conflicts.map((c) => c.ids), [['ab01', 'ab01-repeat']]);
  });

  test('transforms; a non-positive value under a log transform is skipped', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 't.csv'), 'heavy,light,kd\nEVQL,DIQ,100\nEVQLV,DIQ,0\nEVQLS,DIQ,0.1\n');
    const targets = extractTargets(await readProbeTable(join(dir, 't.csv')), { column: 'kd', task: 'regression', transform: 'neglog10' });
    assert.deepEqual([...targets.values], [-2, 1]);
    assert.deepEqual(targets.skipped.map((s) => [s.row, s.id, s.reason]), [[2, '2', 'neglog10 needs a positive value']]);
  });

  test('classes: sorted labels, --positive, --threshold', () => {
    assert.deepEqual(extractTargets(table, { column: 'class', task: 'classification' }).classes, ['binder', 'non-binder']);
    assert.deepEqual(extractTargets(table, { column: 'class', task: 'classification', positive: 'binder' }).classes, ['non-binder', 'binder']);
    const thresholded = extractTargets(table, { column: 'affinity', task: 'classification', threshold: 5 });
    assert.deepEqual(thresholded.classes, ['<= 5', '> 5']);
  });

  const errors: [string, () => unknown, typeof InputError | typeof UsageError, RegExp][] = [
    ['no variance', () => extractTargets(table, { column: 'flat', task: 'regression' }), InputError, /no variance.*7/],
    ['unknown column', () => extractTargets(table, { column: 'kd', task: 'regression' }), UsageError, /no column "kd"/],
    ['more than two labels', () => extractTargets(table, { column: 'affinity', task: 'classification' }), InputError, /distinct labels.*--threshold/],
    ['unknown positive label', () => extractTargets(table, { column: 'class', task: 'classification', positive: 'yes' }), UsageError, /not a label/],
  ];
  for (const [label, run, type, message] of errors) {
    test(`error: ${label}`, () => assert.throws(run, (e: unknown) => e instanceof type && message.test((e as Error).message)));
  }
});

describe('fit and predict on a tiny checkpoint', () => {
  let model: IgBert;
  let poolerModel: IgBert;
  const cache = new EmbeddingCache(tmp());
  before(async () => {
    model = await loadModel(join(CHECKPOINTS, 'mlm-h64'));
    poolerModel = await loadModel(join(CHECKPOINTS, 'model-pooler'));
  });
  after(async () => {
    await model.dispose();
    await poolerModel.dispose();
  });

  test('features are igbert embed poolings; heavy-mean+light-mean concatenates them', async () => {
    const table = await readProbeTable(TABLE);
    const { features } = await tableFeatures(model, table, 'heavy-mean+light-mean', { cache: false });
    assert.deepEqual(features.rejected.map((r) => r.id), ['bad-seq']);
    const records = table.rows.slice(0, 3).map((r) => r.record);
    const heavy = await model.embed(records, { pooling: 'heavy-mean' });
    const light = await model.embed(records, { pooling: 'light-mean' });
    records.forEach((_, i) => {
      assert.deepEqual([...features.data.subarray(i * 256, (i + 1) * 256)], [...heavy[i]!.embedding, ...light[i]!.embedding]);
    });
  });

  test('ridge: cached embeddings, a head that predicts what was fitted, round trip through JSON', async () => {
    const first = await fitProbe(model, TABLE, { target: 'affinity', cache });
    const second = await fitProbe(model, TABLE, { target: 'kd_nm', transform: 'neglog10', cache });
    assert.deepEqual([first.cacheHit, second.cacheHit], [false, true]);
    assert.equal(first.head.training.rows, 47);
    assert.deepEqual(first.rejected.map((r) => r.row), [48]);
    assert.equal(first.head.model.kind, 'ridge');
    assert.equal(first.crossValidation.folds.length, 5);

    const head = parseHead(serializeHead(second.head), 'head.json');
    assert.deepEqual(head, JSON.parse(JSON.stringify(second.head)));
    const { predictions, rejected, sameCheckpoint } = await predictProbe(model, head, TABLE, { cache });
    assert.ok(sameCheckpoint);
    assert.deepEqual(rejected.map((r) => r.id), ['bad-seq']);
    const table = await readProbeTable(TABLE);
    const { features } = await tableFeatures(model, table, 'mean', { cache });
    const expected = headDecisions(second.head, fromFloat32(features.data, features.rows.length, features.width));
    assertClose(predictions.map((p) => p.decision), expected, 'predictions', 1e-12);
    predictions.forEach((p) => assertClose([p.untransformed!], [10 ** -p.decision], 'untransformed', 1e-12));
  });

  test('classification: probabilities and labels', async () => {
    const result = await fitProbe(model, TABLE, { target: 'class', task: 'classification', features: 'cls', cache, folds: 3 });
    assert.equal(result.head.model.kind, 'logistic');
    assert.ok(result.crossValidation.summary.roc_auc);
    const { predictions } = await predictProbe(model, result.head, TABLE, { cache });
    for (const p of predictions) {
      assert.equal(p.label, p.probability! > 0.5 ? 'non-binder' : 'binder');
    }
  });

  test('pooler head: starts from the checkpoint pooler when there is one; deterministic for a seed', async () => {
    assert.equal(await readCheckpointPooler(join(CHECKPOINTS, 'mlm-h64'), 128), undefined);
    const pooler = await readCheckpointPooler(join(CHECKPOINTS, 'model-pooler'), 48);
    assert.equal(pooler?.weight.length, 48 * 48);
    const options = { target: 'affinity', features: 'pooler-head' as const, cache, folds: 3, poolerHead: { maxEpochs: 30 } };
    const a = await fitProbe(poolerModel, TABLE, options);
    const b = await fitProbe(poolerModel, TABLE, options);
    assert.equal(a.head.model.kind === 'pooler-head' && a.head.model.initialisedFrom, 'checkpoint');
    assert.deepEqual(a.head.model, b.head.model);
    assert.deepEqual(a.crossValidation.outOfFold, b.crossValidation.outOfFold);
    const { predictions } = await predictProbe(poolerModel, parseHead(serializeHead(a.head), 'h.json'), TABLE, { cache });
    assert.equal(predictions.length, 47);
  });

  test('too few rows for the folds is an error naming the fix', async () => {
    await assert.rejects(fitProbe(model, TABLE, { target: 'affinity', folds: 50, cache }), /too few for 50 outer folds.*--folds/);
  });

  test('a head for another hidden size is refused', async () => {
    const result = await fitProbe(model, TABLE, { target: 'affinity', folds: 2, cache });
    await assert.rejects(predictProbe(poolerModel, result.head, TABLE, { cache: false }), /hidden_size 128/);
  });
});
