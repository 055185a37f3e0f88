/**
 * The one token-budget batcher every task uses. Items (already tokenised) are grouped so that
 * batch size x longest item (the padded tensor actually computed) stays under a token budget; inside a bounded window
 * items are sorted by length to cut padding, and callers restore input order with each item's index.
 * Batch composition never changes a result beyond float rounding (the graph masks padding), and tests check that.
 */
import { UsageError } from '../errors.js';

export interface BatchingOptions {
  /** Upper bound on batch size x padded length. Default 8192. */
  maxBatchTokens?: number;
  /** Upper bound on items per batch. Default 64. */
  maxBatchSize?: number;
  /** How many consecutive items may be reordered by length. Default 1024. */
  sortWindow?: number;
}

export const DEFAULT_BATCHING: Required<BatchingOptions> = { maxBatchTokens: 8192, maxBatchSize: 64, sortWindow: 1024 };

export function resolveBatching(options: BatchingOptions = {}): Required<BatchingOptions> {
  const resolved = { ...DEFAULT_BATCHING, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new UsageError(`${key} must be a positive integer, got ${JSON.stringify(value)}.`);
    }
  }
  return resolved;
}

/**
 * Plans batches over item lengths (in tokens). Returns groups of indices into `lengths`; every index appears exactly
 * once. An item longer than the budget gets a batch of its own (it must still run: the budget is a target, not a
 * validity limit — max_position_embeddings is checked earlier).
 */
export function planBatches(lengths: readonly number[], options: BatchingOptions = {}): number[][] {
  const { maxBatchTokens, maxBatchSize, sortWindow } = resolveBatching(options);
  const batches: number[][] = [];
  for (let start = 0; start < lengths.length; start += sortWindow) {
    const window = Array.from({ length: Math.min(sortWindow, lengths.length - start) }, (_, i) => start + i);
    // Longest first so the first batch of a window shows the peak memory early; ties keep input order.
    window.sort((a, b) => (lengths[b] as number) - (lengths[a] as number) || a - b);
    let current: number[] = [];
    let longest = 0;
    for (const index of window) {
      const length = lengths[index] as number;
      const nextLongest = Math.max(longest, length);
      if (current.length > 0 && (current.length >= maxBatchSize || nextLongest * (current.length + 1) > maxBatchTokens)) {
        batches.push(current);
        current = [];
        longest = 0;
      }
      current.push(index);
      longest = Math.max(longest, length);
    }
    if (current.length > 0) batches.push(current);
  }
  return batches;
}
