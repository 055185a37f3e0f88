/**
 * `igbert merge`: shard outputs (given in shard order 0..N-1) → one file, identical to the output of one unsharded
 * run, since shards are contiguous row ranges (src/cli/shard.ts). JSONL: concatenation. CSV: concatenation keeping
 * one header. NPY: one header for the summed row count, then the matrices; the `.ids.csv` files like CSV. Parquet:
 * rows read back (hyparquet) and written again with the union of the shards' column types. The shards'
 * `.errors.jsonl` logs are concatenated too (their row numbers are already input row numbers). That the files are the
 * complete shards of one job, in order, is the CLI's check (src/cli/commands/merge.ts): it reads the runs' records.
 */
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { FileError, UsageError } from '../errors.js';
import { NPY_HEADER_BYTES, npyHeader, parseNpyHeader } from './npy.js';
import { COLUMNS_METADATA_KEY, widenColumn, writeParquetFile, type ParquetColumn } from './parquetTable.js';
import { assertNotAnInput, publishFile, resolveOutputTarget } from './outputTarget.js';
import { PartialFile, partialPath } from './partialFile.js';
import { npyIdsPath, outputFormat, writtenFiles, type OutputFormat } from './resultWriter.js';
import { pathExists } from './pathExists.js';

export interface MergeResult {
  format: OutputFormat;
  /** Rows rejected across the shards (lines of the merged errors log). */
  rejected: number;
}

/** `check`: the caller's own check of the shards, run after the output's and before anything is written. */
export async function mergeOutputs(given: string, shards: readonly string[], format?: string, check?: () => Promise<void>): Promise<MergeResult> {
  if (shards.length === 0) throw new UsageError('merge needs at least one shard output file.');
  const target = await resolveOutputTarget(given);
  if (target.kind !== 'file') throw new UsageError(`merge writes a file; ${given} is a stream.`);
  const output = target.path;
  const resolved = outputFormat(target, format);
  const shardFiles = shards.flatMap((shard) => [...writtenFiles(shard, resolved), `${shard}.errors.jsonl`]);
  await assertNotAnInput([...writtenFiles(output, resolved), `${output}.errors.jsonl`], shardFiles, 'shard');
  for (const shard of shards) {
    if (format === undefined && outputFormat(shard) !== resolved) {
      throw new UsageError(`${shard} is not a ${resolved} file like ${given}; merge files of one format.`);
    }
    if (!(await pathExists(shard))) throw new FileError(`shard output ${shard} does not exist; did that shard finish?`);
  }
  await check?.();
  switch (resolved) {
    case 'jsonl':
      await concatenate(output, shards, 0);
      break;
    case 'csv':
      await mergeCsv(output, shards);
      break;
    case 'npy':
      await mergeNpy(output, shards);
      break;
    case 'parquet':
      await mergeParquet(output, shards);
      break;
  }
  return { format: resolved, rejected: await mergeErrorLogs(output, shards) };
}

/** Writes the files one after the other, each from byte `skip(file)` on, to `output` (built as a partial file). */
async function concatenate(output: string, files: readonly string[], skip: number | ((file: string) => Promise<number>), header?: Uint8Array): Promise<void> {
  const target = await PartialFile.open(output);
  try {
    if (header) await target.append(header);
    for (const file of files) {
      const start = typeof skip === 'number' ? skip : await skip(file);
      for await (const chunk of createReadStream(file, { start, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
        await target.append(chunk);
      }
    }
    await target.finish();
  } catch (error) {
    await target.abandon(true);
    throw error;
  }
}

/** Length of the first line (the header) including its newline, and its text; 0 and '' for an empty file. */
async function firstLine(file: string): Promise<{ length: number; text: string }> {
  const handle = await open(file, 'r');
  try {
    let collected = Buffer.alloc(0);
    const buffer = Buffer.alloc(1 << 16);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, collected.length);
      if (bytesRead === 0) return { length: collected.length, text: collected.toString('utf8') };
      collected = Buffer.concat([collected, buffer.subarray(0, bytesRead)]);
      const newline = collected.indexOf(0x0a);
      if (newline >= 0) return { length: newline + 1, text: collected.subarray(0, newline).toString('utf8') };
    }
  } finally {
    await handle.close();
  }
}

async function mergeCsv(output: string, files: readonly string[]): Promise<void> {
  const nonEmpty: string[] = [];
  let header: string | undefined;
  for (const file of files) {
    const line = await firstLine(file);
    if (line.length === 0) continue; // a shard whose rows were all rejected: no header, no rows
    if (header !== undefined && line.text !== header) {
      throw new UsageError(`${file} has the header ${JSON.stringify(line.text)}, not ${JSON.stringify(header)} like the shards before it.`);
    }
    header ??= line.text;
    nonEmpty.push(file);
  }
  await concatenate(output, nonEmpty, async (file) => (file === nonEmpty[0] ? 0 : (await firstLine(file)).length));
}

async function mergeNpy(output: string, files: readonly string[]): Promise<void> {
  let rows = 0;
  let width: number | undefined;
  const nonEmpty: string[] = [];
  for (const file of files) {
    const handle = await open(file, 'r');
    const bytes = Buffer.alloc(NPY_HEADER_BYTES);
    await handle.read(bytes, 0, NPY_HEADER_BYTES, 0).finally(() => handle.close());
    const shape = parseNpyHeader(bytes, file);
    if (shape.rows === 0) continue;
    if (width !== undefined && shape.width !== width) throw new UsageError(`${file} has ${shape.width} columns, the shards before it ${width}.`);
    width = shape.width;
    rows += shape.rows;
    nonEmpty.push(file);
  }
  await concatenate(output, nonEmpty, NPY_HEADER_BYTES, npyHeader(rows, width ?? 0));
  await mergeCsv(npyIdsPath(output), nonEmpty.map(npyIdsPath));
}

async function mergeParquet(output: string, files: readonly string[]): Promise<void> {
  const shards: { buffer: Awaited<ReturnType<typeof asyncBufferFromFile>>; groups: number[] }[] = [];
  let columns: ParquetColumn[] = [];
  for (const file of files) {
    const buffer = await asyncBufferFromFile(file);
    const metadata = await parquetMetadataAsync(buffer);
    const text = metadata.key_value_metadata?.find((kv) => kv.key === COLUMNS_METADATA_KEY)?.value;
    if (text === undefined) throw new UsageError(`${file} was not written by igbert (no ${COLUMNS_METADATA_KEY} metadata).`);
    const shardColumns = JSON.parse(text) as ParquetColumn[];
    if (shardColumns.length > 0) {
      if (columns.length === 0) columns = shardColumns.map((column) => ({ ...column }));
      else if (shardColumns.map((c) => c.name).join('\0') !== columns.map((c) => c.name).join('\0')) {
        throw new UsageError(`${file} has other columns than the shards before it.`);
      } else {
        columns = columns.map((column, i) => widenColumn(column, shardColumns[i] as ParquetColumn, file));
      }
    }
    shards.push({ buffer, groups: metadata.row_groups.map((group) => Number(group.num_rows)) });
  }
  async function* rows(): AsyncGenerator<unknown[]> {
    for (const shard of shards) {
      let start = 0;
      for (const size of shard.groups) {
        for (const row of await parquetReadObjects({ file: shard.buffer, rowStart: start, rowEnd: start + size })) {
          yield columns.map((column) => storedFromParquet(column, row[column.name]));
        }
        start += size;
      }
    }
  }
  const assembling = `${output}.assembling`;
  try {
    await writeParquetFile(assembling, columns, rows());
    await publishFile(assembling, output);
  } finally {
    await rm(assembling, { force: true });
    await rm(partialPath(output), { force: true });
  }
}

function storedFromParquet(column: ParquetColumn, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (column.kind) {
    case 'int':
    case 'double':
      return Number(value);
    case 'vector':
      return Float32Array.from(value as ArrayLike<number>);
    case 'vectors':
      return (value as ArrayLike<number>[]).map((vector) => Float32Array.from(vector));
    default:
      return value;
  }
}

async function mergeErrorLogs(output: string, shards: readonly string[]): Promise<number> {
  const logs: string[] = [];
  for (const shard of shards) if (await pathExists(`${shard}.errors.jsonl`)) logs.push(`${shard}.errors.jsonl`);
  const target = `${output}.errors.jsonl`;
  if (logs.length === 0) {
    await rm(target, { force: true });
    return 0;
  }
  await concatenate(target, logs, 0);
  let lines = 0;
  for await (const chunk of createReadStream(target) as AsyncIterable<Buffer>) for (const byte of chunk) if (byte === 0x0a) lines++;
  return lines;
}
