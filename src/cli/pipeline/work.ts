/**
 * Work: a chunk's valid rows through the command's `process`, one unit at a time, results back in input order.
 *
 * Units are the batcher's own batches over the rows (src/batches/planBatches.ts: longest first, a token budget for
 * the engine's layout — padded or packed — and its preferred batching), so an `embed` unit is exactly one model
 * batch, and progress moves after each one instead of once per chunk. As many units run at once as the engine takes
 * batches in flight (a GPU engine prepares the next batch while one runs), and the slots are shared across chunks: the
 * next chunk's first units start while this chunk's last ones still run, so the engine does not drain at every chunk
 * boundary. Units depend on the chunk's rows and the engine alone, so a resumed run or a shard computes the same
 * batches as one uninterrupted run, to the byte.
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

/**
 * Units in flight at once, across chunks, handed out in the order they are asked for (a chunk's units before the next
 * chunk's). After a unit fails no other one starts: every later `start` throws its error.
 */
export class UnitSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  private readonly running = new Set<Promise<unknown>>();
  private failure: { error: unknown } | undefined;

  constructor(concurrency: number) {
    this.free = Math.max(1, concurrency);
  }

  /** Runs `unit` in the next free slot; resolves once it has started, with the unit's own promise (wrapped, not awaited). */
  async start(unit: () => Promise<void>): Promise<{ running: Promise<void> }> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.failure) {
      this.release();
      throw this.failure.error;
    }
    const running = unit().then(
      () => this.release(),
      (error: unknown) => {
        this.failure ??= { error };
        this.release();
        throw error;
      },
    );
    this.running.add(running);
    void running.catch(noop).finally(() => this.running.delete(running));
    return { running };
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }

  /** Resolves when no unit runs any more (after a failure: before the job's files are closed). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}

const noop = (): void => {};

/** A chunk's work once started: `dispatched` when its last unit has started, `done` with its results. */
export interface ChunkWork {
  dispatched: Promise<void>;
  done: Promise<ChunkResults>;
}

/** Starts a chunk's units in `slots`, after the units of the chunks started before it. */
export function startChunk<T>(chunk: PreparedChunk<T>, process: ProcessRows<T>, plan: UnitPlan, slots: UnitSlots, onUnit: UnitDone): ChunkWork {
  const tokens = chunk.sources.map((source) => tokenCount(source.record));
  const results = new Map<number, ResultRow | ResultRow[]>();
  const rejected: Rejection[] = [];
  const units = planBatches(tokens, { ...plan.batching, sortWindow: Math.max(1, chunk.items.length) }, plan.layout);
  const running: Promise<void>[] = [];
  const dispatched = (async () => {
    for (const unit of units) {
      const started = await slots.start(async () => {
        const done = await processUnit(unit, chunk, process, rejected);
        done.forEach((result, index) => results.set(index, result));
        onUnit(unit.length, unit.reduce((sum, index) => sum + residueCount((chunk.sources[index] as NumberedRecord).record), 0));
      });
      running.push(started.running);
    }
  })();
  const done = dispatched.then(async () => {
    await Promise.all(running);
    rejected.sort((a, b) => a.numbered.row - b.numbered.row);
    const order = [...results.keys()].sort((a, b) => a - b);
    return { results: order.map((index) => results.get(index)!), sources: order.map((index) => chunk.sources[index] as NumberedRecord), rejected };
  });
  return { dispatched, done };
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
