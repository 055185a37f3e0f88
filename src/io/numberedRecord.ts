/** One input row as the readers yield it, the options they share, and the record building every format uses. */
import { InputError } from '../errors.js';
import type { AntibodyRecord } from '../tokenizer/antibody.js';
import type { CsvColumns, ResolvedColumns } from './columns.js';

export interface NumberedRecord {
  row: number;
  record: AntibodyRecord;
  /** Every input column other than the id and the chains (other JSONL keys as text; none for FASTA). */
  extra?: Record<string, string>;
  /** Set when the row could not be read as a record: the pipeline rejects it with this error. */
  invalid?: InputError;
}

export interface ReadOptions {
  /** Column names; unset ones are found among the common names (see columns.ts). */
  columns?: CsvColumns;
  /** Remove alignment gaps ("-" and ".") from both chains (AIRR-style aligned sequences). */
  stripGaps?: boolean;
  /** Input format when the extension does not tell it (stdin is CSV unless this says otherwise). */
  inputFormat?: string;
  /** FASTA only: every record is this one chain instead of heavy/light pairs. */
  chain?: 'H' | 'L';
  /** Told once, before the first record, every column name (CSV header, keys of the first JSONL object) and which
   *  of them hold the id and the chains. */
  onColumns?(columns: ResolvedColumns, names: readonly string[]): void;
}

const GAPS = /[-.]/g;

/** One record from its id and chain texts; the readers share it so that every format treats gaps and ids alike. */
export function numberedRecord(
  row: number,
  fields: { id?: string | undefined; heavy?: string | undefined; light?: string | undefined },
  extra: Record<string, string>,
  options: ReadOptions,
): NumberedRecord {
  const chain = (value: string | undefined): string => (options.stripGaps ? (value ?? '').replace(GAPS, '') : (value ?? ''));
  return {
    row,
    record: {
      ...(fields.id !== undefined && fields.id !== '' ? { id: fields.id } : {}),
      heavy: chain(fields.heavy),
      light: chain(fields.light),
    },
    extra,
  };
}

/** A row that could not be read as a record. */
export function invalidRecord(row: number, id: string | undefined, message: string): NumberedRecord {
  const location = { record: row, ...(id ? { id } : {}) };
  return { row, record: id ? { id } : {}, extra: {}, invalid: new InputError(message, location) };
}
