/**
 * Parquet output. A Parquet file is only complete with its footer (schema + where every row group is), so rows
 * are first appended to a spool (`<output>.partial`, resumable like the line formats) and the file is assembled
 * from it by `finish()`, streaming, one row group at a time. Needs temporary disk about the size of the output.
 */
import { rm } from 'node:fs/promises';
import { publishFile } from './outputTarget.js';
import { addRow, writeParquetFile, type ParquetColumn } from './parquetTable.js';
import { PartialFile, partialPath } from './partialFile.js';
import { committedLength, type ResultRow, type ResultWriter, type WriterCheckpoint } from './resultWriter.js';
import { readSpool, spoolFrame } from './spool.js';

interface ParquetState {
  columns: ParquetColumn[];
  rows: number;
}

export class ParquetResultWriter implements ResultWriter {
  private constructor(
    private readonly path: string,
    private readonly spool: PartialFile,
    private readonly state: ParquetState,
  ) {}

  static async open(path: string, resume: WriterCheckpoint | undefined): Promise<ParquetResultWriter> {
    const spool = await PartialFile.open(path, committedLength(resume, 'body'));
    const state = (resume?.state as ParquetState | undefined) ?? { columns: [], rows: 0 };
    return new ParquetResultWriter(path, spool, { columns: state.columns.map((c) => ({ ...c })), rows: state.rows });
  }

  async write(row: ResultRow): Promise<void> {
    const values = addRow(this.state.columns, row, this.state.rows + 1);
    await this.spool.append(spoolFrame(values));
    this.state.rows++;
  }

  async commit(): Promise<WriterCheckpoint> {
    return { files: { body: await this.spool.commit() }, state: this.state };
  }

  async finish(): Promise<void> {
    await this.spool.commit();
    await this.spool.abandon(false);
    const assembling = `${this.path}.assembling`;
    try {
      await writeParquetFile(assembling, this.state.columns, readSpool(partialPath(this.path)));
      await publishFile(assembling, this.path);
    } catch (error) {
      await rm(assembling, { force: true });
      throw error;
    }
    await rm(partialPath(this.path), { force: true });
  }

  abandon(remove: boolean): Promise<void> {
    return this.spool.abandon(remove);
  }
}
