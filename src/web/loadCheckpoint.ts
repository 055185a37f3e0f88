/**
 * Loading a checkpoint in the browser into one weights blob plus its layout (src/runtime/ort/conversion.ts), from
 *   1. the browser cache (a converted model kept by an earlier visit: no download, no conversion), else
 *   2. model.safetensors (or its shards): downloaded, then converted to fp16/int8 here with the same code as Node
 *      (fp32 from a single F32 file is used as it is: the file is the blob), else
 *   3. an `igbert convert` folder: onnx/<name>.onnx read for its layout, onnx/<name>.onnx_data is the blob.
 * The blob goes to ONNX Runtime as external data; graphs are built by the same TypeScript as on Node.
 */
import { bertFromStore } from '../bert/fromStore.js';
import type { Bert } from '../bert/modeling.js';
import { parseBertConfig } from '../config.js';
import { CheckpointError } from '../errors.js';
import type { Checkpoint } from '../model.js';
import { CONVERSION_VERSION, ONNX_FILE_NAMES, convertStep, planConversion, weightSourceFromMeta, type Meta, type WeightDType } from '../runtime/ort/conversion.js';
import { onnxWeightLayout, type TensorDescription } from '../runtime/ort/onnxWeights.js';
import type { WeightSource } from '../runtime/ort/weightSource.js';
import { BertTokenizer } from '../tokenizer/bertTokenizer.js';
import { decodeToFloat32, parseSafetensorsHeader, safetensorsHeaderLength, type SafetensorsFile, type TensorInfo } from '../weights/safetensors.js';
import { WeightStore } from '../weights/weightStore.js';
import { readCachedModel, writeCachedModel } from './modelCache.js';
import type { ModelFiles } from './modelFiles.js';

/** The name the weights blob has in every graph's external-data locations. */
export const WEIGHTS_BLOB = 'weights.bin';
const TEXT_FILES = ['config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json'] as const;

export interface LoadProgress {
  stage: 'cache' | 'download' | 'convert' | 'session' | 'ready';
  message: string;
  /** 0..1 when known. */
  fraction?: number;
}

export interface WebLoadSettings {
  dtype: WeightDType;
  /** Keep the converted model in the browser cache (default true). */
  cache: boolean;
  onProgress?: (progress: LoadProgress) => void;
}

interface Manifest {
  version: number;
  from: 'safetensors' | 'onnx';
  meta: Meta;
  tensors: TensorDescription[];
  texts: Record<string, string>;
}

export interface WebCheckpoint {
  checkpoint: Checkpoint;
  /** The network, and its weights bound for ONNX graphs (names in the blob). */
  bert: Bert;
  weightSource: WeightSource;
  dtype: WeightDType;
  /** The weights blob ONNX Runtime reads as external data. */
  weights: Uint8Array;
  /** How the weights were obtained, in words (cache hit, download and conversion, what was kept). */
  notes: string[];
}

const MB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 0)} MiB`;

export async function loadWebCheckpoint(files: ModelFiles, settings: WebLoadSettings): Promise<WebCheckpoint> {
  const progress = settings.onProgress ?? (() => {});
  const key = `${files.cacheKey}|${settings.dtype}|conversion-v${CONVERSION_VERSION}`;
  const notes: string[] = [];
  let manifest: Manifest | undefined;
  let weights: Uint8Array | undefined;
  if (settings.cache) {
    progress({ stage: 'cache', message: 'looking for a converted copy in this browser' });
    const cached = await readCachedModel<Manifest>(key).catch(() => undefined);
    if (cached && cached.manifest.version === 1) {
      ({ manifest, weights } = cached);
      notes.push(`loaded from this browser's cache (${MB(weights.byteLength)}, ${settings.dtype}): nothing downloaded`);
    }
  }
  if (!manifest || !weights) {
    const texts: Record<string, string> = {};
    for (const name of TEXT_FILES) {
      const text = await files.text(name);
      if (text !== undefined) texts[name] = text;
    }
    const built = (await fromSafetensors(files, texts, settings.dtype, progress)) ?? (await fromOnnx(files, settings.dtype, progress));
    if (!built) {
      throw new CheckpointError(
        `${files.description} has no model.safetensors, model.safetensors.index.json or onnx/${ONNX_FILE_NAMES[settings.dtype]}. ` +
          'Point at a Hugging Face checkpoint folder, or at `igbert convert --dtype ' +
          `${settings.dtype}\` output (pick the dtype that was converted).`,
      );
    }
    manifest = { version: 1, from: built.from, meta: built.meta, tensors: built.tensors, texts };
    weights = built.weights;
    notes.push(built.note);
    if (settings.cache) {
      progress({ stage: 'cache', message: `keeping the ${settings.dtype} model in this browser for the next visit` });
      const refused = await writeCachedModel(key, { manifest, weights });
      notes.push(refused ? `not cached: ${refused}` : `cached in this browser (${MB(weights.byteLength)}); the next visit skips the download`);
    }
  }
  return { ...(await bind(files.description, manifest)), dtype: settings.dtype, weights, notes };
}

async function bind(source: string, manifest: Manifest): Promise<Pick<WebCheckpoint, 'checkpoint' | 'bert' | 'weightSource'>> {
  const configText = manifest.texts['config.json'];
  if (configText === undefined) throw new CheckpointError(`${source} has no config.json; a Hugging Face checkpoint folder needs one.`);
  const config = parseBertConfig(configText, `config.json of ${source}`);
  const tokenizer = await BertTokenizer.fromFiles(async (name) => manifest.texts[name], source);
  if (tokenizer.vocabulary.size > config.vocab_size) {
    throw new CheckpointError(`${source}: vocab.txt has ${tokenizer.vocabulary.size} tokens but config.json says vocab_size ${config.vocab_size}.`);
  }
  const infos: TensorInfo[] = manifest.tensors.map((t) => ({
    ...t,
    dataOffsets: [0, 0],
    absoluteOffset: 0,
    byteLength: 0,
    file: WEIGHTS_BLOB,
  }));
  const store = WeightStore.fromTensors(infos, config);
  return {
    checkpoint: { source, config, tokenizer, hasPooler: store.hasPooler, hasMlmHead: store.hasMlmHead },
    bert: bertFromStore(config, store),
    weightSource: weightSourceFromMeta(manifest.meta, store, WEIGHTS_BLOB, source),
  };
}

interface Built {
  from: Manifest['from'];
  meta: Meta;
  tensors: TensorDescription[];
  weights: Uint8Array;
  note: string;
}

function downloadProgress(name: string, progress: (p: LoadProgress) => void) {
  return (loaded: number, total: number | undefined): void =>
    progress({
      stage: 'download',
      message: `downloading ${name}: ${MB(loaded)}${total ? ` of ${MB(total)}` : ''}`,
      ...(total ? { fraction: loaded / total } : {}),
    });
}

/** A shard name from an index must be a plain file name: a hostile index could point anywhere. */
function checkShardName(shard: unknown): string {
  if (typeof shard !== 'string' || shard === '' || /[/\\:\0]/.test(shard) || shard.includes('..')) {
    throw new CheckpointError(`model.safetensors.index.json maps a tensor to ${JSON.stringify(shard)}, which is not a plain file name.`);
  }
  return shard;
}

async function fromSafetensors(
  files: ModelFiles,
  texts: Record<string, string>,
  dtype: WeightDType,
  progress: (p: LoadProgress) => void,
): Promise<Built | undefined> {
  const bytesByFile = new Map<string, Uint8Array>();
  const single = await files.bytes('model.safetensors', downloadProgress('model.safetensors', progress));
  if (single) bytesByFile.set('model.safetensors', single);
  else {
    const indexText = await files.text('model.safetensors.index.json');
    if (indexText === undefined) return undefined;
    const weightMap = (JSON.parse(indexText) as { weight_map?: Record<string, unknown> }).weight_map ?? {};
    for (const shard of [...new Set(Object.values(weightMap).map(checkShardName))].sort()) {
      const bytes = await files.bytes(shard, downloadProgress(shard, progress));
      if (!bytes) throw new CheckpointError(`model.safetensors.index.json lists ${shard}, but ${files.description} has no such file.`);
      bytesByFile.set(shard, bytes);
    }
  }
  const parsed: SafetensorsFile[] = [...bytesByFile].map(([name, bytes]) =>
    parseSafetensorsHeader(bytes.subarray(0, 8 + safetensorsHeaderLength(bytes, bytes.byteLength, name)), bytes.byteLength, name),
  );
  const configText = texts['config.json'];
  if (configText === undefined) throw new CheckpointError(`${files.description} has no config.json; a Hugging Face checkpoint folder needs one.`);
  const config = parseBertConfig(configText, `config.json of ${files.description}`);
  const store = new WeightStore(parsed, config);
  const tensors = store.allTensors().map(({ name, dtype: tensorType, shape }) => ({ name, dtype: tensorType, shape: [...shape] }));
  const downloaded = [...bytesByFile.values()].reduce((sum, b) => sum + b.byteLength, 0);

  if (dtype === 'fp32' && single && store.allTensors().every((t) => t.dtype === 'F32')) {
    // The safetensors file itself is the blob: ONNX Runtime reads each tensor at its offset.
    const entries: Meta['tensors'] = {};
    for (const t of store.allTensors()) entries[t.name] = { elemType: 1, offset: t.absoluteOffset, length: t.byteLength };
    return { from: 'safetensors', meta: { version: CONVERSION_VERSION, dtype, tensors: entries }, tensors, weights: single, note: `downloaded ${MB(downloaded)} (fp32 safetensors, used as is)` };
  }

  const plan = planConversion(config, store, dtype);
  const blob = new Uint8Array(plan.totalBytes);
  const read = (info: TensorInfo): Float32Array => {
    const bytes = bytesByFile.get(info.file) as Uint8Array;
    return decodeToFloat32(bytes.subarray(info.absoluteOffset, info.absoluteOffset + info.byteLength), info.dtype, info.name);
  };
  for (const [i, step] of plan.steps.entries()) {
    for (const { name, bytes } of await convertStep(step, read, dtype)) blob.set(bytes, (plan.meta.tensors[name] as { offset: number }).offset);
    if (i % 4 === 3 || i === plan.steps.length - 1) {
      progress({ stage: 'convert', message: `converting to ${dtype}: tensor ${i + 1} of ${plan.steps.length}`, fraction: (i + 1) / plan.steps.length });
      await new Promise((resolve) => setTimeout(resolve, 0)); // let the page repaint
    }
  }
  return { from: 'safetensors', meta: plan.meta, tensors, weights: blob, note: `downloaded ${MB(downloaded)} and converted to ${dtype} in this browser (${MB(blob.byteLength)})` };
}

async function fromOnnx(files: ModelFiles, dtype: WeightDType, progress: (p: LoadProgress) => void): Promise<Built | undefined> {
  const graphName = `onnx/${ONNX_FILE_NAMES[dtype]}`;
  const graph = await files.bytes(graphName);
  if (!graph) return undefined;
  const dataFile = `${ONNX_FILE_NAMES[dtype]}_data`;
  const { meta, tensors } = onnxWeightLayout(graph, dataFile, `${files.description}${graphName}`);
  if (meta.dtype !== dtype) {
    throw new CheckpointError(`${files.description}${graphName} holds ${meta.dtype} weights, not ${dtype}; choose ${meta.dtype}.`);
  }
  const weights = await files.bytes(`onnx/${dataFile}`, downloadProgress(dataFile, progress));
  if (!weights) throw new CheckpointError(`${files.description} has ${graphName} but not onnx/${dataFile}; copy both files.`);
  return { from: 'onnx', meta, tensors, weights, note: `downloaded ${MB(weights.byteLength + graph.byteLength)} (pre-converted ${dtype})` };
}
