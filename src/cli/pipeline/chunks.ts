/**
 * Input → chunks: the rows of the job's range, `chunkRows` at a time, each validated by the command's `prepare`. A row
 * that cannot be used stays in its chunk with its error, so that it is rejected in input order with the others.
 */
import { describeLocation, InputError } from '../../errors.js';
import type { NumberedRecord } from '../../io/readRecords.js';
import type { ResidueCap } from '../residueCap.js';
import type { RowRange } from '../shard.js';

export interface Rejection {
  numbered: NumberedRecord;
  error: InputError;
}

export interface PreparedChunk<T> {
  /** Input rows in the chunk, rejected ones included. */
  size: number;
  /** The valid rows, prepared, in input order; `sources[i]` is the row `items[i]` came from. */
  items: T[];
  sources: NumberedRecord[];
  rejected: Rejection[];
  /** Raw input bytes read when the chunk's first and last rows were read (for the fraction done of a file). */
  bytes: { from: number; to: number };
  /** The input ended with this chunk (or the job's range did): the job's row count is known. */
  last: boolean;
}

/** Validates one row: its prepared form, or the InputError that rejects it. Other errors stop the job. */
export type ValidateRow<T> = (numbered: NumberedRecord) => { item: T } | { error: InputError };

/** The command's `prepare`, then the residue cap: a row too long for memory is rejected before any model work. */
export function rowValidator<T>(prepare: (numbered: NumberedRecord) => T, cap: ResidueCap | undefined): ValidateRow<T> {
  return (numbered) => {
    try {
      if (numbered.invalid) throw numbered.invalid;
      const item = prepare(numbered);
      if (cap) checkResidues(numbered, cap);
      return { item };
    } catch (error) {
      if (error instanceof InputError) return { error: withCommandLineRemedy(error) };
      throw error;
    }
  };
}

/** Residues of a valid row: every character of its chains but whitespace. */
export function residueCount(record: Chains): number {
  return chainResidues(record.heavy) + chainResidues(record.light);
}

type Chains = { heavy?: string | null; light?: string | null };

const chainResidues = (chain: string | null | undefined): number => (chain ?? '').replace(/\s/g, '').length;

/** Tokens the model sees for a valid row: residues plus [CLS], [SEP] and, for a pair, the [SEP] between the chains. */
export function tokenCount(record: Chains): number {
  return residueCount(record) + (chainResidues(record.heavy) > 0 && chainResidues(record.light) > 0 ? 3 : 2);
}

function checkResidues({ row, record }: NumberedRecord, cap: ResidueCap): void {
  const residues = residueCount(record);
  if (residues <= cap.residues) return;
  const location = { record: row, ...(record.id !== undefined ? { id: record.id } : {}) };
  throw new InputError(
    `${describeLocation(location)} has ${residues} residues, more than ${cap.source}: longer rows may not fit in memory; ` +
      'raise --max-residues to try anyway.',
    location,
    'SEQUENCE_TOO_LONG',
  );
}

const GAPS = ['-', '.'];

/** The library's message cannot name a command-line option; here the remedy for an alignment gap is one. */
function withCommandLineRemedy(error: InputError): InputError {
  if (!GAPS.includes(error.location.character ?? '')) return error;
  return new InputError(`${error.message.replace(/\.$/, '')}; pass --strip-gaps to remove them.`, error.location, error.code as 'INVALID_INPUT');
}

/**
 * The rows of `range` in chunks; rows before `range.start` are skipped (a shard, or rows committed before --resume).
 * `bytesRead` tells how far into the raw input the reader is.
 */
export async function* preparedChunks<T>(
  records: AsyncIterable<NumberedRecord>,
  range: RowRange,
  chunkRows: number,
  validate: ValidateRow<T>,
  bytesRead: () => number = () => 0,
): AsyncGenerator<PreparedChunk<T>> {
  let rows: NumberedRecord[] = [];
  // A chunk spans the bytes from where the previous one ended (the reader reads ahead in blocks).
  let from = 0;
  for await (const numbered of records) {
    const index = numbered.row - 1;
    if (index < range.start) {
      from = bytesRead();
      continue;
    }
    if (index >= range.end) break;
    rows.push(numbered);
    if (rows.length >= chunkRows) {
      const to = bytesRead();
      yield prepareChunk(rows, validate, { from, to }, index + 1 >= range.end);
      rows = [];
      from = to;
    }
  }
  if (rows.length > 0) yield prepareChunk(rows, validate, { from, to: bytesRead() }, true);
}

function prepareChunk<T>(rows: NumberedRecord[], validate: ValidateRow<T>, bytes: PreparedChunk<T>['bytes'], last: boolean): PreparedChunk<T> {
  const chunk: PreparedChunk<T> = { size: rows.length, items: [], sources: [], rejected: [], bytes, last };
  for (const numbered of rows) {
    const prepared = validate(numbered);
    if ('error' in prepared) {
      chunk.rejected.push({ numbered, error: prepared.error });
      continue;
    }
    chunk.items.push(prepared.item);
    chunk.sources.push(numbered);
  }
  return chunk;
}
