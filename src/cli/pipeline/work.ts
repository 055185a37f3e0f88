/**
 * Work: a chunk's valid rows through the command's `process`, results back in input order. A row the model layer
 * cannot run — it throws an InputError naming that row's record number (an allocation that fails even for it alone)
 * — is rejected like a bad row, and the others run again without it: one row never costs the job.
 */
import { InputError } from '../../errors.js';
import type { NumberedRecord } from '../../io/readRecords.js';
import type { ResultRow } from '../../io/resultWriter.js';
import type { PreparedChunk, Rejection } from './chunks.js';

/**
 * Runs the model on a chunk's valid rows. `process` returns one entry per item, in order: a result row, or the group
 * of rows that item gives (several, or none), so that every result row is known to come from one input row.
 */
export type ProcessRows<T> = (items: T[]) => Promise<(ResultRow | ResultRow[])[]>;

export interface ChunkResults {
  /** One entry per processed row, in input order, and the rows they came from. */
  results: (ResultRow | ResultRow[])[];
  sources: NumberedRecord[];
  /** Rows the model layer rejected. */
  rejected: Rejection[];
}

export async function processChunk<T>(chunk: PreparedChunk<T>, process: ProcessRows<T>): Promise<ChunkResults> {
  const kept = chunk.items.map((item, i) => ({ item, source: chunk.sources[i] as NumberedRecord }));
  const rejected: Rejection[] = [];
  while (kept.length > 0) {
    let results: (ResultRow | ResultRow[])[];
    try {
      results = await process(kept.map(({ item }) => item));
    } catch (error) {
      const row = error instanceof InputError ? error.location.record : undefined;
      const failed = kept.findIndex(({ source }) => source.row === row);
      if (failed < 0) throw error;
      rejected.push({ numbered: (kept[failed] as (typeof kept)[number]).source, error: error as InputError });
      kept.splice(failed, 1);
      continue;
    }
    const sources = kept.map(({ source }) => source);
    checkOnePerRow(results, sources);
    return { results, sources, rejected };
  }
  return { results: [], sources: [], rejected };
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
