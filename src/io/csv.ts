/**
 * CSV text of result rows (RFC 4180, "\n" line ends): the one CSV writer of the CLI (result files, NPY's ids file) and
 * the web page's downloads. Isomorphic: text in, text out, no Node imports.
 */
import { UsageError } from '../errors.js';

/** One field: quoted when it holds a comma, a quote or a line break, with its quotes doubled. */
export function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A scalar value as field text: null and non-finite numbers are empty; arrays and objects are refused. */
function cellText(value: unknown, column: string, format: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'object') {
    throw new UsageError(`column ${JSON.stringify(column)} holds an array or object, which ${format} cannot hold; write .jsonl instead.`);
  }
  return String(value);
}

const line = (fields: readonly string[]): string => `${fields.map(csvField).join(',')}\n`;

/**
 * Rows of scalar values by column name: the first row fixes the header (`columns`, the table's state for a resumed
 * run); a later row with another column, or an array/object value, is refused rather than dropped.
 */
export class CsvTable {
  constructor(
    public columns?: string[],
    private readonly format = 'CSV',
  ) {}

  /** The text of one row, preceded by the header line for the first row. */
  row(row: Record<string, unknown>): string {
    let text = '';
    if (!this.columns) {
      this.columns = Object.keys(row).filter((key) => row[key] !== undefined);
      text = line(this.columns);
    }
    const columns = this.columns;
    const extra = Object.keys(row).find((key) => row[key] !== undefined && !columns.includes(key));
    if (extra !== undefined) {
      throw new UsageError(`a row has column ${JSON.stringify(extra)} that the first row did not have; write .jsonl instead.`);
    }
    return text + line(columns.map((column) => cellText(row[column], column, this.format)));
  }
}

/** A whole table from a header and rows of cells (the page's downloads). */
export function csvText(header: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  return line(header) + rows.map((cells) => line(cells.map((cell, i) => cellText(cell, header[i] ?? String(i), 'CSV')))).join('');
}
