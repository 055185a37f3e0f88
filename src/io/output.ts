/** Line-oriented output to a file or stdout ("-"), honouring backpressure, written atomically for files. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { FileError } from '../errors.js';

export class LineWriter {
  private constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly path: string,
    private readonly tmpPath: string | undefined,
  ) {}

  /** Opens `path` for writing ("-" = stdout). Files are written to `path.tmp-PID` and renamed on close. */
  static async open(path: string): Promise<LineWriter> {
    if (path === '-') return new LineWriter(process.stdout, path, undefined);
    const tmpPath = `${path}.tmp-${process.pid}`;
    const stream: WriteStream = createWriteStream(tmpPath);
    try {
      await once(stream, 'open');
    } catch (cause) {
      throw new FileError(`cannot write ${path}: ${(cause as Error).message}. Check that the folder exists and is writable.`, {
        cause,
      });
    }
    return new LineWriter(stream, path, tmpPath);
  }

  async write(line: string): Promise<void> {
    if (!this.stream.write(line + '\n')) await once(this.stream, 'drain');
  }

  /** Finishes the file (rename into place) — or, with `keep = false`, removes the partial file. */
  async close(keep = true): Promise<void> {
    if (!this.tmpPath) return;
    const stream = this.stream as WriteStream;
    stream.end();
    await once(stream, 'close');
    if (keep) await rename(this.tmpPath, this.path);
    else await rm(this.tmpPath, { force: true });
  }
}
