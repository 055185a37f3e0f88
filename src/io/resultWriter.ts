/**
 * Result rows out: one writer interface, chosen by extension or --format. Rows are plain objects whose values are
 * strings, numbers, null, nested arrays/objects, or Float32Arrays (written as shortest round-trip float32 text).
 */
import { stringify } from 'csv-stringify/sync';
import { UsageError } from '../errors.js';
import { float32ArrayJson, formatFloat32 } from './numbers.js';
import { LineWriter } from './output.js';

export type ResultRow = Record<string, unknown>;

export interface ResultWriter {
  write(row: ResultRow): Promise<void>;
  /** keep = false removes the partial output (a failed run leaves nothing that looks finished). */
  close(keep: boolean): Promise<void>;
}

export const OUTPUT_FORMATS = ['jsonl', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Format from --format, else from the extension (.jsonl/.json/.ndjson → jsonl, .csv → csv); stdout defaults to jsonl. */
export function outputFormat(path: string, format?: string): OutputFormat {
  if (format !== undefined) {
    if ((OUTPUT_FORMATS as readonly string[]).includes(format)) return format as OutputFormat;
    throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}; got ${JSON.stringify(format)}.`);
  }
  if (path === '-' || /\.(jsonl|ndjson|json)$/i.test(path)) return 'jsonl';
  if (/\.csv$/i.test(path)) return 'csv';
  throw new UsageError(
    `cannot tell the output format of ${path} from its extension; use .jsonl or .csv, or pass --format ${OUTPUT_FORMATS.join('|')}.`,
  );
}

/** JSON text of a value, with float32 arrays written compactly and exactly. */
export function jsonValue(value: unknown): string {
  if (value instanceof Float32Array) return float32ArrayJson(value);
  if (Array.isArray(value)) return `[${value.map(jsonValue).join(',')}]`;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}:${jsonValue(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

class JsonlWriter implements ResultWriter {
  constructor(private readonly lines: LineWriter) {}
  write(row: ResultRow): Promise<void> {
    return this.lines.write(jsonValue(row));
  }
  close(keep: boolean): Promise<void> {
    return this.lines.close(keep);
  }
}

/** CSV of scalar columns; the first row fixes the header. Arrays and objects are refused (use JSONL for them). */
class CsvWriter implements ResultWriter {
  private columns: string[] | undefined;
  constructor(private readonly lines: LineWriter) {}
  async write(row: ResultRow): Promise<void> {
    if (!this.columns) {
      this.columns = Object.keys(row).filter((k) => row[k] !== undefined);
      await this.lines.write(stringify([this.columns]).trimEnd());
    }
    const cells = this.columns.map((column) => {
      const value = row[column];
      if (value === null || value === undefined) return '';
      if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
      if (typeof value === 'object') {
        throw new UsageError(`column "${column}" holds an array or object, which CSV cannot hold; write .jsonl instead.`);
      }
      return String(value);
    });
    await this.lines.write(stringify([cells]).trimEnd());
  }
  close(keep: boolean): Promise<void> {
    return this.lines.close(keep);
  }
}

export async function openResultWriter(path: string, format?: string): Promise<ResultWriter> {
  const resolved = outputFormat(path, format);
  const lines = await LineWriter.open(path);
  return resolved === 'csv' ? new CsvWriter(lines) : new JsonlWriter(lines);
}

export { formatFloat32 };
