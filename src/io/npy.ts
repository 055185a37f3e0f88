/**
 * NPY 1.0 of a little-endian float32 C-order matrix [rows, width], as `numpy.load` reads it: the one NPY writer of the
 * CLI (src/io/npyWriter.ts, which streams the rows) and the web page's download (`npyBytes`, all at once).
 * The header has a fixed size of 128 bytes, padded with spaces as numpy's format allows, so that the CLI can write it
 * first and rewrite it in place with the final row count. Isomorphic: no Node imports.
 */
import { UnsupportedError, UsageError } from '../errors.js';

export const NPY_HEADER_BYTES = 128;
const MAGIC = [0x93, ...'NUMPY'].map((c) => (typeof c === 'number' ? c : c.charCodeAt(0)));
const VERSION = [1, 0];
const DICT_START = MAGIC.length + VERSION.length + 2;

/** Float32Array bytes are the machine's byte order; NPY's '<f4' needs little-endian. */
export function assertLittleEndian(): void {
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) throw new UnsupportedError('NPY output is written on little-endian machines only.');
}

/** The 128-byte header of a float32 matrix [rows, width]. */
export function npyHeader(rows: number, width: number): Uint8Array {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${width}), }`;
  const text = dict.padEnd(NPY_HEADER_BYTES - DICT_START - 1, ' ') + '\n';
  const header = new Uint8Array(NPY_HEADER_BYTES);
  header.set([...MAGIC, ...VERSION]);
  new DataView(header.buffer).setUint16(MAGIC.length + VERSION.length, text.length, true);
  for (let i = 0; i < text.length; i++) header[DICT_START + i] = text.charCodeAt(i);
  return header;
}

/** Reads the header of an NPY file this writer produced: [rows, width]; throws on anything else. */
export function parseNpyHeader(bytes: Uint8Array, path: string): { rows: number; width: number } {
  const text = String.fromCharCode(...bytes.subarray(DICT_START, NPY_HEADER_BYTES));
  const match = /^\{'descr': '<f4', 'fortran_order': False, 'shape': \((\d+), (\d+)\), \}\s*$/.exec(text);
  if (bytes.length < NPY_HEADER_BYTES || bytes[0] !== MAGIC[0] || !match) {
    throw new UsageError(`${path} is not an NPY float32 matrix written by igbert.`);
  }
  return { rows: Number(match[1]), width: Number(match[2]) };
}

/** A whole NPY file of `rows`, each `width` float32 values. */
export function npyBytes(rows: readonly Float32Array[], width: number): Uint8Array {
  assertLittleEndian();
  const out = new Uint8Array(NPY_HEADER_BYTES + rows.length * width * 4);
  out.set(npyHeader(rows.length, width));
  rows.forEach((row, i) => {
    if (row.length !== width) throw new UsageError(`NPY: row ${i + 1} has ${row.length} values, not ${width} like the others.`);
    out.set(new Uint8Array(row.buffer, row.byteOffset, row.byteLength), NPY_HEADER_BYTES + i * width * 4);
  });
  return out;
}
