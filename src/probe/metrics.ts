/**
 * Scores with the definitions of the reference implementations the tests compare against: R² as sklearn's
 * r2_score, Spearman ρ as scipy.stats.spearmanr (Pearson correlation of average ranks), ROC AUC as sklearn's
 * roc_auc_score (equal to the Mann-Whitney statistic with average ranks for ties), and mean ± population standard
 * deviation (ddof 0, numpy's default, what `cross_val_score(...).std()` reports).
 */

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return sum / values.length;
}

/** Mean and population standard deviation (ddof 0). */
export function meanAndSd(values: ArrayLike<number>): { mean: number; sd: number } {
  const m = mean(values);
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += ((values[i] as number) - m) ** 2;
  return { mean: m, sd: Math.sqrt(squares / values.length) };
}

/** sklearn r2_score (force_finite): 1 − SS_res / SS_tot; a constant truth scores 1 if predicted exactly, else 0. */
export function r2Score(truth: ArrayLike<number>, predicted: ArrayLike<number>): number {
  const m = mean(truth);
  let residual = 0;
  let total = 0;
  for (let i = 0; i < truth.length; i++) {
    residual += ((truth[i] as number) - (predicted[i] as number)) ** 2;
    total += ((truth[i] as number) - m) ** 2;
  }
  if (total === 0) return residual === 0 ? 1 : 0;
  return 1 - residual / total;
}

export function rmse(truth: ArrayLike<number>, predicted: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < truth.length; i++) sum += ((truth[i] as number) - (predicted[i] as number)) ** 2;
  return Math.sqrt(sum / truth.length);
}

/** 1-based ranks, ties sharing their average rank (scipy.stats.rankdata 'average'). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort(
    (a, b) => (values[a] as number) - (values[b] as number),
  );
  const ranks = new Float64Array(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end] as number] === values[order[start] as number]) end++;
    const rank = (start + end + 1) / 2;
    for (let k = start; k < end; k++) ranks[order[k] as number] = rank;
    start = end;
  }
  return ranks;
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ma = mean(a);
  const mb = mean(b);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = (a[i] as number) - ma;
    const db = (b[i] as number) - mb;
    ab += da * db;
    aa += da * da;
    bb += db * db;
  }
  // NaN for a constant input, as scipy (a correlation with a constant is undefined)
  return aa === 0 || bb === 0 ? Number.NaN : ab / Math.sqrt(aa * bb);
}

export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(averageRanks(a), averageRanks(b));
}

/** Area under the ROC curve of `scores` for labels in {0, 1}; NaN when only one class is present. */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const ranks = averageRanks(scores);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) {
      positives++;
      rankSum += ranks[i] as number;
    }
  }
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Fraction of rows whose decision value puts them in their class (decision > 0 is class 1, as sklearn's predict). */
export function accuracy(labels: ArrayLike<number>, decisions: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (((decisions[i] as number) > 0 ? 1 : 0) === labels[i]) correct++;
  return correct / labels.length;
}
