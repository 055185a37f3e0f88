/**
 * fp16 and int8 variants of a checkpoint, converted once and cached on disk (keyed by the checkpoint's weight files
 * and the options), so a second load is as cheap as loading fp32: ONNX Runtime reads the converted weights as
 * external data from the cache folder. Tensors are converted and written one at a time (flat memory).
 *
 * Layout of a cache entry: <cache>/<key>/weights.bin (tensors, 64-byte aligned) + meta.json (name → dtype, shape,
 * offset, length). meta.json is written last, atomically: an entry without it is incomplete and rebuilt.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { BertConfig } from '../config.js';
import { FileError } from '../errors.js';
import { buildBertGraph, type BoundTensor, type QuantizedLinearTensors, type WeightSource } from '../graph/bert.js';
import { TensorType, type TensorTypeCode } from '../graph/onnxBuilder.js';
import { readTensor } from '../weights/checkpointFiles.js';
import { float32ArrayToFloat16, quantizeLinearWeight } from '../weights/quantize.js';
import type { SafetensorsFile } from '../weights/safetensors.js';
import type { WeightStore } from '../weights/weightStore.js';

export const WEIGHT_DTYPES = ['fp32', 'fp16', 'int8'] as const;
export type WeightDType = (typeof WEIGHT_DTYPES)[number];

/** Bump when the converted layout or numerics change, so stale cache entries are not reused. */
const CONVERSION_VERSION = 1;
const ALIGNMENT = 64;
const CACHE_WEIGHTS_FILE = 'weights.bin';

interface MetaEntry {
  elemType: number;
  offset: number;
  length: number;
}
export interface Meta {
  version: number;
  dtype: WeightDType;
  tensors: Record<string, MetaEntry>;
}

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

type Request = { kind: 'float'; path: string; shape: number[] } | { kind: 'int8'; prefix: string; inFeatures: number; outFeatures: number };

/** The tensors a full graph (every layer, MLM head and pooler when present) asks for, in graph order. */
function plannedRequests(config: BertConfig, store: WeightStore, dtype: WeightDType): Request[] {
  const requests: Request[] = [];
  const dummy = (name: string): BoundTensor => ({ name, raw: new Uint8Array(0) });
  const recorder: WeightSource = {
    decoderWeightPath: store.decoderWeightPath,
    decoderBiasPath: store.decoderBiasPath,
    resolve(path, shape) {
      requests.push({ kind: 'float', path, shape });
      return dummy(path);
    },
    ...(dtype === 'int8'
      ? {
          resolveQuantized(prefix: string, inFeatures: number, outFeatures: number): QuantizedLinearTensors {
            requests.push({ kind: 'int8', prefix, inFeatures, outFeatures });
            return { weight: dummy(`${prefix}.weight.int8`), scale: dummy(`${prefix}.weight.scale`) };
          },
        }
      : {}),
  };
  buildBertGraph(config, recorder, { logits: store.hasMlmHead, pooler: store.hasPooler, hiddenStateLayer: 0 });
  return requests;
}

/** Converts (or finds in the cache) the weights as `dtype`; returns a WeightSource reading from the cache folder. */
export async function convertedWeights(
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

/** A WeightSource over a file written by writeWeightsFile. */
export function weightSourceFromMeta(meta: Meta, store: WeightStore, fileName: string, folder: string): WeightSource {
  const entry = (name: string): BoundTensor => {
    const found = meta.tensors[name];
    if (!found) throw new FileError(`converted weights in ${folder} lack ${name}; delete that folder to rebuild it.`);
    return { name, elemType: found.elemType as TensorTypeCode, external: { location: fileName, offset: found.offset, length: found.length } };
  };
  return {
    decoderWeightPath: store.decoderWeightPath,
    decoderBiasPath: store.decoderBiasPath,
    resolve: (path, shape) => entry(store.get(path, shape).name),
    ...(meta.dtype === 'int8'
      ? {
          resolveQuantized: (prefix: string, inFeatures: number, outFeatures: number): QuantizedLinearTensors => {
            const name = store.get(`${prefix}.weight`, [outFeatures, inFeatures]).name;
            return { weight: entry(`${name}.int8`), scale: entry(`${name}.scale`) };
          },
        }
      : {}),
  };
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
  await mkdir(folder, { recursive: true });
  const tmp = join(folder, `${fileName}.tmp-${process.pid}`);
  const handle = await open(tmp, 'w');
  const tensors: Record<string, MetaEntry> = {};
  let offset = 0;
  const append = async (name: string, elemType: number, bytes: Uint8Array): Promise<void> => {
    if (tensors[name]) return; // tied weights: stored once
    const padded = Math.ceil(offset / ALIGNMENT) * ALIGNMENT;
    await handle.write(bytes, 0, bytes.byteLength, padded);
    tensors[name] = { elemType, offset: padded, length: bytes.byteLength };
    offset = padded + bytes.byteLength;
  };
  const asBytes = (a: Float32Array | Uint16Array | Int8Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  try {
    for (const request of plannedRequests(config, store, dtype)) {
      if (request.kind === 'float') {
        const info = store.get(request.path, request.shape);
        if (tensors[info.name]) continue;
        const values = await readTensor(info);
        if (dtype === 'fp16') await append(info.name, TensorType.FLOAT16, asBytes(float32ArrayToFloat16(values)));
        else await append(info.name, TensorType.FLOAT, asBytes(values));
      } else {
        const info = store.get(`${request.prefix}.weight`, [request.outFeatures, request.inFeatures]);
        const q = quantizeLinearWeight(await readTensor(info), request.outFeatures, request.inFeatures);
        await append(`${info.name}.int8`, TensorType.INT8, asBytes(q.weight));
        await append(`${info.name}.scale`, TensorType.FLOAT, asBytes(q.scale));
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
  const meta: Meta = { version: CONVERSION_VERSION, dtype, tensors };
  await writeFile(join(folder, `meta.json.tmp-${process.pid}`), JSON.stringify(meta));
  await rename(join(folder, `meta.json.tmp-${process.pid}`), join(folder, 'meta.json'));
  return meta;
}
