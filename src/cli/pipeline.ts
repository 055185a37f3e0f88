/**
 * The shared shape of every record command (embed, score, mutate, fill): input → chunks → work → ordered writer.
 * Rows stream in chunks (pipeline/chunks.ts); each row is validated, and a bad row is logged to
 * <output>.errors.jsonl and skipped while all valid rows are processed; the model runs on a chunk's valid rows
 * (pipeline/work.ts); result rows are written in input order and committed chunk by chunk (pipeline/jobOutput.ts).
 * Returns the command's exit code.
 *
 * At scale: reading + validating the next chunk and writing the previous one overlap with the model's work on the
 * current one, with at most three chunks in memory, whatever the input size. Around that core, separate pieces:
 * --resume (pipeline/resume.ts, continuing from the last commit), --shard k/N (shard.ts, a contiguous range of rows),
 * --strict (pipeline/strict.ts, everything validated before any work) and --keep-cols (pipeline/keptColumns.ts).
 */
import { UsageError } from '../errors.js';
import { describeColumns, isDefaultColumns } from '../io/columns.js';
import { checkOutputHolds, type ColumnSpec } from '../io/outputFormats.js';
import { inputIdentity } from '../io/inputSource.js';
import { assertNotAnInput, assertOutsideFolders, resolveOutputTarget, type OutputTarget } from '../io/outputTarget.js';
import { partialPath } from '../io/partialFile.js';
import { inputFormat, openRecords, type NumberedRecord, type ReadOptions, type RecordSource } from '../io/readRecords.js';
import { openResultWriter, outputFormat, writtenFiles, type OutputFormat } from '../io/resultWriter.js';
import { progressPath, type JobCheckpoint } from './checkpoint.js';
import { EXIT } from './exitCodes.js';
import { preparedChunks, rowValidator, type PreparedChunk } from './pipeline/chunks.js';
import { JobOutput } from './pipeline/jobOutput.js';
import { KeptColumns } from './pipeline/keptColumns.js';
import { startPoint } from './pipeline/resume.js';
import { checkEveryRow } from './pipeline/strict.js';
import { startChunk, UnitSlots, type ProcessRows, type UnitPlan } from './pipeline/work.js';
import { resolveBatching } from '../batches/planBatches.js';
import { describeEngine, type EngineInfo, type EngineWork } from '../runtime/engine.js';
import { OptionMisfits } from './optionFit.js';
import type { ProgressStream } from '../io/progressLine.js';
import { Progress } from './progress.js';
import type { ResidueCap } from './residueCap.js';
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
  /** The model's folder (or a Hub id): no output file may land inside it. */
  modelFolder?: string;
  /** The model's token budget per batch: units of work are its batches (default: the batcher's). */
  maxBatchTokens?: number;
  /** Where progress goes (stderr), and between plain lines when it is not a terminal (default 30 s). */
  progress?: { stream?: ProgressStream; intervalMs?: number; now?: () => number };
}

export interface PipelineSteps<T> {
  /** Validates one row; throw InputError to reject it. */
  prepare(numbered: NumberedRecord): T;
  /** Rows with more residues are rejected before any model work (see residueCap.ts). */
  maxResidues?: ResidueCap;
  /** Runs the model on valid rows: one result row, or one group of result rows, per item, in order. */
  process: ProcessRows<T>;
  /**
   * The model's engine: units of work are its batches, as many in flight as it takes; progress names it and, when it
   * spreads over several GPUs, shows each one's throughput.
   */
  engine?: { readonly engineInfo: EngineInfo; deviceWork?(): EngineWork[] | undefined };
}

/** What a command tells the pipeline before the model loads. */
export interface JobSpec {
  /** The columns of the command's result rows (they may depend on the format): checked against the format. */
  columns?: readonly ColumnSpec[] | ((format: OutputFormat) => readonly ColumnSpec[]);
  /** Checks the input's column names (undefined for FASTA, which has none); throws UsageError when one is missing. */
  checkInput?(names: readonly string[] | undefined): void;
}

const noop = (): void => {};

/**
 * A job before the model is loaded: options checked, the output target resolved, where to start known (a finished
 * output needs no model at all), the shard's rows counted, and the input opened up to its first row, so that a
 * missing column is a usage error before any work. `run` does the work.
 */
export class Job {
  private range: RowRange = { start: 0, end: Infinity };
  private checkpoint: JobCheckpoint | undefined;
  private done: number | undefined;
  private source: RecordSource | undefined;
  private inputColumns: readonly string[] | undefined;

  private constructor(
    private readonly options: PipelineOptions,
    private readonly keep: KeptColumns,
    private readonly target: OutputTarget,
    readonly format: OutputFormat,
    private readonly input: JobCheckpoint['input'],
  ) {}

  /** The exit code when --resume found the output already complete: there is nothing to run. */
  get finished(): number | undefined {
    return this.done;
  }

  static async open(options: PipelineOptions, spec: JobSpec = {}): Promise<Job> {
    const target = await resolveOutputTarget(options.output);
    const format = outputFormat(target, options.format);
    const columns = typeof spec.columns === 'function' ? spec.columns(format) : spec.columns;
    if (columns) checkOutputHolds(format, target, columns);
    const keep = new KeptColumns(options.keepColumns ?? [], columns);
    const toFile = target.kind === 'file';
    if (toFile) {
      await assertNotAnInput(jobFiles(target.path, format), [options.input]);
      await assertOutsideFolders(jobFiles(target.path, format), options.modelFolder ? [options.modelFolder] : [], 'model folder');
    }
    if (options.resume && !toFile) throw new UsageError('--resume needs --output FILE (a stream such as stdout or a FIFO cannot be continued).');
    for (const [flag, reason] of [
      ['shard', 'the input is read once to count its rows, then for the shard'],
      ['strict', 'the input is read twice, checked and then processed'],
    ] as const) {
      if (options[flag] && options.input === '-') throw new UsageError(`--${flag} needs --input FILE: ${reason}.`);
    }
    const fasta = inputFormat(options.input, options.inputFormat) === 'fasta';
    if ((options.keepColumns ?? []).length > 0 && fasta) {
      throw new UsageError('--keep-cols needs CSV, TSV or JSONL input: FASTA has no columns to keep.');
    }
    const job = new Job(options, keep, target, format, (await inputIdentity(options.input)) ?? null);
    const start = toFile ? await startPoint(target.path, Boolean(options.resume), options.job ?? {}, job.input, note(options)) : {};
    if (start.finished !== undefined) {
      job.done = start.finished;
      return job;
    }
    job.checkpoint = start.checkpoint;
    if (options.shard) await job.countShard(options.shard);
    job.source = await job.openInput();
    spec.checkInput?.(fasta ? undefined : job.inputColumns);
    return job;
  }

  private get chunkRows(): number {
    return this.options.chunkRows ?? 1024;
  }

  private readOptions(announce: boolean): ReadOptions {
    return {
      ...this.options,
      onColumns: (resolved, names) => {
        this.keep.resolve(resolved, names);
        this.inputColumns = names;
        if (announce && !isDefaultColumns(resolved)) note(this.options)(`input columns: ${describeColumns(resolved)}`);
      },
    };
  }

  private async countShard(shard: Shard): Promise<void> {
    let total = 0;
    for await (const _ of (await openRecords(this.options.input, this.readOptions(false))).records) total++;
    this.range = shardRange(total, shard, this.chunkRows);
    note(this.options)(
      this.range.end > this.range.start
        ? `shard ${shard.index}/${shard.count}: rows ${this.range.start + 1}-${this.range.end} of ${total}`
        : `shard ${shard.index}/${shard.count}: no rows (${total} rows make fewer chunks than shards)`,
    );
  }

  /** Opens the input and reads up to its first row (the header comes with it); the row is put back. */
  private async openInput(): Promise<RecordSource> {
    const source = await openRecords(this.options.input, this.readOptions(true));
    const first = await source.records.next();
    async function* records(): AsyncGenerator<NumberedRecord> {
      if (first.done) return;
      yield first.value;
      yield* source.records;
    }
    return { ...source, records: records() };
  }

  async run<T>(steps: PipelineSteps<T>): Promise<number> {
    if (this.done !== undefined) return this.done;
    const { options, target, range, checkpoint } = this;
    const source = this.source as RecordSource;
    this.source = undefined;
    const toFile = target.kind === 'file';
    const validate = rowValidator(steps.prepare, steps.maxResidues);
    if (options.strict) {
      await checkEveryRow((await openRecords(options.input, this.readOptions(false))).records, range, validate, target);
    }
    const writer = await openResultWriter(target, this.format, checkpoint?.output);
    const rejects = checkpoint ? await RejectLog.resume(target, checkpoint.rejects) : new RejectLog(target);
    const output = new JobOutput(writer, rejects, { output: target.path, toFile, job: options.job ?? {}, input: this.input }, checkpoint);
    const progress = new Progress({
      quiet: Boolean(options.quiet),
      ...options.progress,
      ...(steps.engine ? { engine: describeEngine(steps.engine.engineInfo) } : {}),
      ...(steps.engine?.deviceWork ? { devices: () => steps.engine?.deviceWork?.() ?? [] } : {}),
      ...(Number.isFinite(range.end)
        ? { total: { rows: range.end - range.start - output.rowsDone } }
        : source.totalBytes
          ? { total: { bytes: source.totalBytes } }
          : {}),
    });
    const chunks = preparedChunks(source.records, { start: range.start + output.rowsDone, end: range.end }, this.chunkRows, validate, source.bytesRead);
    const misfits = new OptionMisfits();
    let misfit: UsageError | undefined;
    let counts = { rejected: 0, written: 0 };
    try {
      counts = await this.overlap(chunks, steps, output, progress, misfits);
      // A resumed run cannot tell what its first part rejected: the rule is for runs that saw every row.
      misfit = checkpoint ? undefined : misfits.usageError();
      if (!misfit) await output.finish();
    } catch (error) {
      await output.abandon();
      if (output.committed && toFile) {
        // Said even with --quiet: it is how to recover from the error that follows.
        process.stderr.write(`igbert: stopped after ${output.rowsDone} committed rows; run the same command with --resume to continue from there.\n`);
      }
      throw error;
    }
    if (misfit) {
      await output.abandon(false);
      throw misfit;
    }
    progress.finish(counts);
    if (rejects.count > 0) {
      process.stderr.write(`igbert: ${rejects.count} row(s) rejected (${rejects.listed}); all other rows were processed.\n`);
      return EXIT.rowsRejected;
    }
    return EXIT.ok;
  }

  /**
   * The model works on chunk k while chunk k+1 is read and validated and chunk k-1 is written and committed; chunk k's
   * first units start while chunk k-1's last ones still run (one pool of unit slots, see work.ts), so the engine does
   * not drain at chunk boundaries. At most three chunks are in memory. Progress moves after each unit of work (a
   * batch). Returns the rows this run rejected and wrote.
   */
  private async overlap<T>(
    chunks: AsyncGenerator<PreparedChunk<T>>,
    steps: PipelineSteps<T>,
    output: JobOutput,
    progress: Progress,
    misfits: OptionMisfits,
  ): Promise<{ rejected: number; written: number }> {
    const plan: UnitPlan = {
      batching: resolveBatching(this.options.maxBatchTokens ? { maxBatchTokens: this.options.maxBatchTokens } : {}, steps.engine?.engineInfo.batching),
      layout: steps.engine?.engineInfo.layout ?? 'padded',
      concurrency: steps.engine?.engineInfo.concurrency ?? 1,
    };
    const slots = new UnitSlots(plan.concurrency);
    const counts = { rejected: 0, written: 0, seen: 0 };
    let next = chunks.next();
    next.catch(noop);
    // Chunks are written one after another, in input order: the last write started, and the one before it.
    let writing: Promise<void> = Promise.resolve();
    let writtenBefore: Promise<void> = Promise.resolve();
    try {
      for (;;) {
        const { value: chunk, done } = await next;
        if (done) break;
        counts.seen += chunk.size;
        if (chunk.last) progress.knowRows(counts.seen);
        // Rows done in this chunk → how far into the input the work has reached.
        let rowsDone = chunk.rejected.length;
        const reached = (): number => chunk.bytes.from + ((chunk.bytes.to - chunk.bytes.from) * rowsDone) / chunk.size;
        if (rowsDone > 0) progress.worked(rowsDone, 0, reached());
        const work = startChunk(chunk, steps.process, plan, slots, (rows, residues) => {
          rowsDone += rows;
          progress.worked(rows, residues, reached());
        });
        work.done.catch(noop);
        const previous = writing;
        writing = (async () => {
          const { results, sources, rejected: failed } = await work.done;
          const rows = this.keep.rows(results, sources);
          const rejected = [...chunk.rejected, ...failed].sort((a, b) => a.numbered.row - b.numbered.row);
          await previous;
          misfits.note(sources.length, rejected);
          counts.rejected += rejected.length;
          counts.written += rows.length;
          await output.writeChunk(chunk.size, rejected, rows);
        })();
        writing.catch(noop);
        // Chunk k-2 is out of memory before chunk k+1 comes in.
        await writtenBefore;
        writtenBefore = previous;
        next = chunks.next();
        next.catch(noop);
        // Once its last unit has started, the next chunk's units queue behind it.
        await work.dispatched;
      }
      await writing;
      return counts;
    } catch (error) {
      await slots.settled();
      await writing.catch(noop);
      await next.catch(noop);
      await chunks.return(undefined).catch(noop);
      throw error;
    }
  }

  /** Closes the input when the job is not run (the model failed to load, or it was finished). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.source?.records.return(undefined);
    this.source = undefined;
  }
}

/** Checks the options and opens the job (see Job); load the model only when `job.finished` is undefined. */
export function openJob(options: PipelineOptions, spec: JobSpec = {}): Promise<Job> {
  return Job.open(options, spec);
}

/** Every file a job at `path` writes: the output (and NPY's ids file), each as .partial, the error log, the checkpoint. */
function jobFiles(path: string, format: OutputFormat): string[] {
  const published = [...writtenFiles(path, format), `${path}.errors.jsonl`];
  return [...published, ...published.map(partialPath), progressPath(path)];
}

/** A whole job: open it, then run `steps`. */
export async function runRecordPipeline<T>(options: PipelineOptions, steps: PipelineSteps<T>, spec: JobSpec = {}): Promise<number> {
  await using job = await openJob(options, spec);
  return await job.run(steps);
}

const note =
  (options: PipelineOptions) =>
  (text: string): void => {
    if (!options.quiet) process.stderr.write(`igbert: ${text}\n`);
  };
