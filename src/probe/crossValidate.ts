/**
 * Outer k-fold cross-validation of any learner: for each fold, fit on the other folds, score the held-out fold.
 * Reports per-fold metrics, their mean ± population sd (what the IgBert paper's tables report for R²), and the
 * out-of-fold decision value of every row (for the predicted-vs-measured plot).
 */
import { foldMembers } from './folds.js';
import { take, takeRows, type Matrix } from './linalg.js';
import type { ProbeTask } from './linearProbe.js';
import { accuracy, meanAndSd, r2Score, rmse, rocAuc, spearman } from './metrics.js';

export const REGRESSION_METRICS = ['r2', 'spearman', 'rmse'] as const;
export const CLASSIFICATION_METRICS = ['roc_auc', 'accuracy'] as const;
export type MetricName = (typeof REGRESSION_METRICS)[number] | (typeof CLASSIFICATION_METRICS)[number];

export interface FoldResult {
  fold: number;
  trainSize: number;
  testSize: number;
  /** The penalty chosen on this fold's training rows (linear probes), or the epochs trained (pooler head). */
  penalty?: number;
  epochs?: number;
  metrics: Partial<Record<MetricName, number>>;
}

export interface CrossValidationResult {
  task: ProbeTask;
  folds: FoldResult[];
  summary: Partial<Record<MetricName, { mean: number; sd: number }>>;
  /** Out-of-fold decision value of each row (prediction, or log-odds for classification). */
  outOfFold: Float64Array;
  /** Outer fold of each row. */
  assignment: Int32Array;
}

/** What a learner returns: decision values for new rows, plus what the fold report should say about the fit. */
export interface FittedPredictor {
  decisions(x: Matrix): Float64Array;
  penalty?: number;
  epochs?: number;
}

export type Learner = (x: Matrix, y: Float64Array, fold: number) => FittedPredictor | Promise<FittedPredictor>;

export function scoreFold(task: ProbeTask, truth: Float64Array, decisions: Float64Array): Partial<Record<MetricName, number>> {
  return task === 'regression'
    ? { r2: r2Score(truth, decisions), spearman: spearman(truth, decisions), rmse: rmse(truth, decisions) }
    : { roc_auc: rocAuc(truth, decisions), accuracy: accuracy(truth, decisions) };
}

export async function crossValidate(
  task: ProbeTask,
  x: Matrix,
  y: Float64Array,
  assignment: Int32Array,
  learner: Learner,
): Promise<CrossValidationResult> {
  const k = Math.max(...assignment) + 1;
  const members = foldMembers(assignment, k);
  const outOfFold = new Float64Array(y.length);
  const folds: FoldResult[] = [];
  for (let fold = 0; fold < k; fold++) {
    const test = members[fold] as number[];
    const train = members.flatMap((m, f) => (f === fold ? [] : m)).sort((a, b) => a - b);
    const predictor = await learner(takeRows(x, train), take(y, train), fold);
    const decisions = predictor.decisions(takeRows(x, test));
    test.forEach((row, i) => (outOfFold[row] = decisions[i] as number));
    folds.push({
      fold,
      trainSize: train.length,
      testSize: test.length,
      ...(predictor.penalty !== undefined ? { penalty: predictor.penalty } : {}),
      ...(predictor.epochs !== undefined ? { epochs: predictor.epochs } : {}),
      metrics: scoreFold(task, take(y, test), decisions),
    });
  }
  const names = task === 'regression' ? REGRESSION_METRICS : CLASSIFICATION_METRICS;
  const summary: CrossValidationResult['summary'] = {};
  for (const name of names) summary[name] = meanAndSd(folds.map((f) => f.metrics[name] as number));
  return { task, folds, summary, outOfFold, assignment };
}
