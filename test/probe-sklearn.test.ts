/**
 * The probes' numbers against scikit-learn / scipy on the same features and folds (fixture written by
 * scripts/reference/probe.py): chosen penalty, inner-CV scores, scaler, coefficients, intercept, held-out decision
 * values, per-fold metrics and their mean ± sd — all to 1e-6 relative.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { crossValidate } from '../src/probe/crossValidate.js';
import { matrix, take, takeRows } from '../src/probe/linalg.js';
import { fitLinearProbe, linearProbeDecisions, type ProbeTask } from '../src/probe/linearProbe.js';
import { assertClose, FIXTURES, readJson } from './helpers.js';

interface Fitted {
  penalty: number;
  innerScores: number[];
  scalerMean: number[];
  scalerScale: number[];
  coef: number[];
  intercept: number;
}
interface Case {
  name: string;
  task: ProbeTask;
  n: number;
  d: number;
  x: number[];
  y: number[];
  assignment: number[];
  folds: (Fitted & { test: number[]; decisions: number[]; metrics: Record<string, number> })[];
  summary: Record<string, { mean: number; sd: number }>;
  final: Fitted;
}
const reference = readJson<{ grid: number[]; innerFolds: number; cases: Case[] }>(join(FIXTURES, 'probe', 'sklearn.json'));
const TOLERANCE = 1e-6;

function compareFit(actual: ReturnType<typeof fitLinearProbe>, expected: Fitted, label: string): void {
  assert.equal(actual.penalty, expected.penalty, `${label}: chosen penalty`);
  assertClose(actual.innerScores, expected.innerScores, `${label}: inner scores`, TOLERANCE);
  assertClose(actual.scaler.mean, expected.scalerMean, `${label}: scaler mean`, TOLERANCE);
  assertClose(actual.scaler.scale, expected.scalerScale, `${label}: scaler scale`, TOLERANCE);
  assertClose(actual.coef, expected.coef, `${label}: coefficients`, TOLERANCE);
  assertClose([actual.intercept], [expected.intercept], `${label}: intercept`, TOLERANCE);
}

for (const c of reference.cases) {
  describe(`sklearn parity: ${c.name}`, () => {
    const x = matrix(c.n, c.d, Float64Array.from(c.x));
    const y = Float64Array.from(c.y);
    const options = { task: c.task, grid: reference.grid, innerFolds: reference.innerFolds };

    test('each outer fold: penalty, inner scores, scaler, coefficients, held-out decisions', () => {
      c.folds.forEach((expected, fold) => {
        const train = c.assignment.flatMap((f, i) => (f === fold ? [] : [i]));
        const probe = fitLinearProbe(takeRows(x, train), take(y, train), options);
        compareFit(probe, expected, `fold ${fold}`);
        assertClose(linearProbeDecisions(probe, takeRows(x, expected.test)), expected.decisions, `fold ${fold}: decisions`, TOLERANCE);
      });
    });

    test('cross-validation metrics per fold and mean ± sd', async () => {
      const result = await crossValidate(c.task, x, y, Int32Array.from(c.assignment), (xs, ys) => {
        const probe = fitLinearProbe(xs, ys, options);
        return { penalty: probe.penalty, decisions: (rows) => linearProbeDecisions(probe, rows) };
      });
      result.folds.forEach((fold, i) => {
        const expected = c.folds[i]!;
        assert.equal(fold.penalty, expected.penalty);
        for (const [name, value] of Object.entries(expected.metrics)) {
          assertClose([fold.metrics[name as keyof typeof fold.metrics]!], [value], `fold ${i} ${name}`, TOLERANCE);
        }
      });
      for (const [name, { mean, sd }] of Object.entries(c.summary)) {
        const actual = result.summary[name as keyof typeof result.summary]!;
        assertClose([actual.mean, actual.sd], [mean, sd], `summary ${name}`, TOLERANCE);
      }
    });

    test('final fit on all rows', () => {
      compareFit(fitLinearProbe(x, y, options), c.final, 'final');
    });
  });
}
