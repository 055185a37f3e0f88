/**
 * A linear probe with its penalty chosen by inner cross-validation. Mirrors, step for step,
 *   GridSearchCV(Pipeline([StandardScaler(), Ridge(alpha)]), {alpha: grid}, cv=KFold(k), scoring="r2")
 *   GridSearchCV(Pipeline([StandardScaler(), LogisticRegression(C)]), {C: grid}, cv=StratifiedKFold(k),
 *                scoring="roc_auc")
 * with refit=True: the scaler is fitted on each inner training split only; the score of a penalty is the plain mean
 * of its split scores; the best is the first penalty (grid order) with the highest mean (see bestIndex); the final model is refitted
 * on all rows given. ROC AUC is scored on decision values, as sklearn's scorer does.
 */
import { UsageError } from '../errors.js';
import { complement, kFoldTestSets, stratifiedKFoldTestSets } from './folds.js';
import { multiplyVector, take, takeRows, type Matrix } from './linalg.js';
import { fitLogisticPath } from './logistic.js';
import { r2Score, rocAuc } from './metrics.js';
import { fitRidgePath, type LinearFit } from './ridge.js';
import { applyScaler, fitScaler, type Scaler } from './scaler.js';

export type ProbeTask = 'regression' | 'classification';

/** numpy.logspace(-3, 3, 13): 10^-3 … 10^3 in half decades; α for ridge, C for logistic regression. */
export const DEFAULT_GRID: readonly number[] = Array.from({ length: 13 }, (_, i) => 10 ** (-3 + i * 0.5));

export interface LinearProbeOptions {
  task: ProbeTask;
  /** Candidate penalties, tried in this order (ties go to the earlier one). Default DEFAULT_GRID. */
  grid?: readonly number[];
  /** Inner folds for choosing the penalty. Default 5. */
  innerFolds?: number;
}

export interface LinearProbe extends LinearFit {
  task: ProbeTask;
  scaler: Scaler;
  /** Mean inner-CV score (R² or ROC AUC) of each grid value, in grid order. */
  innerScores: number[];
  grid: number[];
}

function fitPath(task: ProbeTask, x: Matrix, y: Float64Array, grid: readonly number[]): LinearFit[] {
  return task === 'regression' ? fitRidgePath(x, y, grid) : fitLogisticPath(x, y, grid);
}

/** Decision values (regression: predictions; classification: log-odds) of already-standardised rows. */
function decisions(fit: LinearFit, scaled: Matrix): Float64Array {
  return multiplyVector(scaled, fit.coef, fit.intercept);
}

export function innerTestSets(task: ProbeTask, y: Float64Array, k: number): number[][] {
  return task === 'regression' ? kFoldTestSets(y.length, k) : stratifiedKFoldTestSets(y, k);
}

export function fitLinearProbe(x: Matrix, y: Float64Array, options: LinearProbeOptions): LinearProbe {
  const grid = [...(options.grid ?? DEFAULT_GRID)];
  const k = options.innerFolds ?? 5;
  if (grid.length === 0 || grid.some((p) => !(p > 0) || !Number.isFinite(p))) {
    throw new UsageError(`the penalty grid must be positive finite numbers; got ${JSON.stringify(grid)}.`);
  }
  const sums = new Array<number>(grid.length).fill(0);
  if (grid.length > 1) {
    for (const test of innerTestSets(options.task, y, k)) {
      const train = complement(y.length, test);
      const xTrain = takeRows(x, train);
      const scaler = fitScaler(xTrain);
      const xTest = applyScaler(takeRows(x, test), scaler);
      const yTest = take(y, test);
      fitPath(options.task, applyScaler(xTrain, scaler), take(y, train), grid).forEach((fit, g) => {
        const d = decisions(fit, xTest);
        sums[g] = (sums[g] as number) + (options.task === 'regression' ? r2Score(yTest, d) : rocAuc(yTest, d));
      });
    }
  }
  const innerScores = sums.map((s) => s / k);
  const best = bestIndex(innerScores);
  const scaler = fitScaler(x);
  const fit = fitPath(options.task, applyScaler(x, scaler), y, [grid[best] as number])[0] as LinearFit;
  return { ...fit, task: options.task, scaler, innerScores: grid.length > 1 ? innerScores : [], grid };
}

/**
 * The first grid index whose score ties the best. Scores within 1e-12 (relative) count as tied: two penalties that
 * rank the same rows identically have the same ROC AUC in exact arithmetic, and which of them wins must not depend on
 * how a library rounds its AUC. NaN (an undefined metric) ranks below every number, as in GridSearchCV.
 */
export function bestIndex(scores: readonly number[]): number {
  const finite = scores.filter((s) => !Number.isNaN(s));
  if (finite.length === 0) return 0;
  const top = Math.max(...finite);
  return scores.findIndex((s) => s >= top - 1e-12 * Math.max(1, Math.abs(top)));
}

/** Decision values of raw (unstandardised) feature rows: predictions for regression, log-odds for classification. */
export function linearProbeDecisions(probe: Pick<LinearProbe, 'scaler' | 'coef' | 'intercept'>, x: Matrix): Float64Array {
  return multiplyVector(applyScaler(x, probe.scaler), probe.coef, probe.intercept);
}
