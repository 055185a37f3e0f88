/**
 * `--shard k/N`: shard k (0-based, as Slurm's SLURM_ARRAY_TASK_ID from --array=0-(N-1) and Kubernetes'
 * JOB_COMPLETION_INDEX are) of N takes a contiguous range of whole chunks: of the C = ceil(R / chunkRows) chunks of
 * R input rows, chunks [floor(k·C/N), floor((k+1)·C/N)).
 * Contiguous ranges (rather than row mod N) cost one extra pass to count R, but keep each shard's output in input
 * order, so the shard outputs concatenated in k order are the output of one unsharded run. Whole chunks make that
 * exact to the byte: every batch the model sees is the same as in the unsharded run, hence the same float rounding.
 */
import { UsageError } from '../errors.js';

export interface Shard {
  index: number;
  count: number;
}

export interface RowRange {
  /** 0-based index of the first input row (row number start + 1). */
  start: number;
  /** 0-based index after the last row. */
  end: number;
}

export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || !Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index >= count) {
    throw new UsageError(
      `--shard must be k/N with 0 <= k < N (k counts from 0, like SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX); got ${JSON.stringify(text)}.`,
    );
  }
  return { index, count };
}

export function shardRange(totalRows: number, shard: Shard, chunkRows: number): RowRange {
  const chunks = Math.ceil(totalRows / chunkRows);
  const boundary = (k: number): number => Math.min(totalRows, Math.floor((k * chunks) / shard.count) * chunkRows);
  return { start: boundary(shard.index), end: boundary(shard.index + 1) };
}
