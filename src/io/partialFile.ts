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
    await this.handle.write(data, 0, data.length, this.written);
    this.written += data.length;
  }

  async commit(): Promise<number> {
    await this.flush();
    await this.handle.sync();
    return this.written;
  }

  /** Overwrites bytes already written (the NPY header, whose row count is known only at the end). */
  async writeAt(position: number, bytes: Uint8Array): Promise<void> {
    await this.flush();
    await this.handle.write(bytes, 0, bytes.length, position);
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

/** A stream target (stdout, a FIFO, /dev/null) as a sink: written through, with backpressure; nothing to commit, resume or rename. */
export class StreamSink implements ByteSink {
  length = 0;

  private constructor(
    private readonly stream: NodeJS.WritableStream,
    /** Ours to close (a FIFO we opened), unlike stdout. */
    private readonly owned: boolean,
  ) {}

  static async open(target: OutputTarget): Promise<StreamSink> {
    if (target.path === '-') return new StreamSink(process.stdout, false);
    const stream = createWriteStream(target.path);
    try {
      await once(stream, 'open');
    } catch (cause) {
      throw new FileError(`cannot write ${target.given}: ${(cause as Error).message}`, { cause });
    }
    return new StreamSink(stream, true);
  }

  async append(data: string | Uint8Array): Promise<void> {
    this.length += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (!this.stream.write(data)) await once(this.stream, 'drain');
  }

  async commit(): Promise<number> {
    return this.length;
  }

  async finish(): Promise<void> {
    if (!this.owned) return;
    this.stream.end();
    await once(this.stream, 'close');
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
