/**
 * Parquet output. A Parquet file is only complete with its footer (schema + where every row group is), so rows are
 * appended to a spool (`<output>.partial`, resumable like the line formats), and the file is assembled beside it
 * (`<output>.assembling`) as the rows come, a row group whenever one is full: `finish()` only writes the last group
 * and the footer. The spool is what --resume continues from; a resumed run, or one whose column types changed after
 * groups were written (see ParquetAssembly), assembles the file from the spool at the end, streaming, one row group at
 * a time — the same bytes. Needs temporary disk about twice the size of the output.
 */
import { rm } from 'node:fs/promises';
import { publishFile } from './outputTarget.js';
import { addRow, ParquetAssembly, writeParquetFile, type ParquetColumn } from './parquetTable.js';
import { PartialFile, partialPath, writeError } from './partialFile.js';
import { committedLength, type ResultRow, type ResultWriter, type WriterCheckpoint } from './writerContract.js';
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
    /** Undefined for a resumed run: its first rows are only in the spool. */
    private readonly assembly: ParquetAssembly | undefined,
  ) {}

  static async open(path: string, resume: WriterCheckpoint | undefined): Promise<ParquetResultWriter> {
    const spool = await PartialFile.open(path, committedLength(resume, 'body'));
    const state = (resume?.state as ParquetState | undefined) ?? { columns: [], rows: 0 };
    await rm(assemblingPath(path), { force: true });
    const assembly = resume ? undefined : new ParquetAssembly(assemblingPath(path));
    return new ParquetResultWriter(path, spool, { columns: state.columns.map((c) => ({ ...c })), rows: state.rows }, assembly);
  }

  async write(row: ResultRow): Promise<void> {
    const values = addRow(this.state.columns, row, this.state.rows + 1);
    await this.spool.append(spoolFrame(values));
    this.state.rows++;
    if (this.assembly) await written(this.path, this.assembly.add(values, this.state.columns));
  }

  async commit(): Promise<WriterCheckpoint> {
    return { files: { body: await this.spool.commit() }, state: this.state };
  }

  async finish(): Promise<void> {
    await this.spool.commit();
    await this.spool.abandon(false);
    const assembling = assemblingPath(this.path);
    try {
      if (!(this.assembly && (await written(this.path, this.assembly.finish(this.state.columns))))) {
        await written(this.path, writeParquetFile(assembling, this.state.columns, readSpool(partialPath(this.path))));
      }
      await publishFile(assembling, this.path);
    } catch (error) {
      await rm(assembling, { force: true });
      throw error;
    }
    await rm(partialPath(this.path), { force: true });
  }

  async abandon(remove: boolean): Promise<void> {
    await this.spool.abandon(remove);
    // Never resumed from: a resumed run assembles from the spool.
    await rm(assemblingPath(this.path), { force: true });
  }
}

const assemblingPath = (path: string): string => `${path}.assembling`;

/** A failed write of the assembled file as the user can act on it: a full disk says so, naming the output. */
async function written<T>(path: string, writing: Promise<T>): Promise<T> {
  try {
    return await writing;
  } catch (cause) {
    const syscall = (cause as NodeJS.ErrnoException).syscall;
    throw syscall === 'write' || syscall === 'open' ? writeError(path, cause) : cause;
  }
}
