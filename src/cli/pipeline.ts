/**
 * The shared shape of every record command (embed, score, mutate, fill): stream input rows in chunks, validate each
 * row (a bad row is logged to <output>.errors.jsonl and skipped; all valid rows are processed), run the model on the
 * valid rows of the chunk, write result rows in input order. Returns the command's exit code.
 *
 * At scale: reading + validating the next chunk and writing the previous one overlap with the model's work on the
 * current one, with at most three chunks in memory, whatever the input size. Each chunk is committed (output and
 * error log fsynced, then `<output>.progress.json` replaced), which is what --resume continues from; --shard k/N
 * restricts the run to a contiguous range of rows (see shard.ts); --strict validates everything before any work.
 */
import { access } from 'node:fs/promises';
import { InputError, UsageError } from '../errors.js';
import { describeColumns, isDefaultColumns, type ResolvedColumns } from '../io/columns.js';
import { inputIdentity } from '../io/inputSource.js';
import { inputFormat, openRecords, type NumberedRecord, type ReadOptions } from '../io/readRecords.js';
import { partialPath } from '../io/partialFile.js';
import { openResultWriter, outputFormat, type ResultRow, type ResultWriter } from '../io/resultWriter.js';
import { assertSameJob, progressPath, readCheckpoint, removeCheckpoint, writeCheckpoint, type JobCheckpoint } from './checkpoint.js';
import { EXIT } from './exitCodes.js';
import { Progress } from './progress.js';
import { RejectLog } from './rejects.js';
import { shardRange, type RowRange, type Shard } from './shard.js';

export interface PipelineOptions extends ReadOptions {
  input: string;
  output: string;
  format?: string;
  /** Rows per chunk: the unit of batching (length-sorting window), commits and --resume. Default 1024. */
  chunkRows?: number;
  /** Input columns copied into every result row, after "id". */
  keepColumns?: string[];
  /** Continue an interrupted run of the same job from <output>.progress.json. */
  resume?: boolean;
  shard?: Shard;
  /** Check every row before any work; exit 1 if one is bad. */
  strict?: boolean;
  /** No progress or notes on stderr (errors and the rejected-rows warning still go there). */
  quiet?: boolean;
  /** What defines this job's output (command options); --resume refuses a checkpoint recorded with other values. */
  job?: Record<string, unknown>;
  /** Between progress lines when stderr is not a terminal (default 30 s). */
  progressIntervalMs?: number;
}

export interface PipelineSteps<T> {
  /** Validates one row; throw InputError to reject it. */
  prepare(numbered: NumberedRecord): T;
  /**
   * Runs the model on a chunk's valid rows. Returns one result row per item, in order; a command that gives several
   * rows (or none) per input row returns one array of rows per item instead, which --keep-cols needs to know which
   * input row each result row came from.
   */
  process(items: T[]): Promise<ResultRow[] | ResultRow[][]>;
}

interface PreparedChunk<T> {
  /** Input rows in the chunk, rejected ones included. */
  size: number;
  items: T[];
  sources: NumberedRecord[];
  rejected: { numbered: NumberedRecord; error: InputError }[];
  tokens: number;
}

const noop = (): void => {};

export async function runRecordPipeline<T>(options: PipelineOptions, steps: PipelineSteps<T>): Promise<number> {
  const format = outputFormat(options.output, options.format);
  const toFile = options.output !== '-';
  const chunkRows = options.chunkRows ?? 1024;
  const note = (text: string): void => {
    if (!options.quiet) process.stderr.write(`igbert: ${text}\n`);
  };
  if (options.resume && !toFile) throw new UsageError('--resume needs --output FILE (stdout cannot be continued).');
  if (options.shard && options.input === '-') {
    throw new UsageError('--shard needs --input FILE: the input is read once to count its rows, then for the shard.');
  }
  const keep = options.keepColumns ?? [];
  if (keep.length > 0 && inputFormat(options.input, options.inputFormat) === 'fasta') {
    throw new UsageError('--keep-cols needs CSV, TSV or JSONL input: FASTA has no columns to keep.');
  }
  const input = await inputIdentity(options.input);
  const job = options.job ?? {};

  let checkpoint: JobCheckpoint | undefined;
  if (toFile && options.resume) {
    checkpoint = await readCheckpoint(options.output);
    if (checkpoint) {
      assertSameJob(checkpoint, job, input, options.output);
      if ((await exists(options.output)) && !(await exists(partialPath(options.output)))) {
        // Killed while publishing the files: the output is complete; publish the error log and forget the checkpoint.
        if (checkpoint.rejects.count > 0 && (await exists(partialPath(`${options.output}.errors.jsonl`)))) {
          await (await RejectLog.resume(options.output, checkpoint.rejects)).close();
        }
        await removeCheckpoint(options.output);
        note(`${options.output} was complete; finished publishing it.`);
        return checkpoint.rejects.count > 0 ? EXIT.rowsRejected : EXIT.ok;
      }
    } else if (await exists(options.output)) {
      note(`${options.output} is complete (there is no ${progressPath(options.output)}): nothing to resume.`);
      return (await exists(`${options.output}.errors.jsonl`)) ? EXIT.rowsRejected : EXIT.ok;
    } else {
      note(`no ${progressPath(options.output)}: starting from the first row.`);
    }
  } else if (toFile) {
    await removeCheckpoint(options.output);
  }

  let columns: ResolvedColumns | undefined;
  const readOptions = (announce: boolean): ReadOptions => ({
    ...options,
    onColumns(resolved, names) {
      columns = resolved;
      const missing = keep.filter((name) => !names.includes(name));
      if (missing.length > 0) {
        throw new UsageError(`--keep-cols: ${missing.map((m) => JSON.stringify(m)).join(', ')} not in the input (found: ${names.join(', ')}).`);
      }
      if (announce && !isDefaultColumns(resolved)) note(`input columns: ${describeColumns(resolved)}`);
    },
  });

  let range: RowRange = { start: 0, end: Infinity };
  if (options.shard) {
    const total = await countRows(options.input, readOptions(false));
    range = shardRange(total, options.shard, chunkRows);
    note(
      range.end > range.start
        ? `shard ${options.shard.index}/${options.shard.count}: rows ${range.start + 1}-${range.end} of ${total}`
        : `shard ${options.shard.index}/${options.shard.count}: no rows (${total} rows make fewer chunks than shards)`,
    );
  }
  if (options.strict) await checkEveryRow(options, readOptions(false), range, steps);

  const writer = await openResultWriter(options.output, format, checkpoint?.output);
  const rejects = checkpoint ? await RejectLog.resume(options.output, checkpoint.rejects) : new RejectLog(options.output);
  let rowsDone = checkpoint?.rowsDone ?? 0;
  if (rowsDone > 0) note(`resuming after ${rowsDone} committed rows`);
  let committed = checkpoint !== undefined;

  const source = await openRecords(options.input, readOptions(true));
  const progress = new Progress({
    quiet: Boolean(options.quiet),
    stream: process.stderr,
    ...(Number.isFinite(range.end) ? { totalRows: range.end - range.start - rowsDone } : { bytes: { read: source.bytesRead, total: source.totalBytes } }),
    ...(options.progressIntervalMs !== undefined ? { intervalMs: options.progressIntervalMs } : {}),
  });
  const begin = range.start + rowsDone;

  const prepareChunk = (chunk: NumberedRecord[]): PreparedChunk<T> => {
    const prepared: PreparedChunk<T> = { size: chunk.length, items: [], sources: [], rejected: [], tokens: 0 };
    for (const numbered of chunk) {
      try {
        if (numbered.invalid) throw numbered.invalid;
        prepared.items.push(steps.prepare(numbered));
        prepared.sources.push(numbered);
        prepared.tokens += tokenCount(numbered);
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        prepared.rejected.push({ numbered, error });
      }
    }
    return prepared;
  };

  async function* chunks(): AsyncGenerator<PreparedChunk<T>> {
    let chunk: NumberedRecord[] = [];
    for await (const numbered of source.records) {
      const index = numbered.row - 1;
      if (index < begin) continue;
      if (index >= range.end) break;
      chunk.push(numbered);
      if (chunk.length >= chunkRows) {
        yield prepareChunk(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) yield prepareChunk(chunk);
  }

  const writeChunk = async (chunk: PreparedChunk<T>, rows: ResultRow[]): Promise<void> => {
    for (const { numbered, error } of chunk.rejected) await rejects.reject(numbered.row, numbered.record.id, error);
    for (const row of rows) await writer.write(row);
    rowsDone += chunk.size;
    if (toFile) {
      const output = await writer.commit();
      await writeCheckpoint(options.output, {
        format: 'igbert-progress',
        version: 1,
        job,
        input: input ?? null,
        rowsDone,
        output,
        rejects: await rejects.commit(),
      });
      committed = true;
    }
    progress.add(chunk.size, chunk.tokens, rows.length);
  };

  const iterator = chunks();
  let next = iterator.next();
  next.catch(noop);
  let writing: Promise<void> = Promise.resolve();
  try {
    for (;;) {
      const { value: chunk, done } = await next;
      if (done) break;
      next = iterator.next(); // read and validate the next chunk while the model works on this one
      next.catch(noop);
      const results = chunk.items.length > 0 ? await steps.process(chunk.items) : [];
      const rows = resultRows(results, chunk.sources, keep, columns);
      await writing;
      writing = writeChunk(chunk, rows); // written and committed while the model works on the next chunk
      writing.catch(noop);
    }
    await writing;
    await writer.finish();
    await rejects.close();
    if (toFile) await removeCheckpoint(options.output);
  } catch (error) {
    await writing.catch(noop);
    await next.catch(noop);
    await iterator.return(undefined).catch(noop);
    await abandon(writer, rejects, committed && toFile, options.output);
    if (committed && toFile) {
      note(`stopped after ${rowsDone} committed rows; run the same command with --resume to continue from there.`);
    }
    throw error;
  }
  progress.finish(rejects.count);
  if (rejects.count > 0) {
    process.stderr.write(`igbert: ${rejects.count} row(s) rejected, see ${rejects.path}; all other rows were processed.\n`);
    return EXIT.rowsRejected;
  }
  return EXIT.ok;
}

/** On failure: keep the committed partial files for --resume, or remove everything when nothing was committed. */
async function abandon(writer: ResultWriter, rejects: RejectLog, keep: boolean, output: string): Promise<void> {
  await writer.abandon(!keep).catch(noop);
  await rejects.abandon(!keep).catch(noop);
  if (!keep && output !== '-') await removeCheckpoint(output);
}

/** Result rows with the kept input columns inserted after "id". */
function resultRows(
  results: ResultRow[] | ResultRow[][],
  sources: readonly NumberedRecord[],
  keep: readonly string[],
  columns: ResolvedColumns | undefined,
): ResultRow[] {
  const grouped = results.length > 0 && Array.isArray(results[0]);
  if (keep.length === 0) return grouped ? (results as ResultRow[][]).flat() : (results as ResultRow[]);
  if (results.length !== sources.length) {
    // A command that gives several rows per input row must return them grouped (one array per row) for --keep-cols.
    throw new UsageError(
      `--keep-cols cannot tell which input row each of this command's ${results.length} result rows (for ${sources.length} ` +
        'input rows) comes from; drop --keep-cols, or join on "id" afterwards.',
    );
  }
  const rows: ResultRow[] = [];
  results.forEach((result, i) => {
    const source = sources[i] as NumberedRecord;
    if (!grouped && 'id' in (result as ResultRow) && (result as ResultRow)['id'] !== (source.record.id ?? String(source.row))) {
      // One flat row per input row was assumed; an id from another row means the command gives a varying number.
      throw new UsageError('--keep-cols cannot tell which input row each of this command\'s result rows comes from; drop --keep-cols, or join on "id" afterwards.');
    }
    const kept = keptValues(source, keep, columns);
    for (const row of grouped ? (result as ResultRow[]) : [result as ResultRow]) rows.push(withKept(row, kept));
  });
  return rows;
}

function keptValues(numbered: NumberedRecord, keep: readonly string[], columns: ResolvedColumns | undefined): Record<string, string | null> {
  const values: Record<string, string | null> = {};
  for (const name of keep) {
    // The id and chain columns are not in `extra`: take them from the record (chains after --strip-gaps).
    if (name === columns?.id) values[name] = numbered.record.id ?? null;
    else if (name === columns?.heavy) values[name] = numbered.record.heavy ?? null;
    else if (name === columns?.light) values[name] = numbered.record.light ?? null;
    else values[name] = numbered.extra?.[name] ?? null;
  }
  return values;
}

function withKept(row: ResultRow, kept: Record<string, string | null>): ResultRow {
  for (const name of Object.keys(kept)) {
    if (name in row) {
      throw new UsageError(`--keep-cols ${JSON.stringify(name)}: the output already has a column of that name; rename the input column.`);
    }
  }
  if (!('id' in row)) return { ...kept, ...row };
  const { id, ...rest } = row;
  return { id, ...kept, ...rest };
}

/** Tokens the model sees for a valid row: residues plus [CLS], [SEP] and, for a pair, the middle [SEP]. */
function tokenCount({ record }: NumberedRecord): number {
  const heavy = record.heavy?.length ?? 0;
  const light = record.light?.length ?? 0;
  return heavy + light + (heavy > 0 && light > 0 ? 3 : 2);
}

async function countRows(path: string, options: ReadOptions): Promise<number> {
  let rows = 0;
  for await (const _ of (await openRecords(path, options)).records) rows++;
  return rows;
}

/** --strict: every row of the range is read and validated first; bad rows are listed and nothing else is done. */
async function checkEveryRow<T>(options: PipelineOptions, readOptions: ReadOptions, range: RowRange, steps: PipelineSteps<T>): Promise<void> {
  const bad: { numbered: NumberedRecord; error: InputError }[] = [];
  for await (const numbered of (await openRecords(options.input, readOptions)).records) {
    const index = numbered.row - 1;
    if (index < range.start) continue;
    if (index >= range.end) break;
    try {
      if (numbered.invalid) throw numbered.invalid;
      steps.prepare(numbered);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      bad.push({ numbered, error });
    }
  }
  if (bad.length === 0) return;
  const log = new RejectLog(options.output);
  for (const { numbered, error } of bad) await log.reject(numbered.row, numbered.record.id, error);
  await log.close();
  const first = bad[0] as (typeof bad)[number];
  throw new InputError(
    `--strict: ${bad.length} row(s) are invalid, listed in ${log.path} (first: row ${first.numbered.row}: ` +
      `${first.error.message}). Nothing was processed; fix them, or drop --strict to process the valid rows.`,
  );
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
