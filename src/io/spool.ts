/**
 * A spool: rows appended as length-prefixed frames (4-byte little-endian length + the row in V8's structured-clone
 * serialisation, which keeps Float32Arrays as raw bytes). It is the resumable part of a Parquet output, which can
 * only be assembled once every row is known; read back front to back with `readSpool`.
 */
import { createReadStream } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { FileError } from '../errors.js';

export function spoolFrame(values: readonly unknown[]): Buffer {
  const body = serialize(values);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length, 0);
  return Buffer.concat([length, body]);
}

/** The rows of a spool file in order. */
export async function* readSpool(path: string): AsyncGenerator<unknown[]> {
  let buffered: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    let offset = 0;
    while (buffered.length - offset >= 4) {
      const length = buffered.readUInt32LE(offset);
      if (buffered.length - offset - 4 < length) break;
      yield deserialize(buffered.subarray(offset + 4, offset + 4 + length)) as unknown[];
      offset += 4 + length;
    }
    buffered = buffered.subarray(offset);
  }
  if (buffered.length > 0) throw new FileError(`${path} ends in the middle of a row; it was cut short by something else.`);
}
