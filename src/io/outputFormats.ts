/**
 * The output formats and what each can hold, as data: the record commands declare the columns their rows will have,
 * and every option/format combination is checked against this table before any model work (exit 2), instead of
 * failing at the first row that does not fit. The writers keep their own checks as a last line.
 */
import { UsageError } from '../errors.js';
import { plainTarget, type OutputTarget } from './outputTarget.js';

export const OUTPUT_FORMATS = ['jsonl', 'csv', 'npy', 'parquet'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** What one column holds in every row. */
export type ValueKind =
  | 'scalar' // text, number, boolean or null
  | 'vector' // a Float32Array of the same length in every row (an embedding)
  | 'vectors' // a list of such vectors (residue embeddings)
  | 'list' // a list of numbers whose length varies by row
  | 'nested'; // objects or lists of objects

export interface ColumnSpec {
  name: string;
  holds: ValueKind;
  /** The option that adds this column, named in the message when the format cannot hold it. */
  option?: string;
}

/** Columns that hold one text or number per row. */
export const scalarColumns = (...names: string[]): ColumnSpec[] => names.map((name) => ({ name, holds: 'scalar' }));

interface FormatFacts {
  name: string;
  extension: string;
  holds: readonly ValueKind[];
  /** Can be written as it goes to a stream (stdout, a FIFO); NPY and Parquet are completed at the end. */
  streams: boolean;
  /** NPY: the matrix is the one vector column. */
  oneVector?: boolean;
}

export const FORMATS: Readonly<Record<OutputFormat, FormatFacts>> = {
  jsonl: { name: 'JSON Lines', extension: '.jsonl', holds: ['scalar', 'vector', 'vectors', 'list', 'nested'], streams: true },
  csv: { name: 'CSV', extension: '.csv', holds: ['scalar'], streams: true },
  npy: { name: 'NPY', extension: '.npy', holds: ['scalar', 'vector'], streams: false, oneVector: true },
  // Other nested values are stored as JSON text; a vector column needs one width (fixed-size lists).
  parquet: { name: 'Parquet', extension: '.parquet', holds: ['scalar', 'vector', 'vectors', 'nested'], streams: false },
};

const KIND_NAMES: Readonly<Record<ValueKind, string>> = {
  scalar: 'a text or number',
  vector: 'a float32 vector',
  vectors: 'a list of float32 vectors',
  list: 'a list of numbers of varying length',
  nested: 'nested objects',
};

const EXTENSIONS: readonly [RegExp, OutputFormat][] = [
  [/\.(jsonl|ndjson|json)$/i, 'jsonl'],
  [/\.csv$/i, 'csv'],
  [/\.npy$/i, 'npy'],
  [/\.(parquet|pq)$/i, 'parquet'],
];

/** The format an output's extension names, if any. */
export function extensionFormat(path: string): OutputFormat | undefined {
  return EXTENSIONS.find(([pattern]) => pattern.test(path))?.[1];
}

/**
 * Format from the extension, or from --format when the extension does not say (a stream without one is JSON Lines);
 * when both are given they must agree.
 */
export function outputFormat(place: OutputTarget | string, format?: string): OutputFormat {
  const target = plainTarget(place);
  const fromExtension = extensionFormat(target.given);
  if (format !== undefined) {
    if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}; got ${JSON.stringify(format)}.`);
    }
    if (fromExtension !== undefined && fromExtension !== format) {
      const extension = /\.\w+$/.exec(target.given)?.[0] ?? '';
      throw new UsageError(
        `--format ${format}, but ${target.given} ends in ${extension} (${FORMATS[fromExtension].name}); ` +
          `make them agree: name the output ${FORMATS[format as OutputFormat].extension}, or drop --format.`,
      );
    }
    return format as OutputFormat;
  }
  if (fromExtension !== undefined) return fromExtension;
  if (target.kind === 'stream' && !/\.\w+$/.test(target.given)) return 'jsonl';
  throw new UsageError(
    `cannot tell the output format of ${target.given} from its extension; use .jsonl, .csv, .npy or .parquet, ` +
      `or pass --format ${OUTPUT_FORMATS.join('|')}.`,
  );
}

/** Throws a UsageError naming the first column (or the target) that `format` cannot hold, and the formats that hold them all. */
export function checkOutputHolds(format: OutputFormat, target: OutputTarget, columns: readonly ColumnSpec[]): void {
  checkTargetTakes(format, target);
  const facts = FORMATS[format];
  const instead = `write ${orList(OUTPUT_FORMATS.filter((other) => holdsAll(other, columns)).map((other) => FORMATS[other].extension))} instead`;
  const column = columns.find((candidate) => !facts.holds.includes(candidate.holds));
  if (column) {
    throw new UsageError(
      `${facts.name} cannot hold column ${JSON.stringify(column.name)} (${KIND_NAMES[column.holds]}); ${instead}` +
        `${column.option ? `, or drop ${column.option}` : ''}.`,
    );
  }
  if (!holdsAll(format, columns)) throw new UsageError(`${facts.name} holds one float32 vector per row, and these rows have none; ${instead}.`);
}

/** NPY and Parquet are completed at the end, so they need a file, not a stream. */
export function checkTargetTakes(format: OutputFormat, target: OutputTarget): void {
  const facts = FORMATS[format];
  if (!facts.streams && target.kind === 'stream') {
    throw new UsageError(`${format} output needs a file (it is completed at the end); use --output FILE${facts.extension}.`);
  }
}

function holdsAll(format: OutputFormat, columns: readonly ColumnSpec[]): boolean {
  const facts = FORMATS[format];
  return columns.every((column) => facts.holds.includes(column.holds)) && (!facts.oneVector || columns.some((column) => column.holds === 'vector'));
}

/** "a", "a or b", "a, b or c". */
function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
