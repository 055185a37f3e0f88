/**
 * Result rows out: one writer interface, four formats chosen by extension or --format. Rows are plain objects whose
 * values are strings, numbers, null, nested arrays/objects, or Float32Arrays.
 *
 * Every writer builds its files as `<file>.partial` and is resumable: `commit()` makes what was written durable and
 * returns a checkpoint (committed byte length of each file + the writer's own state) that the pipeline records, and
 * `openResultWriter(..., checkpoint)` continues from it. `finish()` publishes the files under their final names.
 */
import { jsonValue } from './jsonValue.js';
import { NpyWriter } from './npyWriter.js';
import { ParquetResultWriter } from './parquetWriter.js';
import { CsvRows } from './csvRows.js';
import { checkTargetTakes, outputFormat, type OutputFormat } from './outputFormats.js';
import { plainTarget, type OutputTarget } from './outputTarget.js';
import { openSink, type ByteSink } from './partialFile.js';
import { committedLength, npyIdsPath, type ResultWriter, type ResultRow, type WriterCheckpoint } from './writerContract.js';

export { committedLength, npyIdsPath, type ResultRow, type ResultWriter, type WriterCheckpoint } from './writerContract.js';

export { OUTPUT_FORMATS, outputFormat, type OutputFormat } from './outputFormats.js';

/** Every file a writer of `format` publishes for the file target `path`. */
export function writtenFiles(path: string, format: OutputFormat): string[] {
  return format === 'npy' ? [path, npyIdsPath(path)] : [path];
}

/** Opens the writer of `place`: a resolved target (see outputTarget.ts), or a plain path ("-" = stdout). */
export async function openResultWriter(place: OutputTarget | string, format?: string, resume?: WriterCheckpoint): Promise<ResultWriter> {
  const target = plainTarget(place);
  const resolved = outputFormat(target, format);
  checkTargetTakes(resolved, target);
  const body = committedLength(resume, 'body');
  switch (resolved) {
    case 'jsonl':
      return new JsonlWriter(await openSink(target, body));
    case 'csv':
      return new CsvWriter(await openSink(target, body), resume?.state as string[] | undefined);
    case 'npy':
      return await NpyWriter.open(target.path, resume);
    case 'parquet':
      return await ParquetResultWriter.open(target.path, resume);
  }
}

class JsonlWriter implements ResultWriter {
  constructor(private readonly sink: ByteSink) {}
  write(row: ResultRow): Promise<void> {
    return this.sink.append(jsonValue(row) + '\n');
  }
  async commit(): Promise<WriterCheckpoint> {
    return { files: { body: await this.sink.commit() } };
  }
  finish(): Promise<void> {
    return this.sink.finish();
  }
  abandon(remove: boolean): Promise<void> {
    return this.sink.abandon(remove);
  }
}

class CsvWriter implements ResultWriter {
  private readonly rows: CsvRows;
  constructor(
    private readonly sink: ByteSink,
    columns: string[] | undefined,
  ) {
    this.rows = new CsvRows(sink, columns);
  }
  write(row: ResultRow): Promise<void> {
    return this.rows.write(row);
  }
  async commit(): Promise<WriterCheckpoint> {
    return { files: { body: await this.sink.commit() }, ...(this.rows.columns ? { state: this.rows.columns } : {}) };
  }
  finish(): Promise<void> {
    return this.sink.finish();
  }
  abandon(remove: boolean): Promise<void> {
    return this.sink.abandon(remove);
  }
}

export { jsonValue };
export { formatFloat32 } from './numbers.js';
