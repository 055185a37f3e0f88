/**
 * NPY output: a float32 matrix [rows, width] from the one Float32Array column of each row (the embedding), plus
 * `<name>.ids.csv` with the other (scalar) columns of each row — id and any --keep-cols — in matrix row order.
 *
 * The row count is only known at the end, so the header is written first with a fixed size of 128 bytes and
 * rewritten in place by `finish()` (padding with spaces keeps its length, as numpy's own format allows). The data
 * after it is append-only, which is what makes NPY resumable like the line formats.
 */
import { UsageError } from '../errors.js';
import { CsvRows } from './csvRows.js';
import { assertLittleEndian, npyHeader } from './npy.js';
import { PartialFile } from './partialFile.js';
import { committedLength, npyIdsPath, type ResultRow, type ResultWriter, type WriterCheckpoint } from './writerContract.js';

interface NpyState {
  column: string;
  width: number;
  rows: number;
  idColumns?: string[];
}

export class NpyWriter implements ResultWriter {
  private constructor(
    private readonly matrix: PartialFile,
    private readonly ids: PartialFile,
    private readonly idRows: CsvRows,
    private state: NpyState | undefined,
  ) {}

  static async open(path: string, resume: WriterCheckpoint | undefined): Promise<NpyWriter> {
    assertLittleEndian();
    const state = resume?.state as NpyState | undefined;
    const matrix = await PartialFile.open(path, committedLength(resume, 'body'));
    const ids = await PartialFile.open(npyIdsPath(path), committedLength(resume, 'ids'));
    return new NpyWriter(matrix, ids, new CsvRows(ids, state?.idColumns, 'the NPY ids file (CSV)'), state);
  }

  async write(row: ResultRow): Promise<void> {
    if (!this.state) {
      const vectors = Object.keys(row).filter((key) => row[key] instanceof Float32Array);
      if (vectors.length !== 1) {
        throw new UsageError(
          `NPY holds one float32 vector per row, but the rows have ${vectors.length === 0 ? 'no' : vectors.length} ` +
            `vector columns${vectors.length ? ` (${vectors.join(', ')})` : ''}; write .jsonl or .parquet instead.`,
        );
      }
      const column = vectors[0] as string;
      this.state = { column, width: (row[column] as Float32Array).length, rows: 0 };
      await this.matrix.append(npyHeader(0, this.state.width));
    }
    const { column, width } = this.state;
    const vector = row[column];
    if (!(vector instanceof Float32Array) || vector.length !== width) {
      throw new UsageError(`column ${JSON.stringify(column)} is not a vector of ${width} values in every row; write .jsonl instead.`);
    }
    await this.matrix.append(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
    const { [column]: _vector, ...scalars } = row;
    await this.idRows.write(scalars);
    this.state.rows++;
  }

  async commit(): Promise<WriterCheckpoint> {
    const files = { body: await this.matrix.commit(), ids: await this.ids.commit() };
    return this.state ? { files, state: { ...this.state, ...(this.idRows.columns ? { idColumns: this.idRows.columns } : {}) } } : { files };
  }

  async finish(): Promise<void> {
    // No row: the width is unknown, so the matrix is 0 x 0.
    if (!this.state) await this.matrix.append(npyHeader(0, 0));
    else await this.matrix.writeAt(0, npyHeader(this.state.rows, this.state.width));
    // The matrix last: its final name is what says the output is complete (see the pipeline's --resume).
    await this.ids.finish();
    await this.matrix.finish();
  }

  async abandon(remove: boolean): Promise<void> {
    await this.matrix.abandon(remove);
    await this.ids.abandon(remove);
  }
}
