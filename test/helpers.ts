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
