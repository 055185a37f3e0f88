/**
 * Rejected input rows: each goes to <output>.errors.jsonl (or stderr when the output is stdout) with its row number,
 * id and reason, while every valid row is still processed. The command then exits with EXIT.rowsRejected.
 */
import { InputError } from '../errors.js';
import { rm } from 'node:fs/promises';
import { LineWriter } from '../io/output.js';

export class RejectLog {
  private writer: LineWriter | undefined;
  count = 0;

  constructor(private readonly outputPath: string) {}

  get path(): string {
    return this.outputPath === '-' ? '(stderr)' : `${this.outputPath}.errors.jsonl`;
  }

  async reject(row: number, id: string | undefined, error: InputError): Promise<void> {
    this.count++;
    const entry = JSON.stringify({ row, id: id ?? null, code: error.code, error: error.message, ...error.location });
    if (this.outputPath === '-') {
      process.stderr.write(`igbert: rejected row ${row}: ${error.message}\n`);
      return;
    }
    this.writer ??= await LineWriter.open(this.path);
    await this.writer.write(entry);
  }

  /** Finishes the log; a stale log from an earlier run of the same output is removed when nothing was rejected. */
  async close(): Promise<void> {
    if (this.writer) await this.writer.close();
    else if (this.outputPath !== '-') await rm(this.path, { force: true });
  }
}
