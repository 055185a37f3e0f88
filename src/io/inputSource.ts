/**
 * The bytes of an input file or stdin ("-"), gunzipped when they are gzip (told by the magic bytes, so `.gz` files
 * and gzipped stdin both work), with a count of the raw bytes read so far for progress and ETA.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { FileError } from '../errors.js';

export interface InputSource {
  /** Decompressed bytes. */
  stream: Readable;
  /** Raw (possibly compressed) bytes read so far. */
  bytesRead(): number;
  /** Size of the raw file; undefined for stdin. */
  totalBytes: number | undefined;
  /** Stops reading early (a shard's range ended) and releases the file. */
  close(): void;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** Size and modification time of an input file (undefined for stdin): what --resume checks to refuse a changed input. */
export async function inputIdentity(path: string): Promise<{ size: number; mtimeMs: number } | undefined> {
  if (path === '-') return undefined;
  const info = await stat(path).catch((cause: NodeJS.ErrnoException) => {
    throw fileError(path, cause);
  });
  return { size: info.size, mtimeMs: Math.trunc(info.mtimeMs) };
}

export async function openInputSource(path: string): Promise<InputSource> {
  const identity = await inputIdentity(path);
  const raw: Readable = path === '-' ? process.stdin : createReadStream(path);
  let first: Buffer | null;
  try {
    first = await peek(raw);
  } catch (cause) {
    throw fileError(path, cause as NodeJS.ErrnoException);
  }
  let bytesRead = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytesRead += chunk.length;
      callback(null, chunk);
    },
  });
  const gzip = first !== null && first[0] === GZIP_MAGIC[0] && first[1] === GZIP_MAGIC[1];
  // pipe() does not forward errors: each stage hands its error, as a FileError, to the stream the caller reads.
  const stream = new PassThrough();
  raw.on('error', (cause: NodeJS.ErrnoException) => stream.destroy(fileError(path, cause)));
  if (gzip) {
    const gunzip = createGunzip();
    gunzip.on('error', (cause: Error) =>
      stream.destroy(new FileError(`${path} is not a valid gzip file: ${cause.message}`, { cause })),
    );
    counter.pipe(gunzip).pipe(stream);
  } else {
    counter.pipe(stream);
  }
  raw.pipe(counter);
  return {
    stream,
    bytesRead: () => bytesRead,
    totalBytes: identity?.size,
    close() {
      raw.unpipe(counter);
      if (raw !== process.stdin) raw.destroy();
      stream.destroy();
    },
  };
}

/** The first bytes of a stream, put back so the stream still starts at byte 0 (null for an empty stream). */
async function peek(raw: Readable): Promise<Buffer | null> {
  await once(raw, 'readable');
  const chunk = raw.read() as Buffer | null;
  if (chunk !== null) raw.unshift(chunk);
  return chunk;
}

function fileError(path: string, cause: NodeJS.ErrnoException): FileError {
  if (cause.code === 'ENOENT') return new FileError(`input file ${path} does not exist.`, { cause });
  if (cause.code === 'EACCES') return new FileError(`input file ${path} is not readable (permission denied).`, { cause });
  if (cause.code === 'EISDIR') return new FileError(`input ${path} is a folder; give a file.`, { cause });
  return new FileError(`cannot read input ${path}: ${cause.message}`, { cause });
}
