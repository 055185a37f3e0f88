/**
 * Antibody records from a CSV/TSV file with a header (columns id, heavy, light; either chain may be empty),
 * streamed in input order with 1-based row numbers (the header is not a row).
 */
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { FileError, UsageError } from '../errors.js';
import type { AntibodyRecord } from '../tokenizer/antibody.js';

export interface NumberedRecord {
  row: number;
  record: AntibodyRecord;
}

export interface CsvColumns {
  id?: string;
  heavy?: string;
  light?: string;
}

export interface ReadOptions {
  columns?: CsvColumns;
  /** Remove alignment gaps ("-" and ".") from both chains (AIRR-style aligned sequences). */
  stripGaps?: boolean;
}

const GAPS = /[-.]/g;

function openInput(path: string): NodeJS.ReadableStream {
  return path === '-' ? process.stdin : createReadStream(path);
}

/** Streams records; throws FileError for unreadable files and UsageError when the header lacks the chain columns. */
export async function* readCsvRecords(path: string, options: ReadOptions = {}): AsyncGenerator<NumberedRecord> {
  const columns = options.columns ?? {};
  const chain = (value: string | undefined): string => (options.stripGaps ? (value ?? '').replace(GAPS, '') : (value ?? ''));
  const idColumn = columns.id ?? 'id';
  const heavyColumn = columns.heavy ?? 'heavy';
  const lightColumn = columns.light ?? 'light';
  const delimiter = /\.tsv(\.gz)?$/i.test(path) ? '\t' : ',';
  const source = openInput(path);
  const parser = source.pipe(
    parse({ columns: true, bom: true, delimiter, skip_empty_lines: true, relax_quotes: false, trim: false }),
  );
  // pipe() does not forward the source's errors (a missing file): hand them to the parser we iterate.
  source.on('error', (error) => parser.destroy(error));
  let row = 0;
  let checked = false;
  try {
    for await (const raw of parser as AsyncIterable<Record<string, string>>) {
      if (!checked) {
        const names = Object.keys(raw);
        if (!names.includes(heavyColumn) && !names.includes(lightColumn)) {
          throw new UsageError(
            `${path}: the header has no "${heavyColumn}" or "${lightColumn}" column (found: ${names.join(', ')}). ` +
              'Name the chain columns heavy and light (and id), or pass the column names.',
          );
        }
        checked = true;
      }
      row++;
      const id = raw[idColumn];
      yield {
        row,
        record: {
          ...(id !== undefined && id !== '' ? { id } : {}),
          heavy: chain(raw[heavyColumn]),
          light: chain(raw[lightColumn]),
        },
      };
    }
  } catch (cause) {
    if (cause instanceof UsageError) throw cause;
    const error = cause as NodeJS.ErrnoException & { lines?: number };
    if (error.code === 'ENOENT') throw new FileError(`input file ${path} does not exist.`, { cause });
    if (error.code === 'EACCES') throw new FileError(`input file ${path} is not readable (permission denied).`, { cause });
    const where = error.lines !== undefined ? ` near line ${error.lines}` : '';
    throw new FileError(`${path}${where} is not valid CSV: ${error.message}`, { cause });
  }
}
