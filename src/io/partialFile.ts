/**
 * Where output bytes go. A file output is built at `<path>.partial`: appended to through a buffer, made durable by
 * `commit()` (flush + fsync, returns the committed length), renamed to `path` by `finish()`. A resumed run reopens
 * the partial file and cuts it back to the length of the last commit, so bytes written after it (a chunk that was
 * being written when the process died) disappear. A stream (stdout, a FIFO) is a sink that can neither resume nor
 * rewind: bytes go straight through, and there is no partial file to rename.
 */
import { createWriteStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import { FileError } from '../errors.js';
import { publishFile, type OutputTarget } from './outputTarget.js';

/**
 * The reader of a stream output went away (EPIPE: `igbert ... | head`). Not a failure: the CLI stops quietly with
 * exit 0, as Unix tools do when their reader has all it wants.
 */
export class OutputClosedError extends FileError {
  constructor(cause: unknown) {
    super('the reader of the output closed it; stopped writing.', { cause });
  }
}

/** A failed write as the user can act on it: a full disk or quota says so, in words. */
export function writeError(path: string, cause: unknown): FileError {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === 'EPIPE') return new OutputClosedError(cause);
  const reason =
    code === 'ENOSPC'
      ? 'no space left on the device; free some space'
      : code === 'EDQUOT'
        ? 'the disk quota is used up; free some space'
        : code === 'EFBIG'
          ? 'the file is larger than this file system allows'
          : (cause as Error).message;
  return new FileError(`cannot write ${path}: ${reason}.`, { cause });
}

export interface ByteSink {
  /** Bytes appended so far, committed or not. */
  readonly length: number;
  append(data: string | Uint8Array): Promise<void>;
  /** Makes every appended byte durable; returns that length. */
  commit(): Promise<number>;
  /** Writes the final bytes in place and publishes the file under its final name. */
  finish(): Promise<void>;
  /** Closes without publishing; `remove` also deletes the partial file. */
  abandon(remove: boolean): Promise<void>;
}

const BUFFER_BYTES = 1 << 20;

export const partialPath = (path: string): string => `${path}.partial`;

export class PartialFile implements ByteSink {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written: number;

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    start: number,
  ) {
    this.written = start;
  }

  /**
   * Opens `<path>.partial`: empty for a fresh run, or cut back to `resumeLength` bytes for a resumed one (a partial
   * file shorter than that was not written by the run that recorded it, and is refused).
   */
  static async open(path: string, resumeLength?: number): Promise<PartialFile> {
    const file = partialPath(path);
    let handle: FileHandle;
    try {
      handle = await open(file, resumeLength === undefined ? 'w' : 'r+');
    } catch (cause) {
      const error = cause as NodeJS.ErrnoException;
      if (resumeLength !== undefined && error.code === 'ENOENT') {
        throw new FileError(`cannot resume: ${file} is missing. Run again without --resume to start over.`, { cause });
      }
      throw new FileError(`cannot write ${path}: ${error.message}. Check that the folder exists and is writable.`, { cause });
    }
    if (resumeLength !== undefined) {
      const { size } = await handle.stat();
      if (size < resumeLength) {
        await handle.close();
        throw new FileError(
          `cannot resume: ${file} has ${size} bytes but ${resumeLength} were committed; it was changed by something else. ` +
            'Run again without --resume to start over.',
        );
      }
      await handle.truncate(resumeLength);
    }
    return new PartialFile(handle, path, resumeLength ?? 0);
  }

  get length(): number {
    return this.written + this.pendingBytes;
  }

  async append(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= BUFFER_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.writing(() => this.handle.write(data, 0, data.length, this.written));
    this.written += data.length;
  }

  /** Runs a write to the file; its failure (a full disk, ...) becomes a FileError naming the output. */
  private async writing(write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (cause) {
      throw writeError(this.path, cause);
    }
  }

  async commit(): Promise<number> {
    await this.flush();
    await this.writing(() => this.handle.sync());
    return this.written;
  }

  /** Overwrites bytes already written (the NPY header, whose row count is known only at the end). */
  async writeAt(position: number, bytes: Uint8Array): Promise<void> {
    await this.flush();
    await this.writing(() => this.handle.write(bytes, 0, bytes.length, position));
  }

  async finish(): Promise<void> {
    await this.commit();
    await this.handle.close();
    await publishFile(partialPath(this.path), this.path);
  }

  async abandon(remove: boolean): Promise<void> {
    await this.handle.close().catch(() => undefined);
    if (remove) await rm(partialPath(this.path), { force: true });
  }
}

/**
 * A stream target (stdout, a FIFO, /dev/null) as a sink: written through, with backpressure; nothing to commit, resume
 * or rename. A write error is kept from the stream's 'error' event (never left unhandled) and thrown by the next call.
 */
export class StreamSink implements ByteSink {
  length = 0;
  private failure: unknown;

  private constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly name: string,
    /** Ours to close (a FIFO we opened), unlike stdout. */
    private readonly owned: boolean,
  ) {
    stream.on('error', (error) => (this.failure ??= error));
  }

  static async open(target: OutputTarget): Promise<StreamSink> {
    if (target.path === '-') return new StreamSink(process.stdout, 'stdout', false);
    const stream = createWriteStream(target.path);
    try {
      await once(stream, 'open');
    } catch (cause) {
      throw new FileError(`cannot write ${target.given}: ${(cause as Error).message}`, { cause });
    }
    return new StreamSink(stream, target.given, true);
  }

  private check(): void {
    if (this.failure !== undefined) throw writeError(this.name, this.failure);
  }

  async append(data: string | Uint8Array): Promise<void> {
    this.check();
    this.length += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (!this.stream.write(data)) await Promise.race([once(this.stream, 'drain'), once(this.stream, 'close')]).catch(() => undefined);
    this.check();
  }

  async commit(): Promise<number> {
    this.check();
    return this.length;
  }

  async finish(): Promise<void> {
    if (this.owned) {
      this.stream.end();
      await once(this.stream, 'close').catch(() => undefined);
    } else {
      await new Promise<void>((resolve) => this.stream.write('', () => resolve()));
    }
    this.check();
  }

  async abandon(): Promise<void> {
    if (this.owned) (this.stream as NodeJS.WritableStream & { destroy(): void }).destroy();
  }
}

/** The sink of a target: a stream, a fresh partial file, or a partial file cut back to `resumeLength` bytes. */
export async function openSink(target: OutputTarget, resumeLength?: number): Promise<ByteSink> {
  if (target.kind === 'stream') return await StreamSink.open(target);
  return await PartialFile.open(target.path, resumeLength);
}
