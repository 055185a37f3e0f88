/**
 * Rejected input rows: each goes to <output>.errors.jsonl (or stderr when the output is a stream) with its row number,
 * id and reason, while every valid row is still processed. The command then exits with EXIT.rowsRejected.
 * Like the output, the log is built as a partial file that the pipeline commits with each chunk, so a resumed run
 * neither loses nor repeats a rejected row.
 */
import { rm } from 'node:fs/promises';
import type { InputError } from '../errors.js';
import { plainTarget, type OutputTarget } from '../io/outputTarget.js';
import { PartialFile } from '../io/partialFile.js';

export interface RejectCheckpoint {
  count: number;
  bytes: number;
}

export class RejectLog {
  private file: PartialFile | undefined;
  private readonly output: OutputTarget;
  count = 0;

  /** The log of an output: a resolved target, or a plain path ("-" = stdout). */
  constructor(output: OutputTarget | string) {
    this.output = plainTarget(output);
  }

  /** Continues the log of an interrupted run from its last commit. */
  static async resume(output: OutputTarget | string, checkpoint: RejectCheckpoint): Promise<RejectLog> {
    const log = new RejectLog(output);
    log.count = checkpoint.count;
    if (checkpoint.count > 0) log.file = await PartialFile.open(log.path, checkpoint.bytes);
    return log;
  }

  get path(): string {
    return `${this.output.path}.errors.jsonl`;
  }

  private get toStderr(): boolean {
    return this.output.kind === 'stream';
  }

  /** Where a person finds the rejected rows: "listed in FILE", or "listed above" when they went to stderr. */
  get listed(): string {
    return this.toStderr ? 'listed above' : `listed in ${this.path}`;
  }

  async reject(row: number, id: string | undefined, error: InputError): Promise<void> {
    this.count++;
    if (this.toStderr) {
      process.stderr.write(`igbert: rejected row ${row}: ${error.message}\n`);
      return;
    }
    // The row number is `row` here; the location's `record` is the same number under the library's name.
    const { record: _record, ...location } = error.location;
    const entry = JSON.stringify({ row, id: id ?? null, code: error.code, error: error.message, ...location });
    this.file ??= await PartialFile.open(this.path);
    await this.file.append(entry + '\n');
  }

  async commit(): Promise<RejectCheckpoint> {
    return { count: this.count, bytes: this.file ? await this.file.commit() : 0 };
  }

  /** Publishes the log; a stale log from an earlier run of the same output is removed when nothing was rejected. */
  async close(): Promise<void> {
    if (this.file) await this.file.finish();
    else if (!this.toStderr) await rm(this.path, { force: true });
  }

  /** Closes without publishing (the run failed); `remove` deletes the partial log too. */
  async abandon(remove: boolean): Promise<void> {
    if (this.file) await this.file.abandon(remove);
  }
}
