/** Work: a chunk's valid rows through the command's `process`, results back in input order. */
import type { ResultRow } from '../../io/resultWriter.js';
import type { PreparedChunk } from './chunks.js';

/**
 * Runs the model on a chunk's valid rows. `process` returns one entry per item, in order: a result row, or the group
 * of rows that item gives (several, or none), so that every result row is known to come from one input row.
 */
export type ProcessRows<T> = (items: T[]) => Promise<(ResultRow | ResultRow[])[]>;

export async function processChunk<T>(chunk: PreparedChunk<T>, process: ProcessRows<T>): Promise<(ResultRow | ResultRow[])[]> {
  if (chunk.items.length === 0) return [];
  const results = await process(chunk.items);
  // A flat row whose id is another row's means the command gave several rows for some input rows: not matchable.
  const mismatch = results.length !== chunk.items.length || results.some((result, i) => !Array.isArray(result) && 'id' in result && result['id'] !== sourceId(chunk, i));
  if (mismatch) {
    throw new Error(`a command returned ${results.length} results for ${chunk.items.length} rows; it must return one row or one group of rows per input row.`);
  }
  return results;
}

function sourceId(chunk: PreparedChunk<unknown>, i: number): string | undefined {
  const source = chunk.sources[i];
  return source && (source.record.id ?? String(source.row));
}
