/** CSV rows into a byte sink: the CSV writer and the NPY writer's ids file, on the shared CsvTable (src/io/csv.ts). */
import { CsvTable } from './csv.js';
import type { ByteSink } from './partialFile.js';

export class CsvRows {
  private readonly table: CsvTable;

  constructor(
    private readonly sink: ByteSink,
    columns: string[] | undefined,
    format = 'CSV',
  ) {
    this.table = new CsvTable(columns, format);
  }

  /** The header, fixed by the first row: the writer's state for a resumed run. */
  get columns(): string[] | undefined {
    return this.table.columns;
  }

  write(row: Record<string, unknown>): Promise<void> {
    return this.sink.append(this.table.row(row));
  }
}
