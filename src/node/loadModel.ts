/**
 * Loading a checkpoint folder on Node: config.json, tokenizer files, safetensors headers (never the whole weights),
 * and a WeightSource whose float32 tensors are external data read by ONNX Runtime straight from the safetensors
 * files — one copy of the weights, memory-mapped by the runtime. F16/BF16 tensors are converted once in memory.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseBertConfig, type BertConfig } from '../config.js';
import { CheckpointError, FileError } from '../errors.js';
import type { BoundTensor, WeightSource } from '../graph/bert.js';
import { resolveModelDir } from '../hub/resolveModelDir.js';
import type { HubOptions } from '../hub/settings.js';
import { IgBertModel, type CheckpointBinding, type ModelOptions } from '../model.js';
import { OrtNodeSessionFactory, type Device } from '../runtime/ortNode.js';
import { BertTokenizer } from '../tokenizer/bertTokenizer.js';
import { findCheckpointWeights, readTensor } from '../weights/checkpointFiles.js';
import type { SafetensorsFile, TensorInfo } from '../weights/safetensors.js';
import { WeightStore } from '../weights/weightStore.js';
import { convertedDtypes, loadConvertedFolder } from './convertedFolder.js';
import { convertedWeights, type WeightDType } from './convertWeights.js';

async function requireFolder(dir: string): Promise<void> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new FileError(
      `model folder ${dir} does not exist. Pass a folder holding a Hugging Face checkpoint ` +
        '(config.json, vocab.txt, model.safetensors), or a Hugging Face Hub id such as Exscientia/IgBert.',
    );
  }
  if (!info.isDirectory()) throw new FileError(`--model ${dir} is a file; pass the checkpoint folder that contains it.`);
}

async function readOptionalText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FileError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Loads only the tokenizer of a checkpoint folder or Hub id (vocab.txt, tokenizer_config.json, special_tokens_map.json). */
export async function loadTokenizer(model: string, options: { hub?: HubOptions } = {}): Promise<BertTokenizer> {
  const dir = await resolveModelDir(model, options.hub, 'tokenizer');
  await requireFolder(dir);
  return BertTokenizer.fromFiles((name) => readOptionalText(join(dir, name)), dir);
}

/** IgBert on Node: the model plus loading from a checkpoint folder. */
export class IgBert extends IgBertModel {
  /** Loads a Hugging Face checkpoint folder; ONNX Runtime sessions are created on first use. */
  static async load(dir: string, options: LoadOptions = {}): Promise<IgBert> {
    const factory = new OrtNodeSessionFactory({
      ...(options.device ? { device: options.device } : {}),
      ...(options.onProgress ? { log: options.onProgress } : {}),
    });
    return new IgBert(await loadCheckpoint(dir, options), factory, options);
  }
}

export interface LoadOptions extends ModelOptions {
  /** Weight precision: fp32 (default, exact), fp16 (half-size weights, fp32 compute) or int8 (quantised encoder). */
  dtype?: WeightDType;
  /** Execution device: "cpu" (default) or "webgpu" (falls back to cpu with one log line when unavailable). */
  device?: Device;
  /** Called with one-line notes (conversion progress, device fallback). Default: stderr. */
  onProgress?: (message: string) => void;
  /** How a Hub id ("org/name") given instead of a folder is downloaded and cached (revision, offline, ...). */
  hub?: HubOptions;
}

/** Loads a checkpoint folder and returns a ready IgBert (sessions are created on first use). */
export function loadModel(dir: string, options: LoadOptions = {}): Promise<IgBert> {
  return IgBert.load(dir, options);
}

export interface OpenedCheckpoint {
  /** The local folder (a Hub id resolves to its cache snapshot). */
  dir: string;
  config: BertConfig;
  tokenizer: BertTokenizer;
  files: SafetensorsFile[];
  store: WeightStore;
}

/** Reads config, tokenizer and safetensors headers (never the weights) of a checkpoint folder or Hub id. */
export async function openCheckpoint(model: string, options: Pick<LoadOptions, 'hub'> = {}): Promise<OpenedCheckpoint> {
  const dir = await resolveModelDir(model, options.hub);
  await requireFolder(dir);
  const configText = await readOptionalText(join(dir, 'config.json'));
  if (configText === undefined) {
    throw new CheckpointError(`${dir} has no config.json; a Hugging Face checkpoint folder needs one.`);
  }
  const config = parseBertConfig(configText, join(dir, 'config.json'));
  const tokenizer = await BertTokenizer.fromFiles((name) => readOptionalText(join(dir, name)), dir);
  if (tokenizer.vocabulary.size > config.vocab_size) {
    throw new CheckpointError(
      `${dir}: vocab.txt has ${tokenizer.vocabulary.size} tokens but config.json says vocab_size ${config.vocab_size}.`,
    );
  }
  const files = await findCheckpointWeights(dir);
  return { dir, config, tokenizer, files, store: new WeightStore(files, config) };
}

/** Reads a checkpoint folder or Hub id and binds its weights for graph building (fp16/int8: converted, cached). */
export async function loadCheckpoint(model: string, options: LoadOptions = {}): Promise<CheckpointBinding> {
  if ((await convertedDtypes(model)).length > 0) return loadConvertedFolder(model, options.dtype, options.onProgress);
  const { dir, config, tokenizer, files, store } = await openCheckpoint(model, options);
  const common = { source: dir, config, tokenizer, hasPooler: store.hasPooler, hasMlmHead: store.hasMlmHead };
  const dtype = options.dtype ?? 'fp32';
  if (dtype !== 'fp32') {
    const converted = await convertedWeights(config, store, files, dtype, options.onProgress);
    return { ...common, weights: converted.weights, externalDataFolder: converted.folder, dtype };
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
    decoderWeightPath: store.decoderWeightPath,
    decoderBiasPath: store.decoderBiasPath,
    resolve(path: string, shape: number[]): BoundTensor {
      const info: TensorInfo = store.get(path, shape);
      const raw = inMemory.get(info.name);
      if (raw) return { name: info.name, raw };
      if (info.dtype !== 'F32') {
        throw new CheckpointError(`tensor ${info.name} in ${info.file} has dtype ${info.dtype}; weights must be F32, F16 or BF16.`);
      }
      return {
        name: info.name,
        external: {
          location: basename(realFiles.get(info.file) as string),
          offset: info.absoluteOffset,
          length: info.byteLength,
        },
      };
    },
  };
  return { ...common, weights, dtype, ...(externalDataFolder ? { externalDataFolder } : {}) };
}

