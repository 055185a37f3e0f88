/**
 * Fold assignment. Outer folds are ours and seeded (a shuffled, balanced assignment; stratified by class for
 * classification) and are written into the head so a run can be reproduced elsewhere. Inner folds, which choose the
 * penalty, mirror scikit-learn exactly — KFold(k) for regression and StratifiedKFold(k) for classification, both
 * without shuffling, over the outer training rows in ascending order — so GridSearchCV(cv=that splitter) sees the
 * same splits.
 */
import { SeededRandom } from '../init/random.js';

/** Fisher-Yates shuffle in place, driven by a seeded generator. */
export function shuffle<T>(items: T[], random: SeededRandom): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random.uniform() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/**
 * Outer fold (0..k−1) of each of n rows. Regression: a seeded permutation cut into k contiguous folds whose sizes
 * differ by at most one (the first n mod k folds are one larger, as KFold). Classification (`labels` given): each
 * class's rows, shuffled, are dealt round-robin, continuing across classes, so every fold gets its share of each.
 */
export function assignFolds(n: number, k: number, seed: number, labels?: ArrayLike<number>): Int32Array {
  const random = new SeededRandom(seed);
  const folds = new Int32Array(n);
  if (labels) {
    let counter = 0;
    for (const label of [...new Set(Array.from(labels))].sort((a, b) => a - b)) {
      const members = Array.from({ length: n }, (_, i) => i).filter((i) => labels[i] === label);
      for (const i of shuffle(members, random)) folds[i] = counter++ % k;
    }
    return folds;
  }
  const order = shuffle(Array.from({ length: n }, (_, i) => i), random);
  let position = 0;
  for (let fold = 0; fold < k; fold++) {
    const size = Math.floor(n / k) + (fold < n % k ? 1 : 0);
    for (let j = 0; j < size; j++) folds[order[position++] as number] = fold;
  }
  return folds;
}

/** Row indices of each fold, ascending. */
export function foldMembers(folds: ArrayLike<number>, k: number): number[][] {
  const members: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < folds.length; i++) (members[folds[i] as number] as number[]).push(i);
  return members;
}

/** scikit-learn KFold(n_splits=k, shuffle=False): test sets are contiguous blocks, the first n mod k one larger. */
export function kFoldTestSets(n: number, k: number): number[][] {
  const sets: number[][] = [];
  let start = 0;
  for (let fold = 0; fold < k; fold++) {
    const size = Math.floor(n / k) + (fold < n % k ? 1 : 0);
    sets.push(Array.from({ length: size }, (_, j) => start + j));
    start += size;
  }
  return sets;
}

/**
 * scikit-learn StratifiedKFold(n_splits=k, shuffle=False)._make_test_folds: classes numbered by first appearance,
 * per-fold class counts from a round robin over the sorted class codes, then each class's rows (in order) filled
 * into folds 0, 1, ... by those counts.
 */
export function stratifiedKFoldTestSets(labels: ArrayLike<number>, k: number): number[][] {
  const codeOf = new Map<number, number>();
  const encoded = Array.from(labels, (label) => {
    if (!codeOf.has(label)) codeOf.set(label, codeOf.size);
    return codeOf.get(label) as number;
  });
  const classes = codeOf.size;
  const sorted = [...encoded].sort((a, b) => a - b);
  const allocation = Array.from({ length: k }, (_, fold) => {
    const counts = new Array<number>(classes).fill(0);
    for (let i = fold; i < sorted.length; i += k) counts[sorted[i] as number] = (counts[sorted[i] as number] as number) + 1;
    return counts;
  });
  const testFold = new Int32Array(encoded.length);
  for (let code = 0; code < classes; code++) {
    const foldsForClass = allocation.flatMap((counts, fold) => new Array<number>(counts[code] as number).fill(fold));
    let next = 0;
    encoded.forEach((c, i) => {
      if (c === code) testFold[i] = foldsForClass[next++] as number;
    });
  }
  return foldMembers(testFold, k);
}

/** The complement of `test` in 0..n−1, ascending. */
export function complement(n: number, test: readonly number[]): number[] {
  const excluded = new Set(test);
  return Array.from({ length: n }, (_, i) => i).filter((i) => !excluded.has(i));
}
