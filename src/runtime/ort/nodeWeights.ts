/**
 * The ONNX engine's weights on Node. fp32: ONNX Runtime reads the float32 tensors as external data straight from the
 * safetensors files (one copy of the weights, memory-mapped by the runtime; F16/BF16 tensors converted once in
 * memory). fp16 and int8: variants of a checkpoint, converted once and cached on disk (keyed by the checkpoint's weight files
 * and the options), so a second load is as cheap as loading fp32: ONNX Runtime reads the converted weights as
 * external data from the cache folder. Tensors are converted and written one at a time (flat memory).
 *
 * Layout of a cache entry: <cache>/<key>/weights.bin (tensors, 64-byte aligned) + meta.json (name → dtype, shape,
 * offset, length). meta.json is written last, atomically: an entry without it is incomplete and rebuilt.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { BertConfig } from '../../config.js';
import { CheckpointError } from '../../errors.js';
import { writeFileAtomically } from '../../io/atomicFile.js';
import { readTensor } from '../../weights/checkpointFiles.js';
import type { SafetensorsFile, TensorInfo } from '../../weights/safetensors.js';
import type { WeightStore } from '../../weights/weightStore.js';
import { CONVERSION_VERSION, convertStep, planConversion, weightSourceFromMeta, type Meta, type WeightDType } from './conversion.js';
import type { BoundTensor, WeightSource } from './weightSource.js';

/** What a session needs to find the weights: the WeightSource and the folder its external data is relative to. */
export interface NodeWeights {
  weights: WeightSource;
  externalDataFolder?: string;
}

/** Binds a checkpoint's weights for ONNX graphs at `dtype` (fp16/int8: converted once, cached). */
export async function bindNodeWeights(
  config: BertConfig,
  store: WeightStore,
  files: readonly SafetensorsFile[],
  dtype: WeightDType,
  onProgress?: (message: string) => void,
): Promise<NodeWeights> {
  if (dtype !== 'fp32') {
    const converted = await convertedWeights(config, store, files, dtype, onProgress);
    return { weights: converted.weights, externalDataFolder: converted.folder };
  }
  // ORT resolves external data against one folder: use the real folder of the weight files when they share one
  // (a plain folder, or a Hugging Face cache snapshot whose files all link into blobs/).
  const realFiles = new Map<string, string>();
  for (const file of files) realFiles.set(file.file, await realpath(file.file));
  const folders = new Set([...realFiles.values()].map((f) => dirname(f)));
  const externalDataFolder = folders.size === 1 ? ([...folders][0] as string) : undefined;

  // Tensors ORT cannot read in place (F16/BF16, or files spread over folders) are converted once, here.
  const inMemory = new Map<string, Uint8Array>();
  for (const info of store.allTensors()) {
    if (info.dtype === 'F32' && externalDataFolder) continue;
    if (info.dtype !== 'F32' && info.dtype !== 'F16' && info.dtype !== 'BF16') continue;
    const values = await readTensor(info);
    inMemory.set(info.name, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }

  const weights: WeightSource = {
    resolve(path, shape): BoundTensor {
      const info: TensorInfo = store.get(path, [...shape]);
      const raw = inMemory.get(info.name);
      if (raw) return { name: info.name, raw };
      if (info.dtype !== 'F32') {
        throw new CheckpointError(`tensor ${info.name} in ${info.file} has dtype ${info.dtype}; weights must be F32, F16 or BF16.`);
      }
      return {
        name: info.name,
        external: { location: basename(realFiles.get(info.file) as string), offset: info.absoluteOffset, length: info.byteLength },
      };
    },
  };
  return { weights, ...(externalDataFolder ? { externalDataFolder } : {}) };
}

const CACHE_WEIGHTS_FILE = 'weights.bin';

/** igbert's cache folder: $IGBERT_CACHE_DIR, else $XDG_CACHE_HOME/igbert, else ~/.cache/igbert. */
export function igbertCacheDir(): string {
  return process.env['IGBERT_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'igbert');
}

/** A cache key from what identifies the weights: every file's name, size, mtime and header, plus the options. */
async function cacheKey(files: readonly SafetensorsFile[], dtype: WeightDType): Promise<string> {
  const hash = createHash('sha256').update(JSON.stringify({ version: CONVERSION_VERSION, dtype }));
  for (const file of files) {
    const info = await stat(file.file);
    hash.update(JSON.stringify({ size: info.size, mtime: info.mtimeMs, headerLength: file.headerLength }));
    for (const [name, tensor] of file.tensors) hash.update(`${name}:${tensor.dtype}:${tensor.shape.join('x')}:${tensor.absoluteOffset}`);
  }
  return hash.digest('hex').slice(0, 32);
}

/** Converts (or finds in the cache) the weights as `dtype`; returns a WeightSource reading from the cache folder. */
async function convertedWeights(
  config: BertConfig,
  store: WeightStore,
  files: readonly SafetensorsFile[],
  dtype: Exclude<WeightDType, 'fp32'>,
  onProgress?: (message: string) => void,
): Promise<{ weights: WeightSource; folder: string }> {
  const folder = join(igbertCacheDir(), 'converted', await cacheKey(files, dtype));
  let meta = await readMeta(folder);
  if (!meta) {
    onProgress?.(`converting weights to ${dtype} (once; cached in ${folder})`);
    meta = await writeWeightsFile(config, store, dtype, folder, CACHE_WEIGHTS_FILE);
  }
  return { weights: weightSourceFromMeta(meta, store, CACHE_WEIGHTS_FILE, folder), folder };
}

async function readMeta(folder: string): Promise<Meta | undefined> {
  try {
    const meta = JSON.parse(await readFile(join(folder, 'meta.json'), 'utf8')) as Meta;
    return meta.version === CONVERSION_VERSION ? meta : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes every tensor a full graph needs, converted to `dtype`, into folder/fileName (64-byte aligned) and, last and
 * atomically, folder/meta.json. fp32 copies the float32 weights (a self-contained model for `igbert convert`).
 */
export async function writeWeightsFile(
  config: BertConfig,
  store: WeightStore,
  dtype: WeightDType,
  folder: string,
  fileName: string,
): Promise<Meta> {
  const plan = planConversion(config, store, dtype);
  await mkdir(folder, { recursive: true });
  const tmp = join(folder, `${fileName}.tmp-${process.pid}`);
  const handle = await open(tmp, 'w');
  try {
    for (const step of plan.steps) {
      for (const { name, bytes } of await convertStep(step, readTensor, dtype)) {
        await handle.write(bytes, 0, bytes.byteLength, (plan.meta.tensors[name] as { offset: number }).offset);
      }
    }
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
  await rename(tmp, join(folder, fileName));
  const meta = plan.meta;
  await writeFileAtomically(join(folder, 'meta.json'), JSON.stringify(meta));
  return meta;
}
