/**
 * The ordered writer: result rows and rejected rows of each chunk, in input order, into the output and its error log,
 * then committed — output and log fsynced, `<output>.progress.json` replaced — which is what --resume continues from.
 */
import type { ResultRow, ResultWriter } from '../../io/resultWriter.js';
import { removeCheckpoint, writeCheckpoint, type JobCheckpoint } from '../checkpoint.js';
import { outputIdentity } from './resume.js';
import type { RejectLog } from '../rejects.js';
import type { Rejection } from './chunks.js';

const noop = (): void => {};

export class JobOutput {
  /** Input rows committed (rejected ones included); a resumed run starts with the checkpoint's count. */
  rowsDone: number;
  /** Whether anything is committed: a failed run then keeps its partial files for --resume. */
  committed: boolean;

  constructor(
    private readonly writer: ResultWriter,
    readonly rejects: RejectLog,
    private readonly record: {
      output: string;
      toFile: boolean;
      job: Record<string, unknown>;
      input: JobCheckpoint['input'];
    },
    resumed: JobCheckpoint | undefined,
  ) {
    this.rowsDone = resumed?.rowsDone ?? 0;
    this.committed = resumed !== undefined;
  }

  /** Writes one chunk's rows (`size` input rows, `rejected` among them) and commits it. */
  async writeChunk(size: number, rejected: readonly Rejection[], rows: readonly ResultRow[]): Promise<void> {
    for (const { numbered, error } of rejected) await this.rejects.reject(numbered.row, numbered.record.id, error);
    for (const row of rows) await this.writer.write(row);
    const rowsDone = this.rowsDone + size;
    // Counted only once committed: after a failed commit (a full disk), rowsDone still says what --resume will skip.
    if (this.record.toFile) await writeCheckpoint(this.record.output, await this.checkpoint(await this.writer.commit(), rowsDone));
    this.rowsDone = rowsDone;
    this.committed ||= this.record.toFile;
  }

  private async checkpoint(output: JobCheckpoint['output'], rowsDone = this.rowsDone): Promise<JobCheckpoint> {
    const { job, input } = this.record;
    return { format: 'igbert-progress', version: 1, job, input, rowsDone, output, rejects: await this.rejects.commit() };
  }

  /** Publishes the output and the error log, and records the run as finished (what --resume and merge check). */
  async finish(): Promise<void> {
    const last = this.record.toFile ? await this.checkpoint(await this.writer.commit()) : undefined;
    await this.writer.finish();
    await this.rejects.close();
    const finished = last && (await outputIdentity(this.record.output));
    if (last && finished) await writeCheckpoint(this.record.output, { ...last, finished });
  }

  /** On failure: keeps the committed partial files for --resume (`keep`), or removes everything. */
  async abandon(keep = this.committed && this.record.toFile): Promise<void> {
    await this.writer.abandon(!keep).catch(noop);
    await this.rejects.abandon(!keep).catch(noop);
    if (!keep && this.record.toFile) await removeCheckpoint(this.record.output).catch(noop);
  }
}
