/**
 * The shared shape of every record command (embed, score, mutate, fill): stream input rows in chunks, validate each
 * row (a bad row is logged to <output>.errors.jsonl and skipped; all valid rows are processed), run the model on the
 * valid rows of the chunk, write result rows in input order. Returns the command's exit code.
 */
import { InputError } from '../errors.js';
import { readCsvRecords, type NumberedRecord, type ReadOptions } from '../io/readRecords.js';
import { openResultWriter, type ResultRow } from '../io/resultWriter.js';
import { EXIT } from './exitCodes.js';
import { RejectLog } from './rejects.js';

export interface PipelineOptions extends ReadOptions {
  input: string;
  output: string;
  format?: string;
  /** Rows per chunk: bounds memory while keeping batches full. Default 1024. */
  chunkRows?: number;
}

export interface PipelineSteps<T> {
  /** Validates one row; throw InputError to reject it. */
  prepare(numbered: NumberedRecord): T;
  /** Runs the model on a chunk's valid rows; returns result rows in order (any number per input row). */
  process(items: T[]): Promise<ResultRow[]>;
}

export async function runRecordPipeline<T>(options: PipelineOptions, steps: PipelineSteps<T>): Promise<number> {
  const output = await openResultWriter(options.output, options.format);
  const rejects = new RejectLog(options.output);
  const chunkRows = options.chunkRows ?? 1024;
  let ok = false;
  const flush = async (chunk: NumberedRecord[]): Promise<void> => {
    const valid: T[] = [];
    for (const numbered of chunk) {
      try {
        valid.push(steps.prepare(numbered));
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        await rejects.reject(numbered.row, numbered.record.id, error);
      }
    }
    if (valid.length === 0) return;
    for (const row of await steps.process(valid)) await output.write(row);
  };
  try {
    let chunk: NumberedRecord[] = [];
    for await (const numbered of readCsvRecords(options.input, options)) {
      chunk.push(numbered);
      if (chunk.length >= chunkRows) {
        await flush(chunk);
        chunk = [];
      }
    }
    await flush(chunk);
    ok = true;
  } finally {
    await output.close(ok);
    await rejects.close();
  }
  if (rejects.count > 0) {
    process.stderr.write(`igbert: ${rejects.count} row(s) rejected, see ${rejects.path}; all other rows were processed.\n`);
    return EXIT.rowsRejected;
  }
  return EXIT.ok;
}
