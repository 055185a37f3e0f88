/**
 * Node side of the weights: finding a checkpoint's safetensors files, reading headers and single tensors by byte
 * range (a checkpoint is never read whole), and writing checkpoints atomically. The format itself is in
 * safetensors.ts. File layout follows transformers' `from_pretrained`: model.safetensors first, then the sharded
 * model.safetensors.index.json.
 */
import { open, readdir, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, FileError, UsageError } from '../errors.js';
import { writeFileAtomically } from '../io/atomicFile.js';
import {
  decodeToFloat32,
  encodeSafetensors,
  parseSafetensorsHeader,
  safetensorsHeaderLength,
  safetensorsLayout,
} from './safetensors.js';
import type { SafetensorsFile, TensorInfo, TensorLayoutEntry, TensorToWrite } from './safetensors.js';

export const SAFE_WEIGHTS_NAME = 'model.safetensors';
export const SAFE_WEIGHTS_INDEX_NAME = 'model.safetensors.index.json';

/** Weight files igbert recognises but will not read; `loadArgument` is what transformers needs to read them. */
const FOREIGN_WEIGHTS: readonly { test: (name: string) => boolean; kind: string; loadArgument: string }[] = [
  { test: (n) => /\.(bin|pt|pth|ckpt)$/.test(n) || n === 'pytorch_model.bin.index.json', kind: 'PyTorch pickle', loadArgument: '' },
  { test: (n) => n.endsWith('.h5') || n === 'tf_model.h5.index.json', kind: 'TensorFlow', loadArgument: ', from_tf=True' },
  { test: (n) => n.endsWith('.msgpack') || n === 'flax_model.msgpack.index.json', kind: 'Flax', loadArgument: ', from_flax=True' },
];

function foreignWeightsError(dir: string, names: readonly string[]): CheckpointError | undefined {
  const found = FOREIGN_WEIGHTS.map((w) => ({ ...w, files: names.filter(w.test) })).filter((w) => w.files.length > 0);
  const [first] = found;
  if (!first) return undefined;
  const files = found.flatMap((w) => w.files);
  const pickle = first.kind === 'PyTorch pickle';
  const why = pickle
    ? 'igbert reads safetensors only and never unpickles PyTorch .bin files: loading a pickle can run arbitrary code.'
    : `igbert reads safetensors only (${first.kind} weights need transformers 4.x to convert).`;
  const command =
    `python -c "from transformers import AutoModelForMaskedLM as M; ` +
    `M.from_pretrained('${dir}'${first.loadArgument}).save_pretrained('${dir}-safetensors', safe_serialization=True)"`;
  return new CheckpointError(
    `${dir} has no ${SAFE_WEIGHTS_NAME} or ${SAFE_WEIGHTS_INDEX_NAME}, only ${[...new Set(found.map((w) => w.kind))].join(' / ')} ` +
      `weights (${files.join(', ')}). ${why} Convert the checkpoint once with transformers` +
      `${pickle ? ' (in an environment you trust)' : ''}:\n  ${command}\nthen point igbert at ${dir}-safetensors ` +
      '(use AutoModel instead for a BertModel checkpoint without an MLM head, so that no random head is added).',
    { details: { dir, found: files } },
  );
}

function unreadable(path: string, cause: unknown): CheckpointError {
  const code = (cause as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'does not exist' : `cannot be read (${(cause as Error).message})`;
  return new CheckpointError(`${path} ${reason}.`, { cause, details: { file: path, errno: code } });
}

/** Reads exactly `length` bytes at `position`; a short read means the file shrank after its header was read. */
async function readExactly(handle: FileHandle, length: number, position: number, path: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(bytes, filled, length - filled, position + filled);
    if (bytesRead === 0) {
      throw new CheckpointError(
        `${path}: the file ended after ${position + filled} bytes while reading ${length} bytes at offset ${position}; ` +
          'it was truncated or changed while igbert was reading it. Download it again.',
        { details: { file: path, position, length } },
      );
    }
    filled += bytesRead;
  }
  return bytes;
}

/** Opens a safetensors file and validates its header, reading 8 + N bytes and nothing of the tensor data. */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw unreadable(path, cause);
  }
  try {
    const { size } = await handle.stat();
    const prefix = await readExactly(handle, Math.min(8, size), 0, path);
    const headerLength = safetensorsHeaderLength(prefix, size, path);
    const header = new Uint8Array(8 + headerLength);
    header.set(prefix);
    header.set(await readExactly(handle, headerLength, 8, path), 8);
    return parseSafetensorsHeader(header, size, path);
  } finally {
    await handle.close();
  }
}

/** Reads the raw bytes of one tensor (into a fresh, aligned buffer). */
export async function readTensorBytes(info: TensorInfo): Promise<Uint8Array> {
  let handle: FileHandle;
  try {
    handle = await open(info.file, 'r');
  } catch (cause) {
    throw unreadable(info.file, cause);
  }
  try {
    return await readExactly(handle, info.byteLength, info.absoluteOffset, info.file);
  } finally {
    await handle.close();
  }
}

/** Reads one tensor and widens it to float32 (F32, F16 or BF16; other dtypes are refused). */
export async function readTensor(info: TensorInfo): Promise<Float32Array> {
  return decodeToFloat32(await readTensorBytes(info), info.dtype, info.name);
}

/** A shard name from an index must be a plain file name in the checkpoint folder: a hostile index could point anywhere. */
function checkShardName(shard: unknown, tensor: string, indexPath: string): string {
  if (typeof shard !== 'string' || shard === '' || /[/\\:\0]/.test(shard) || shard.includes('..')) {
    throw new CheckpointError(
      `${indexPath}: tensor ${JSON.stringify(tensor)} is mapped to ${JSON.stringify(shard)}, which is not a plain file ` +
        'name in the checkpoint folder (no path separators, ":" or ".."). igbert refuses to follow it; ' +
        'fix the index or re-save the checkpoint with save_pretrained(OUT, safe_serialization=True).',
      { details: { file: indexPath, tensor, shard } },
    );
  }
  return shard;
}

async function readShardedCheckpoint(dir: string): Promise<SafetensorsFile[]> {
  const indexPath = join(dir, SAFE_WEIGHTS_INDEX_NAME);
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (cause) {
    if (cause instanceof SyntaxError) {
      throw new CheckpointError(`${indexPath} is not valid JSON (${cause.message}). Download it again.`, { cause });
    }
    throw unreadable(indexPath, cause);
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new CheckpointError(`${indexPath} has no "weight_map" object (tensor name -> shard file). Download it again.`, {
      details: { file: indexPath },
    });
  }
  const tensorsByShard = new Map<string, string[]>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    const name = checkShardName(shard, tensor, indexPath);
    const list = tensorsByShard.get(name) ?? [];
    list.push(tensor);
    tensorsByShard.set(name, list);
  }
  if (tensorsByShard.size === 0) {
    throw new CheckpointError(`${indexPath}: "weight_map" is empty. Download the checkpoint again.`, {
      details: { file: indexPath },
    });
  }
  const files: SafetensorsFile[] = [];
  for (const [shard, tensors] of [...tensorsByShard].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const shardPath = join(dir, shard);
    let file: SafetensorsFile;
    try {
      file = await openSafetensors(shardPath);
    } catch (cause) {
      if ((cause as CheckpointError).details?.['errno'] !== 'ENOENT') throw cause;
      throw new CheckpointError(
        `${indexPath} lists shard ${JSON.stringify(shard)} (for ${tensors.length} tensors, e.g. ${JSON.stringify(tensors[0])}) ` +
          `but ${shardPath} does not exist. Download the missing shard.`,
        { cause, details: { file: indexPath, shard } },
      );
    }
    const absent = tensors.filter((t) => !file.tensors.has(t));
    if (absent.length > 0) {
      throw new CheckpointError(
        `${indexPath} says ${JSON.stringify(absent[0])}${absent.length > 1 ? ` (and ${absent.length - 1} more)` : ''} ` +
          `is in ${shard}, but that shard has no such tensor. The index and the shards are out of sync; download them again.`,
        { details: { file: indexPath, shard, tensors: absent } },
      );
    }
    files.push(file);
  }
  return files;
}

/**
 * The safetensors files holding a checkpoint folder's weights: model.safetensors, or the shards listed by
 * model.safetensors.index.json (every shard must exist and hold the tensors the index assigns to it).
 * PyTorch, TensorFlow and Flax weight files are refused with the command that converts them.
 */
export async function findCheckpointWeights(dir: string): Promise<SafetensorsFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (cause) {
    throw unreadable(dir, cause);
  }
  if (names.includes(SAFE_WEIGHTS_NAME)) return [await openSafetensors(join(dir, SAFE_WEIGHTS_NAME))];
  if (names.includes(SAFE_WEIGHTS_INDEX_NAME)) return readShardedCheckpoint(dir);
  const foreign = foreignWeightsError(dir, names);
  if (foreign) throw foreign;
  const shown = names.length > 20 ? [...names.slice(0, 20), `... (${names.length - 20} more)`] : names;
  throw new CheckpointError(
    `${dir} has no model weights: expected ${SAFE_WEIGHTS_NAME} or ${SAFE_WEIGHTS_INDEX_NAME} with its shards. ` +
      `Found: ${shown.length > 0 ? shown.join(', ') : 'nothing (the folder is empty)'}. ` +
      'Point igbert at a Hugging Face checkpoint folder (config.json, vocab.txt, model.safetensors).',
    { details: { dir, found: names } },
  );
}

/**
 * Writes chunks into a temporary file beside `path`, flushed to disk, then renamed over it, so that a crash never
 * leaves a half-written checkpoint under the final name.
 */
async function writeAtomically(path: string, chunks: Iterable<Uint8Array>): Promise<void> {
  try {
    await writeFileAtomically(path, chunks, { durable: true });
  } catch (cause) {
    if (cause instanceof UsageError) throw cause;
    throw new FileError(`Could not write ${path}: ${(cause as Error).message}.`, { cause, details: { file: path } });
  }
}

/** Writes a safetensors file atomically (see writeAtomically). */
export async function writeSafetensorsFile(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  await writeAtomically(path, encodeSafetensors(tensors, metadata));
}

/**
 * Writes a safetensors file whose tensors are produced one at a time by `produce` (in the order the format stores
 * them), so a checkpoint larger than memory can be written; atomic like writeSafetensorsFile.
 */
export async function writeSafetensorsStreaming<T extends TensorLayoutEntry>(
  path: string,
  tensors: readonly T[],
  produce: (tensor: T) => Uint8Array,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  const { head, ordered } = safetensorsLayout(tensors, metadata);
  function* chunks(): Generator<Uint8Array> {
    yield head;
    for (const tensor of ordered) {
      const bytes = produce(tensor);
      if (bytes.byteLength !== tensor.byteLength) {
        throw new UsageError(`tensor ${tensor.name}: produced ${bytes.byteLength} bytes, expected ${tensor.byteLength}.`);
      }
      yield bytes;
    }
  }
  await writeAtomically(path, chunks());
}
