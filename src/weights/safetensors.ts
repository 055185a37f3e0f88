/**
 * The safetensors format, parsed, validated and written without Node APIs so that the browser build shares it.
 * We accept exactly the files the reference reader accepts (huggingface/safetensors, safetensors/src/tensor.rs,
 * `SafeTensors::read_metadata` and `Metadata::validate`): tensors sorted by offset must tile the data section with
 * no gap, no overlap and no trailing bytes. The writer reproduces `safetensors.torch.save_file` byte for byte.
 * Layout: u64 little-endian header length N, N bytes of UTF-8 JSON, then the data section.
 */
import { CheckpointError, UnsupportedError, UsageError } from '../errors.js';

/** Every dtype of the spec, in the reference's order of increasing alignment (the writer sorts by it). */
export const SAFETENSORS_DTYPES = [
  'BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0',
  'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64',
] as const;
export type SafetensorsDType = (typeof SAFETENSORS_DTYPES)[number];

/** Bits per element; bits, not bytes, because F4 and F6 pack several elements into a byte. */
export const SAFETENSORS_DTYPE_BITS: Readonly<Record<SafetensorsDType, number>> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};

/** The reference reader's cap on the JSON header (MAX_HEADER_SIZE): larger headers are refused before reading. */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

/** One tensor of a safetensors file: where its bytes are and what they mean. */
export interface TensorInfo {
  /** The key in the file, e.g. "bert.encoder.layer.0.attention.self.query.weight". */
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** [begin, end) relative to the data section, as in the header. */
  readonly dataOffsets: readonly [number, number];
  /** Byte offset of the first element from the start of the file: 8 + header length + begin. */
  readonly absoluteOffset: number;
  readonly byteLength: number;
  /** The file name or path given to the parser, for reading and for messages. */
  readonly file: string;
}

export interface SafetensorsFile {
  readonly file: string;
  readonly fileSize: number;
  /** N, the JSON header's length in bytes (padding included). */
  readonly headerLength: number;
  /** The header's `__metadata__` map ({} when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors by name, in data-section order. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
}

/** The float dtypes igbert turns into weights; anything else is refused rather than guessed at. */
export type FloatWeightDType = 'F32' | 'F16' | 'BF16';

const RESAVE_HINT =
  'The file is corrupt, truncated or was not written by safetensors: download it again, or re-save the weights ' +
  'with safetensors.torch.save_file(...) or model.save_pretrained(OUT, safe_serialization=True).';

function corrupt(file: string, problem: string, details: Record<string, unknown> = {}): CheckpointError {
  return new CheckpointError(`${file}: ${problem}. ${RESAVE_HINT}`, { details: { file, ...details } });
}

function isSafetensorsDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_BITS, value);
}

function isNonNegativeSafeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Typed-array views read the host's byte order; safetensors is little-endian, so a big-endian host would misread. */
function requireLittleEndianHost(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new UnsupportedError('igbert reads and writes safetensors on little-endian machines only.');
  }
}

/**
 * Reads and checks N from the first 8 bytes, so a reader can fetch exactly 8 + N bytes next.
 * `fileSize` is the whole file's size; `prefix` needs at least its first 8 bytes.
 */
export function safetensorsHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || prefix.byteLength < 8) {
    throw corrupt(file, `the file is ${fileSize} bytes long, shorter than the 8-byte header length field`, { fileSize });
  }
  const declared = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (declared === 0n) throw corrupt(file, 'the header length field is 0 (no JSON header)');
  if (declared > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) {
    throw corrupt(file, `the header length field says ${declared} bytes, more than the ${MAX_SAFETENSORS_HEADER_BYTES}-byte limit`, {
      headerLength: declared.toString(),
    });
  }
  const headerLength = Number(declared);
  if (8 + headerLength > fileSize) {
    throw corrupt(file, `the header length field says ${headerLength} bytes, past the end of the ${fileSize}-byte file`, {
      headerLength,
      fileSize,
    });
  }
  return headerLength;
}

function parseMetadata(raw: unknown, file: string): Record<string, string> {
  // The reference reads `null` as "no metadata".
  if (raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw corrupt(file, `"__metadata__" must be a JSON object of strings, found ${JSON.stringify(raw)}`);
  }
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') {
      throw corrupt(file, `"__metadata__" value for ${JSON.stringify(key)} must be a string, found ${JSON.stringify(value)}`);
    }
  }
  // Object.fromEntries defines own properties, so a hostile "__proto__" key stays an ordinary key.
  return Object.fromEntries(Object.entries(raw as Record<string, string>));
}

/** Bytes a tensor of this dtype and shape occupies, or a message saying why the shape cannot be stored. */
export function tensorByteLength(dtype: SafetensorsDType, shape: readonly number[]): number | string {
  let elements = 1;
  for (const dim of shape) {
    elements *= dim;
    if (!Number.isSafeInteger(elements)) return `shape [${shape.join(', ')}] has too many elements`;
  }
  const bits = elements * SAFETENSORS_DTYPE_BITS[dtype];
  if (!Number.isSafeInteger(bits)) return `shape [${shape.join(', ')}] of ${dtype} is too large`;
  if (bits % 8 !== 0) return `${elements} elements of ${dtype} do not fill a whole number of bytes`;
  return bits / 8;
}

function parseEntry(name: string, raw: unknown, file: string, dataStart: number, dataSize: number): TensorInfo {
  const where = `tensor ${JSON.stringify(name)}`;
  const fail = (problem: string): CheckpointError => corrupt(file, `${where}: ${problem}`, { tensor: name });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw fail(`expected an object {"dtype", "shape", "data_offsets"}, found ${JSON.stringify(raw)}`);
  }
  // Extra fields are ignored, as the reference reader (serde) ignores them.
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (dtype === undefined || shape === undefined || offsets === undefined) {
    const missing = ['dtype', 'shape', 'data_offsets'].filter((k) => !Object.hasOwn(raw, k));
    throw fail(`missing ${missing.map((k) => `"${k}"`).join(', ')}`);
  }
  if (!isSafetensorsDType(dtype)) {
    throw fail(`unknown dtype ${JSON.stringify(dtype)} (safetensors dtypes: ${SAFETENSORS_DTYPES.join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeSafeInteger)) {
    throw fail(`shape must be an array of non-negative integers, found ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeSafeInteger)) {
    throw fail(`data_offsets must be two non-negative integers [begin, end], found ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw fail(`data_offsets [${begin}, ${end}] end before they begin`);
  const expected = tensorByteLength(dtype, shape);
  if (typeof expected === 'string') throw fail(expected);
  if (end - begin !== expected) {
    throw fail(
      `data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${expected}`,
    );
  }
  if (end > dataSize) {
    throw fail(`data_offsets [${begin}, ${end}] run past the end of the ${dataSize}-byte data section (truncated file?)`);
  }
  return {
    name,
    dtype,
    shape: Object.freeze([...shape]),
    dataOffsets: [begin, end],
    absoluteOffset: dataStart + begin,
    byteLength: expected,
    file,
  };
}

/** Tensors sorted by offset must tile [0, dataSize) exactly, as the reference requires. */
function checkTiling(tensors: TensorInfo[], dataSize: number, file: string): void {
  let position = 0;
  let previous: TensorInfo | undefined;
  for (const tensor of tensors) {
    const [begin, end] = tensor.dataOffsets;
    if (begin < position && previous) {
      throw corrupt(
        file,
        `tensor ${JSON.stringify(tensor.name)} (bytes ${begin}..${end}) overlaps tensor ${JSON.stringify(previous.name)} ` +
          `(bytes ${previous.dataOffsets[0]}..${previous.dataOffsets[1]})`,
        { tensor: tensor.name, other: previous.name },
      );
    }
    if (begin > position) {
      throw corrupt(
        file,
        `bytes ${position}..${begin} of the data section belong to no tensor (a gap before tensor ${JSON.stringify(tensor.name)}); ` +
          'safetensors requires the tensors to cover the data section without holes',
        { tensor: tensor.name },
      );
    }
    position = end;
    previous = tensor;
  }
  if (position !== dataSize) {
    throw corrupt(
      file,
      `the tensors cover ${position} bytes but the data section holds ${dataSize}; the trailing bytes belong to no tensor`,
      { covered: position, dataSize },
    );
  }
}

/**
 * Parses and validates the header of a safetensors file. `bytes` holds at least the file's first 8 + N bytes
 * (see safetensorsHeaderLength); `fileSize` is the size of the whole file; `file` names it in messages and
 * in every TensorInfo.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, fileSize: number, file: string): SafetensorsFile {
  const headerLength = safetensorsHeaderLength(bytes, fileSize, file);
  if (bytes.byteLength < 8 + headerLength) {
    throw new UsageError(
      `parseSafetensorsHeader(${file}) needs the first ${8 + headerLength} bytes of the file, got ${bytes.byteLength}.`,
    );
  }
  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, so JSON.parse refuses it as the reference does.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch (cause) {
    throw corrupt(file, 'the header is not valid UTF-8', { cause: String(cause) });
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (cause) {
    throw corrupt(file, `the header is not valid JSON (${(cause as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw corrupt(file, 'the header must be a JSON object mapping tensor names to {dtype, shape, data_offsets}');
  }
  const dataStart = 8 + headerLength;
  const dataSize = fileSize - dataStart;
  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') metadata = parseMetadata(entry, file);
    else tensors.push(parseEntry(name, entry, file, dataStart, dataSize));
  }
  tensors.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  checkTiling(tensors, dataSize, file);
  return { file, fileSize, headerLength, metadata, tensors: new Map(tensors.map((t) => [t.name, t])) };
}

const F16_QUIET_BIT = 0x00400000;

function view16(bytes: Uint8Array): Uint16Array {
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  return new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
}

/**
 * Decodes a floating weight to float32, exactly: F16 and BF16 widen without rounding (subnormals, infinities and
 * signed zeros included; NaNs as torch's `.float()` gives them). An aligned F32 input is returned as a view over
 * `bytes` (no copy), so the caller must not reuse that buffer while the weights are alive.
 */
export function decodeToFloat32(bytes: Uint8Array, dtype: SafetensorsDType, name: string): Float32Array {
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') {
    throw new CheckpointError(
      `Tensor ${JSON.stringify(name)} has dtype ${dtype}; igbert reads floating weights stored as F32, F16 or BF16 only. ` +
        'Convert the checkpoint, e.g. model.to(torch.float32).save_pretrained(OUT, safe_serialization=True).',
      { details: { tensor: name, dtype } },
    );
  }
  requireLittleEndianHost();
  const size = SAFETENSORS_DTYPE_BITS[dtype] / 8;
  if (bytes.byteLength % size !== 0) {
    throw new CheckpointError(
      `Tensor ${JSON.stringify(name)}: ${bytes.byteLength} bytes is not a whole number of ${dtype} elements.`,
      { details: { tensor: name, dtype, byteLength: bytes.byteLength } },
    );
  }
  if (dtype === 'F32') {
    const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
    return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  }
  const source = view16(bytes);
  const out = new Float32Array(source.length);
  const outBits = new Uint32Array(out.buffer);
  if (dtype === 'BF16') {
    // bfloat16 is the top half of a float32.
    for (let i = 0; i < source.length; i++) outBits[i] = (source[i] ?? 0) << 16;
    return out;
  }
  for (let i = 0; i < source.length; i++) {
    const half = source[i] ?? 0;
    const sign = (half & 0x8000) << 16;
    const exponent = (half >> 10) & 0x1f;
    const mantissa = half & 0x3ff;
    if (exponent === 0) {
      // Zero or subnormal: mantissa x 2^-24 is exact in float32.
      const magnitude = mantissa * 2 ** -24;
      out[i] = sign ? -magnitude : magnitude;
    } else if (exponent === 0x1f) {
      // Infinity, or NaN made quiet as hardware (and torch) conversion does.
      outBits[i] = sign | 0x7f800000 | (mantissa << 13) | (mantissa ? F16_QUIET_BIT : 0);
    } else {
      // Rebias the exponent from 15 to 127.
      outBits[i] = sign | ((exponent + 112) << 23) | (mantissa << 13);
    }
  }
  return out;
}

/** A tensor to write: F32 data as Float32Array, F16 and BF16 as their raw 16-bit patterns. */
export type TensorToWrite =
  | { name: string; shape: readonly number[]; dtype: 'F32'; data: Float32Array }
  | { name: string; shape: readonly number[]; dtype: 'F16' | 'BF16'; data: Uint16Array };

const utf8 = new TextEncoder();

function compareUtf8(a: string, b: string): number {
  const left = utf8.encode(a);
  const right = utf8.encode(b);
  const length = Math.min(left.length, right.length);
  for (let i = 0; i < length; i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

function checkTensorToWrite(tensor: TensorToWrite, seen: Set<string>): void {
  const where = `encodeSafetensors: tensor ${JSON.stringify(tensor.name)}`;
  if (tensor.name === '__metadata__') throw new UsageError(`${where}: the name "__metadata__" is reserved by the format.`);
  if (seen.has(tensor.name)) throw new UsageError(`${where} is given twice.`);
  seen.add(tensor.name);
  const arrayOk = tensor.dtype === 'F32' ? tensor.data instanceof Float32Array : tensor.data instanceof Uint16Array;
  if (!arrayOk) {
    throw new UsageError(`${where}: ${tensor.dtype} data must be a ${tensor.dtype === 'F32' ? 'Float32Array' : 'Uint16Array of raw bits'}.`);
  }
  if (!tensor.shape.every(isNonNegativeSafeInteger)) {
    throw new UsageError(`${where}: shape must be non-negative integers, got ${JSON.stringify(tensor.shape)}.`);
  }
  const elements = tensor.shape.reduce((product, dim) => product * dim, 1);
  if (elements !== tensor.data.length) {
    throw new UsageError(`${where}: shape [${tensor.shape.join(', ')}] holds ${elements} elements but data has ${tensor.data.length}.`);
  }
}

/** What the header of a file to write needs to know of one tensor. */
export interface TensorLayoutEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: readonly number[];
  byteLength: number;
}

/**
 * The header of a safetensors file as `safetensors.torch.save_file` writes it: tensors sorted by descending dtype
 * alignment then by name (UTF-8 bytes), compact JSON, `__metadata__` first (its keys sorted, which the reference
 * leaves in hash order), padded with spaces to a multiple of 8 so the data section is 8-byte aligned.
 * Returns the 8-byte length + header, and the entries in the order their data must follow it.
 */
export function safetensorsLayout<T extends TensorLayoutEntry>(
  tensors: readonly T[],
  metadata?: Readonly<Record<string, string>>,
): { head: Uint8Array; ordered: T[] } {
  requireLittleEndianHost();
  const rank = (dtype: SafetensorsDType): number => SAFETENSORS_DTYPES.indexOf(dtype);
  const ordered = [...tensors].sort((a, b) => rank(b.dtype) - rank(a.dtype) || compareUtf8(a.name, b.name));
  // Built by hand: JSON.stringify of an object would move integer-like tensor names ("0", "12") to the front.
  const entries: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(compareUtf8);
    entries.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const tensor of ordered) {
    const end = offset + tensor.byteLength;
    entries.push(
      `${JSON.stringify(tensor.name)}:{"dtype":"${tensor.dtype}","shape":[${tensor.shape.join(',')}],"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = utf8.encode(`{${entries.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  if (headerLength > MAX_SAFETENSORS_HEADER_BYTES) {
    throw new UsageError(`encodeSafetensors: the header would be ${headerLength} bytes, over the format's limit.`);
  }
  const head = new Uint8Array(8 + headerLength).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLength), true);
  head.set(json, 8);
  return { head, ordered };
}

/**
 * Serialises tensors as `safetensors.torch.save_file` does (see safetensorsLayout).
 * Returns [length + header, data of each tensor...]; the data chunks are views over the callers' arrays.
 */
export function encodeSafetensors(tensors: readonly TensorToWrite[], metadata?: Readonly<Record<string, string>>): Uint8Array[] {
  const seen = new Set<string>();
  for (const tensor of tensors) checkTensorToWrite(tensor, seen);
  const { head, ordered } = safetensorsLayout(
    tensors.map((t) => ({ ...t, byteLength: t.data.byteLength })),
    metadata,
  );
  return [head, ...ordered.map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))];
}
