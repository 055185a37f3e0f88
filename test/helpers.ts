/** Shared test helpers: fixture paths and the reference tolerance. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const CHECKPOINTS = join(FIXTURES, 'checkpoints');
export const SHARED_DATA = join(ROOT, '..', 'shared', 'data');

export function readJson<T = any>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** The project's parity criterion: max |actual - expected| <= tolerance x max |expected|. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string, tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} != ${expected.length}`);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs((actual[i] as number) - (expected[i] as number)));
    maxRef = Math.max(maxRef, Math.abs(expected[i] as number));
  }
  assert.ok(
    maxDiff <= tolerance * maxRef,
    `${label}: max |diff| ${maxDiff.toExponential(3)} > ${tolerance} x max |ref| ${maxRef.toExponential(3)}`,
  );
}

export const flat = (rows: number[][]): number[] => rows.flat();

/** Absolute criterion of the likelihood tasks: every |actual - expected| <= tolerance (natural-log units). */
export function assertAbsClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string, tolerance = 1e-4): void {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs((actual[i] as number) - (expected[i] as number));
    assert.ok(diff <= tolerance, `${label}[${i}]: ${actual[i]} vs ${expected[i]} (|diff| ${diff.toExponential(3)} > ${tolerance})`);
  }
}

/** The reference of scripts/reference/scores.py for one checkpoint. */
export interface ScoresReference {
  amino_acids: string;
  vocab: string[];
  records: { id: string; heavy: string; light: string; pll_terms: number[]; wt_marginal_terms: number[] }[];
  mutations: { id: string; mutations: string; masked_marginal: number; wt_marginal: number }[];
  scans: {
    id: string;
    heavy: string;
    light: string;
    region: string;
    positions: { chain: 'H' | 'L'; position: number; wt: string; log_probs: number[]; scores: number[] }[];
  }[];
  fills: {
    id: string;
    heavy: string;
    light: string;
    positions: { chain: 'H' | 'L'; position: number; log_probs: number[] }[];
    greedy_parallel: { heavy: string; light: string; logprob: number };
    greedy_confidence: { heavy: string; light: string; logprob: number };
  }[];
}

export const SCORE_CHECKPOINTS = ['mlm-h64', 'mlm-legacy'] as const;

export function scoresReference(checkpoint: string): ScoresReference {
  return readJson<ScoresReference>(join(FIXTURES, 'reference', `scores-${checkpoint}.json`));
}
