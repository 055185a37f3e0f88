/** CSV text of result rows, shared by the CSV writer and the NPY writer's ids file. */
import { stringify } from 'csv-stringify/sync';
import { UsageError } from '../errors.js';
import type { ByteSink } from './partialFile.js';

/**
 * CSV rows of scalar values: the first row fixes the header (its state); a later row with another column, or an
 * array/object value, is refused rather than dropped.
 */
export class CsvRows {
  constructor(
    private readonly sink: ByteSink,
    public columns: string[] | undefined,
    private readonly formatName = 'CSV',
  ) {}

  async write(row: Record<string, unknown>): Promise<void> {
    if (!this.columns) {
      this.columns = Object.keys(row).filter((k) => row[k] !== undefined);
      await this.sink.append(stringify([this.columns]));
    }
    const columns = this.columns;
    const extra = Object.keys(row).find((k) => row[k] !== undefined && !columns.includes(k));
    if (extra !== undefined) {
      throw new UsageError(`a row has column ${JSON.stringify(extra)} that the first row did not have; write .jsonl instead.`);
    }
    const cells = columns.map((column) => {
      const value = row[column];
      if (value === null || value === undefined) return '';
      if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
      if (typeof value === 'object') {
        throw new UsageError(`column "${column}" holds an array or object, which ${this.formatName} cannot hold; write .jsonl instead.`);
      }
      return String(value);
    });
    await this.sink.append(stringify([cells]));
  }
}
