/**
 * The one token-budget batcher every task uses. Items (already tokenised) are grouped so that the tokens an engine
 * actually computes stay under a token budget: batch size x longest item for engines that pad, the sum of the
 * lengths for engines that pack sequences without padding. Inside a bounded window items are sorted by length (less
 * padding; similar lengths side by side), and callers restore input order with each item's index.
 * Batch composition never changes a result beyond float rounding (padding is masked, packed sequences attend only
 * to themselves), and tests check that.
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

/** How an engine lays a batch out: padded to its longest item, or packed end to end (src/runtime/engine.ts). */
export type BatchLayout = 'padded' | 'packed';

export const DEFAULT_BATCHING: Required<BatchingOptions> = { maxBatchTokens: 8192, maxBatchSize: 64, sortWindow: 1024 };

/** The options given, over an engine's preferred values, over DEFAULT_BATCHING; each checked. */
export function resolveBatching(options: BatchingOptions = {}, preferred: BatchingOptions = {}): Required<BatchingOptions> {
  const given = (o: BatchingOptions): BatchingOptions => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const resolved = { ...DEFAULT_BATCHING, ...given(preferred), ...given(options) };
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
export function planBatches(lengths: readonly number[], options: BatchingOptions = {}, layout: BatchLayout = 'padded'): number[][] {
  const { maxBatchTokens, maxBatchSize, sortWindow } = resolveBatching(options);
  const batches: number[][] = [];
  for (let start = 0; start < lengths.length; start += sortWindow) {
    const window = Array.from({ length: Math.min(sortWindow, lengths.length - start) }, (_, i) => start + i);
    // Longest first so the first batch of a window shows the peak memory early; ties keep input order.
    window.sort((a, b) => (lengths[b] as number) - (lengths[a] as number) || a - b);
    let current: number[] = [];
    let longest = 0;
    let total = 0;
    for (const index of window) {
      const length = lengths[index] as number;
      const cost = layout === 'packed' ? total + length : Math.max(longest, length) * (current.length + 1);
      if (current.length > 0 && (current.length >= maxBatchSize || cost > maxBatchTokens)) {
        batches.push(current);
        current = [];
        longest = 0;
        total = 0;
      }
      current.push(index);
      longest = Math.max(longest, length);
      total += length;
    }
    if (current.length > 0) batches.push(current);
  }
  return batches;
}
