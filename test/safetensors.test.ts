/**
 * The safetensors reader and writer against files and conversions made by Python's safetensors and torch
 * (fixtures from scripts/reference/safetensors_fixtures.py), and every way a header can be corrupt or hostile.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CheckpointError, FileError, UsageError } from '../src/errors.js';
import {
  decodeToFloat32,
  encodeSafetensors,
  openSafetensors,
  parseSafetensorsHeader,
  readTensor,
  writeSafetensorsFile,
} from '../src/weights/index.js';
import type { TensorToWrite } from '../src/weights/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/safetensors/', import.meta.url));

interface ExpectedTensor {
  dtype: 'F32' | 'F16' | 'BF16';
  shape: number[];
  stored_bits: number[];
  float32_bits: number[];
}
interface ExpectedFile {
  metadata: Record<string, string>;
  tensors: Record<string, ExpectedTensor>;
}
const expected = JSON.parse(await readFile(join(FIXTURES, 'expected.json'), 'utf8')) as {
  dtypes: ExpectedFile;
  writer_reference: ExpectedFile;
};

function bitsOf(values: Float32Array): number[] {
  return [...new Uint32Array(values.buffer, values.byteOffset, values.length)];
}

function toWrite(name: string, tensor: ExpectedTensor): TensorToWrite {
  return tensor.dtype === 'F32'
    ? { name, shape: tensor.shape, dtype: 'F32', data: new Float32Array(new Uint32Array(tensor.stored_bits).buffer) }
    : { name, shape: tensor.shape, dtype: tensor.dtype, data: new Uint16Array(tensor.stored_bits) };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** A safetensors file in memory: `header` as an object or raw JSON text (or raw bytes), then `dataBytes` zeros. */
function fileBytes(header: unknown, dataBytes: number, declaredLength?: bigint): Uint8Array {
  const json =
    header instanceof Uint8Array ? header : new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function parse(bytes: Uint8Array, fileSize = bytes.byteLength) {
  return parseSafetensorsHeader(bytes, fileSize, 'bad.safetensors');
}

describe('reading files written by Python safetensors', () => {
  test('header, metadata, dtypes and shapes of dtypes.safetensors', async () => {
    const file = await openSafetensors(join(FIXTURES, 'dtypes.safetensors'));
    assert.deepEqual(file.metadata, expected.dtypes.metadata);
    assert.deepEqual([...file.tensors.keys()].sort(), Object.keys(expected.dtypes.tensors).sort());
    for (const [name, want] of Object.entries(expected.dtypes.tensors)) {
      const info = file.tensors.get(name);
      assert.ok(info);
      assert.equal(info.dtype, want.dtype);
      assert.deepEqual(info.shape, want.shape);
      assert.equal(info.absoluteOffset, 8 + file.headerLength + info.dataOffsets[0]);
    }
    const inMemory = parseSafetensorsHeader(await readFile(join(FIXTURES, 'dtypes.safetensors')), file.fileSize, file.file);
    assert.deepEqual(inMemory, file);
  });

  test('F32, F16 and BF16 decode to exactly the float32 bits torch gives (subnormals, inf, nan, -0)', async () => {
    const file = await openSafetensors(join(FIXTURES, 'dtypes.safetensors'));
    for (const [name, want] of Object.entries(expected.dtypes.tensors)) {
      const info = file.tensors.get(name);
      assert.ok(info);
      assert.deepEqual(bitsOf(await readTensor(info)), want.float32_bits, name);
    }
  });

  test('every F16 and BF16 bit pattern widens exactly', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const bytes = new Uint8Array(all.buffer);
    const half = decodeToFloat32(bytes, 'F16', 'all-f16');
    const brain = decodeToFloat32(bytes, 'BF16', 'all-bf16');
    const brainBits = bitsOf(brain);
    for (let bits = 0; bits < 65536; bits++) {
      const sign = bits & 0x8000 ? -1 : 1;
      const exponent = (bits >> 10) & 0x1f;
      const mantissa = bits & 0x3ff;
      const value =
        exponent === 0
          ? sign * mantissa * 2 ** -24
          : exponent === 31
            ? mantissa === 0
              ? sign * Infinity
              : NaN
            : sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
      assert.ok(Object.is(half[bits], Math.fround(value)), `F16 0x${bits.toString(16)}: ${half[bits]} != ${value}`);
      assert.equal(brainBits[bits], bits << 16 >>> 0);
    }
  });

  test('aligned F32 decodes without a copy; unaligned F32 and F16 are copied correctly', () => {
    const buffer = new Uint8Array(4 * 4 + 1);
    new Float32Array(buffer.buffer, 0, 4).set([1, -2, 0.5, 3]);
    const aligned = decodeToFloat32(buffer.subarray(4, 16), 'F32', 'aligned');
    assert.equal(aligned.buffer, buffer.buffer);
    assert.deepEqual([...aligned], [-2, 0.5, 3]);
    const shifted = new Uint8Array(13);
    shifted.set(buffer.subarray(0, 12), 1);
    assert.deepEqual([...decodeToFloat32(shifted.subarray(1), 'F32', 'unaligned')], [1, -2, 0.5]);
    const halves = new Uint8Array([0, 0x00, 0x3c, 0x00, 0xc0]);
    assert.deepEqual([...decodeToFloat32(halves.subarray(1), 'F16', 'unaligned-f16')], [1, -2]);
  });

  test('non-float dtypes and ragged byte counts are refused', () => {
    for (const dtype of ['I64', 'U8', 'F64', 'F8_E4M3', 'BOOL'] as const) {
      assert.throws(() => decodeToFloat32(new Uint8Array(8), dtype, 'bert.embeddings.position_ids'), (error: unknown) => {
        assert.ok(error instanceof CheckpointError);
        assert.match(error.message, new RegExp(`"bert.embeddings.position_ids" has dtype ${dtype}.*F32, F16 or BF16`));
        return true;
      });
    }
    assert.throws(() => decodeToFloat32(new Uint8Array(3), 'F16', 'odd'), /3 bytes is not a whole number of F16/);
  });
});

describe('writing', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'igbert-safetensors-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the encoder reproduces safetensors.torch.save_file byte for byte', async () => {
    const reference = await readFile(join(FIXTURES, 'writer_reference.safetensors'));
    const tensors = Object.entries(expected.writer_reference.tensors).map(([name, t]) => toWrite(name, t));
    tensors.reverse(); // input order must not matter
    assert.deepEqual(concat(encodeSafetensors(tensors, expected.writer_reference.metadata)), new Uint8Array(reference));
  });

  test('metadata keys are written sorted, headers padded with spaces to 8 bytes, integer-like names kept in order', () => {
    const data = new Float32Array([1]);
    const bytes = concat(
      encodeSafetensors(
        [
          { name: '10', shape: [1], dtype: 'F32', data },
          { name: '2', shape: [1], dtype: 'F32', data },
        ],
        { zeta: 'z', alpha: 'a' },
      ),
    );
    const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(length % 8, 0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + length));
    assert.match(text, /^\{"__metadata__":\{"alpha":"a","zeta":"z"\},"10":\{.*\},"2":\{.*\}\} *$/);
    assert.equal(parse(bytes).tensors.get('2')?.dataOffsets[0], 4);
  });

  test('round trip F32 / F16 / BF16 through a file', async () => {
    const path = join(dir, 'roundtrip.safetensors');
    const tensors = Object.entries(expected.dtypes.tensors).map(([name, t]) => toWrite(name, t));
    await writeSafetensorsFile(path, tensors, { format: 'pt' });
    const file = await openSafetensors(path);
    assert.deepEqual(file.metadata, { format: 'pt' });
    for (const [name, want] of Object.entries(expected.dtypes.tensors)) {
      const info = file.tensors.get(name);
      assert.ok(info);
      assert.deepEqual(bitsOf(await readTensor(info)), want.float32_bits, name);
    }
    assert.deepEqual(await readdir(dir), ['roundtrip.safetensors'], 'no temporary file left behind');
  });

  test('writing replaces an existing file and fails cleanly in a missing folder', async () => {
    const path = join(dir, 'replace.safetensors');
    await writeFile(path, 'old contents');
    await writeSafetensorsFile(path, [{ name: 'w', shape: [2], dtype: 'F32', data: new Float32Array([1, 2]) }]);
    assert.deepEqual([...(await readTensor((await openSafetensors(path)).tensors.get('w')!))], [1, 2]);
    await assert.rejects(
      writeSafetensorsFile(join(dir, 'missing', 'x.safetensors'), []),
      (error: unknown) => error instanceof FileError && /Could not write .*missing/.test(error.message),
    );
  });

  const badTensors: [string, TensorToWrite[], RegExp][] = [
    ['duplicate names', [{ name: 'a', shape: [0], dtype: 'F32', data: new Float32Array(0) }, { name: 'a', shape: [0], dtype: 'F32', data: new Float32Array(0) }], /"a" is given twice/],
    ['reserved name', [{ name: '__metadata__', shape: [0], dtype: 'F32', data: new Float32Array(0) }], /reserved/],
    ['shape and data disagree', [{ name: 'a', shape: [2, 2], dtype: 'F32', data: new Float32Array(3) }], /holds 4 elements but data has 3/],
    ['F16 given as floats', [{ name: 'a', shape: [1], dtype: 'F16', data: new Float32Array(1) as unknown as Uint16Array }], /Uint16Array of raw bits/],
    ['negative dimension', [{ name: 'a', shape: [-1], dtype: 'F32', data: new Float32Array(0) }], /non-negative integers/],
  ];
  for (const [label, tensors, message] of badTensors) {
    test(`encoder refuses ${label}`, () => {
      assert.throws(() => encodeSafetensors(tensors), (error: unknown) => error instanceof UsageError && message.test(error.message));
    });
  }
});

describe('corrupt and hostile headers', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  // Each case: bytes of a whole file (or a claimed file size), and what the message must say.
  const cases: { label: string; bytes: Uint8Array; fileSize?: number; message: RegExp }[] = [
    { label: 'file shorter than 8 bytes', bytes: new Uint8Array(5), message: /5 bytes long, shorter than the 8-byte/ },
    { label: 'header length 0', bytes: fileBytes('', 8, 0n), message: /header length field is 0/ },
    { label: 'header length over the cap', bytes: fileBytes(ok, 8, 100_000_001n), message: /100000001 bytes, more than the 100000000-byte limit/ },
    { label: 'header length of 2^64-1', bytes: fileBytes(ok, 8, 2n ** 64n - 1n), message: /more than the 100000000-byte limit/ },
    { label: 'header length past end of file', bytes: fileBytes(ok, 0, 1000n), message: /1000 bytes, past the end of the \d+-byte file/ },
    { label: 'header not UTF-8', bytes: fileBytes(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 0), message: /not valid UTF-8/ },
    { label: 'header with a byte-order mark', bytes: fileBytes('\ufeff{}', 0), message: /not valid JSON/ },
    { label: 'header not JSON', bytes: fileBytes('{"a": ', 0), message: /not valid JSON/ },
    { label: 'header a JSON array', bytes: fileBytes([], 0), message: /must be a JSON object/ },
    { label: 'header JSON null', bytes: fileBytes('null', 0), message: /must be a JSON object/ },
    { label: 'entry not an object', bytes: fileBytes({ a: 5 }, 0), message: /tensor "a": expected an object/ },
    { label: 'entry without data_offsets', bytes: fileBytes({ a: { dtype: 'F32', shape: [2] } }, 8), message: /tensor "a": missing "data_offsets"/ },
    { label: 'unknown dtype', bytes: fileBytes({ a: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, 16), message: /tensor "a": unknown dtype "F128"/ },
    { label: 'lower-case dtype', bytes: fileBytes({ a: { dtype: 'float32', shape: [1], data_offsets: [0, 4] } }, 4), message: /unknown dtype "float32"/ },
    { label: 'shape not an array', bytes: fileBytes({ a: { dtype: 'F32', shape: 2, data_offsets: [0, 8] } }, 8), message: /shape must be an array of non-negative integers, found 2/ },
    { label: 'negative dimension', bytes: fileBytes({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, 8), message: /shape must be/ },
    { label: 'fractional dimension', bytes: fileBytes({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 6] } }, 6), message: /shape must be/ },
    { label: 'dimension beyond 2^53', bytes: fileBytes('{"a":{"dtype":"U8","shape":[18014398509481984],"data_offsets":[0,1]}}', 1), message: /shape must be/ },
    { label: 'shape overflowing', bytes: fileBytes({ a: { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 8] } }, 8), message: /too many elements/ },
    { label: 'F4 elements not filling a byte', bytes: fileBytes({ a: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, 2), message: /3 elements of F4 do not fill a whole number of bytes/ },
    { label: 'data_offsets with one number', bytes: fileBytes({ a: { dtype: 'F32', shape: [2], data_offsets: [8] } }, 8), message: /data_offsets must be two non-negative integers/ },
    { label: 'data_offsets as strings', bytes: fileBytes({ a: { dtype: 'F32', shape: [2], data_offsets: ['0', '8'] } }, 8), message: /data_offsets must be/ },
    { label: 'negative data_offsets', bytes: fileBytes({ a: { dtype: 'F32', shape: [2], data_offsets: [-8, 0] } }, 8), message: /data_offsets must be/ },
    { label: 'begin after end', bytes: fileBytes({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, 8), message: /\[8, 0\] end before they begin/ },
    { label: 'byte count not shape x dtype', bytes: fileBytes({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4), message: /span 4 bytes but shape \[2\] of F32 needs 8/ },
    { label: 'tensor past the data section', bytes: fileBytes(ok, 4), message: /tensor "a": data_offsets \[0, 8\] run past the end of the 4-byte data section/ },
    {
      label: 'overlapping tensors',
      bytes: fileBytes({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8),
      message: /tensor "b" \(bytes 4..8\) overlaps tensor "a" \(bytes 0..8\)/,
    },
    {
      label: 'a gap between tensors',
      bytes: fileBytes({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12),
      message: /bytes 4..8 of the data section belong to no tensor \(a gap before tensor "b"\)/,
    },
    { label: 'a gap at the start', bytes: fileBytes({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), message: /bytes 0..4 .* gap before tensor "a"/ },
    { label: 'trailing bytes', bytes: fileBytes(ok, 12), message: /cover 8 bytes but the data section holds 12/ },
    { label: 'metadata with a number', bytes: fileBytes({ __metadata__: { epoch: 3 }, ...ok }, 8), message: /"__metadata__" value for "epoch" must be a string/ },
    { label: 'metadata an array', bytes: fileBytes({ __metadata__: ['x'], ...ok }, 8), message: /"__metadata__" must be a JSON object/ },
  ];
  for (const { label, bytes, fileSize, message } of cases) {
    test(label, () => {
      assert.throws(() => parse(bytes, fileSize), (error: unknown) => {
        assert.ok(error instanceof CheckpointError, `expected CheckpointError, got ${String(error)}`);
        assert.equal(error.code, 'INVALID_CHECKPOINT');
        assert.match(error.message, /^bad\.safetensors: /);
        assert.match(error.message, message);
        assert.match(error.message, /re-save the weights with safetensors\.torch\.save_file/);
        return true;
      });
    });
  }

  test('what the reference reader accepts is accepted', () => {
    const zeroSized = parse(
      fileBytes(
        {
          b: { dtype: 'F32', shape: [0, 3], data_offsets: [0, 0] },
          c: { dtype: 'BF16', shape: [2], data_offsets: [0, 4], extra: 'ignored like serde does' },
          a: { dtype: 'I64', shape: [], data_offsets: [4, 12] },
          d: { dtype: 'U8', shape: [0], data_offsets: [12, 12] },
        },
        12,
      ),
    );
    assert.deepEqual([...zeroSized.tensors.keys()], ['b', 'c', 'a', 'd']);
    assert.equal(zeroSized.tensors.get('a')?.byteLength, 8);
    assert.deepEqual(parse(fileBytes('  {"__metadata__": null}  ', 0)).metadata, {});
    assert.equal(parse(fileBytes('{}', 0)).tensors.size, 0);
    const proto = parse(fileBytes('{"__metadata__":{"__proto__":"x"},"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1));
    assert.equal(proto.metadata['__proto__'], 'x');
    assert.equal(Object.getPrototypeOf(proto.metadata), Object.prototype);
    assert.equal(proto.tensors.get('__proto__')?.byteLength, 1);
  });

  test('a caller passing too few header bytes gets a usage error', () => {
    const bytes = fileBytes(ok, 8);
    assert.throws(() => parseSafetensorsHeader(bytes.subarray(0, 12), bytes.byteLength, 'x'), UsageError);
  });
});

describe('reading from disk', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'igbert-safetensors-read-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('only the header is read: a 5 GiB (sparse) file opens instantly', async () => {
    const path = join(dir, 'huge.safetensors');
    const size = 5 * 2 ** 30;
    const head = fileBytes({ big: { dtype: 'U8', shape: [size], data_offsets: [0, size] } }, 0);
    const padded = fileBytes({ big: { dtype: 'U8', shape: [size - head.byteLength], data_offsets: [0, size - head.byteLength] } }, 0);
    const handle = await open(path, 'w');
    await handle.write(padded);
    await handle.truncate(size);
    await handle.close();
    const file = await openSafetensors(path);
    assert.equal(file.fileSize, size);
    assert.equal(file.tensors.get('big')?.byteLength, size - padded.byteLength);
  });

  test('a file truncated after its header was read is reported when a tensor is read', async () => {
    const path = join(dir, 'shrinks.safetensors');
    await writeSafetensorsFile(path, [{ name: 'w', shape: [4], dtype: 'F32', data: new Float32Array(4) }]);
    const file = await openSafetensors(path);
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.byteLength - 4));
    await assert.rejects(readTensor(file.tensors.get('w')!), /shrinks\.safetensors: the file ended after .* truncated or changed/);
  });

  test('a missing or truncated file names the file', async () => {
    await assert.rejects(openSafetensors(join(dir, 'nope.safetensors')), (error: unknown) => {
      return error instanceof CheckpointError && /nope\.safetensors does not exist/.test(error.message);
    });
    await writeFile(join(dir, 'tiny.safetensors'), new Uint8Array(3));
    await assert.rejects(openSafetensors(join(dir, 'tiny.safetensors')), /tiny\.safetensors: the file is 3 bytes long/);
  });
});
