/**
 * Work: a chunk's valid rows through the command's `process`, one unit at a time, results back in input order.
 *
 * Units are the batcher's own batches over the rows (src/batches/planBatches.ts: longest first, a token budget for
 * the engine's layout — padded or packed — and its preferred batching), so an `embed` unit is exactly one model
 * batch, and progress moves after each one instead of once per chunk. As many units run at once as the engine takes
 * batches in flight (a GPU engine prepares the next batch while one runs). Units depend on the chunk's rows and the
 * engine alone, so a resumed run or a shard computes the same batches as one uninterrupted run, to the byte.
 *
 * A row the model layer cannot run — it throws an InputError naming that row's record number (an allocation that
 * fails even for it alone) — is rejected like a bad row, and the rest of its unit runs again without it: one row
 * never costs the job.
 */
import { InputError } from '../../errors.js';
import type { NumberedRecord } from '../../io/readRecords.js';
import type { ResultRow } from '../../io/resultWriter.js';
import { planBatches, type BatchingOptions, type BatchLayout } from '../../batches/planBatches.js';
import { residueCount, tokenCount, type PreparedChunk, type Rejection } from './chunks.js';

/**
 * Runs the model on valid rows. `process` returns one entry per item, in order: a result row, or the group of rows
 * that item gives (several, or none), so that every result row is known to come from one input row.
 */
export type ProcessRows<T> = (items: T[]) => Promise<(ResultRow | ResultRow[])[]>;

export interface ChunkResults {
  /** One entry per processed row, in input order, and the rows they came from. */
  results: (ResultRow | ResultRow[])[];
  sources: NumberedRecord[];
  /** Rows the model layer rejected. */
  rejected: Rejection[];
}

/** Told after each unit: its input rows (rejected ones included) and their residues. */
export type UnitDone = (rows: number, residues: number) => void;

/** How the engine batches (src/runtime/engine.ts EngineInfo): units follow it. */
export interface UnitPlan {
  batching: BatchingOptions;
  layout: BatchLayout;
  /** Units in flight at once. */
  concurrency: number;
}

export async function processChunk<T>(
  chunk: PreparedChunk<T>,
  process: ProcessRows<T>,
  plan: UnitPlan,
  onUnit: UnitDone,
): Promise<ChunkResults> {
  const tokens = chunk.sources.map((source) => tokenCount(source.record));
  const results = new Map<number, ResultRow | ResultRow[]>();
  const rejected: Rejection[] = [];
  const units = planBatches(tokens, { ...plan.batching, sortWindow: Math.max(1, chunk.items.length) }, plan.layout);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < units.length) {
      const unit = units[next++] as number[];
      try {
        const done = await processUnit(unit, chunk, process, rejected);
        done.forEach((result, index) => results.set(index, result));
      } catch (error) {
        failed = true;
        throw error;
      }
      onUnit(unit.length, unit.reduce((sum, index) => sum + residueCount((chunk.sources[index] as NumberedRecord).record), 0));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(plan.concurrency, units.length)) }, worker));
  rejected.sort((a, b) => a.numbered.row - b.numbered.row);
  const order = [...results.keys()].sort((a, b) => a - b);
  return { results: order.map((index) => results.get(index)!), sources: order.map((index) => chunk.sources[index] as NumberedRecord), rejected };
}

/** One unit; a row the model layer rejects is taken out and the others run again. Results by index into the chunk. */
async function processUnit<T>(
  unit: readonly number[],
  chunk: PreparedChunk<T>,
  process: ProcessRows<T>,
  rejected: Rejection[],
): Promise<Map<number, ResultRow | ResultRow[]>> {
  const kept = [...unit];
  while (kept.length > 0) {
    let results: (ResultRow | ResultRow[])[];
    try {
      results = await process(kept.map((index) => chunk.items[index] as T));
    } catch (error) {
      const row = error instanceof InputError ? error.location.record : undefined;
      const failed = kept.findIndex((index) => chunk.sources[index]?.row === row);
      if (failed < 0) throw error;
      rejected.push({ numbered: chunk.sources[kept[failed] as number] as NumberedRecord, error: error as InputError });
      kept.splice(failed, 1);
      continue;
    }
    checkOnePerRow(results, kept.map((index) => chunk.sources[index] as NumberedRecord));
    return new Map(kept.map((index, i) => [index, results[i] as ResultRow | ResultRow[]]));
  }
  return new Map();
}

/** A flat row whose id is another row's means the command gave several rows for some input rows: not matchable. */
function checkOnePerRow(results: readonly (ResultRow | ResultRow[])[], sources: readonly NumberedRecord[]): void {
  const sourceId = (i: number): string | undefined => {
    const source = sources[i];
    return source && (source.record.id ?? String(source.row));
  };
  if (results.length !== sources.length || results.some((result, i) => !Array.isArray(result) && 'id' in result && result['id'] !== sourceId(i))) {
    throw new Error(`a command returned ${results.length} results for ${sources.length} rows; it must return one row or one group of rows per input row.`);
  }
}
