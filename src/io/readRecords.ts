/**
 * Antibody records from CSV/TSV (header row), FASTA (paired by id suffix, or one chain with --chain) or JSON Lines,
 * gzipped or not, from a file or stdin, streamed in input order with 1-based row numbers: CSV/TSV data rows after the
 * header, FASTA records (a heavy/light pair is one row), JSONL non-empty lines.
 *
 * A row that cannot even be read as a record (wrong field count, invalid JSON, an unpaired FASTA chain) is yielded
 * with `invalid` set, so the pipeline rejects it like any other bad row instead of stopping the job.
 */
import { UsageError } from '../errors.js';
import { openInputSource } from './inputSource.js';
import type { NumberedRecord, ReadOptions } from './numberedRecord.js';
import { readDelimited } from './readCsv.js';
import { readFasta } from './readFasta.js';
import { readJsonl } from './readJsonl.js';

export type { CsvColumns } from './columns.js';
export type { NumberedRecord, ReadOptions } from './numberedRecord.js';

export const INPUT_FORMATS = ['csv', 'tsv', 'fasta', 'jsonl'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** A stream of records plus what progress reporting needs to know about the bytes behind it. */
export interface RecordSource {
  records: AsyncGenerator<NumberedRecord>;
  bytesRead(): number;
  totalBytes: number | undefined;
}

/** The input format from --input-format, else from the extension (a trailing .gz is ignored); stdin defaults to CSV. */
export function inputFormat(path: string, format?: string): InputFormat {
  if (format !== undefined) {
    if ((INPUT_FORMATS as readonly string[]).includes(format)) return format as InputFormat;
    throw new UsageError(`--input-format must be one of ${INPUT_FORMATS.join(', ')}; got ${JSON.stringify(format)}.`);
  }
  if (path === '-') return 'csv';
  const name = path.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.csv')) return 'csv';
  if (/\.(tsv|tab)$/.test(name)) return 'tsv';
  if (/\.(fasta|fa|faa|fas)$/.test(name)) return 'fasta';
  if (/\.(jsonl|ndjson|json)$/.test(name)) return 'jsonl';
  throw new UsageError(
    `cannot tell the input format of ${path} from its extension (.csv, .tsv, .fasta, .jsonl, each optionally .gz); ` +
      `pass --input-format ${INPUT_FORMATS.join('|')}.`,
  );
}

/** Opens the input; throws FileError for a missing or unreadable file, UsageError for an unknown format. */
export async function openRecords(path: string, options: ReadOptions = {}): Promise<RecordSource> {
  const format = inputFormat(path, options.inputFormat);
  if (options.chain !== undefined && format !== 'fasta') {
    throw new UsageError('--chain applies to FASTA input only; CSV and JSONL name their chain columns instead.');
  }
  const source = await openInputSource(path);
  const read = (): AsyncGenerator<NumberedRecord> => {
    switch (format) {
      case 'csv':
      case 'tsv':
        return readDelimited(source.stream, path, format === 'tsv' ? '\t' : ',', options);
      case 'fasta':
        return readFasta(source.stream, path, options);
      case 'jsonl':
        return readJsonl(source.stream, path, options);
    }
  };
  async function* records(): AsyncGenerator<NumberedRecord> {
    try {
      yield* read();
    } finally {
      source.close();
    }
  }
  return { records: records(), bytesRead: source.bytesRead, totalBytes: source.totalBytes };
}

/** Streams the records of a file (or stdin). */
export async function* readRecords(path: string, options: ReadOptions = {}): AsyncGenerator<NumberedRecord> {
  yield* (await openRecords(path, options)).records;
}
