/**
 * Loading a checkpoint on Node: config.json, tokenizer files and safetensors headers (never the whole weights here),
 * then the engine the device preference picks from Node's candidates (src/node/engines.ts), which reads the weights
 * its own way.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseBertConfig } from '../config.js';
import { CheckpointError, FileError, UsageError } from '../errors.js';
import { resolveModelDir } from '../hub/resolveModelDir.js';
import type { HubOptions } from '../hub/settings.js';
import { IgBertModel, type ModelOptions } from '../model.js';
import { selectEngine, type DevicePreference } from '../runtime/candidates.js';
import { BertTokenizer } from '../tokenizer/bertTokenizer.js';
import { findCheckpointWeights } from '../weights/checkpointFiles.js';
import { WeightStore } from '../weights/weightStore.js';
import { WEIGHT_DTYPES, type WeightDType } from '../runtime/ort/conversion.js';
import { convertedFolderCandidates, nodeCandidates, type NodeEngineOptions, type OpenedCheckpoint } from './engines.js';
import { convertedDtypes, openConvertedFolder } from './convertedFolder.js';

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

/** IgBert on Node: the model plus loading from a checkpoint folder or Hub id. */
export class IgBert extends IgBertModel {
  /** Loads a Hugging Face checkpoint folder (or Hub id) and starts the engine the device preference picks. */
  static async load(model: string, options: LoadOptions = {}): Promise<IgBert> {
    const log = options.onProgress ?? ((line: string) => process.stderr.write(`igbert: ${line}\n`));
    const dir = await resolveModelDir(model, options.hub);
    if ((await convertedDtypes(dir)).length > 0) {
      if (options.dtype !== undefined && !(WEIGHT_DTYPES as readonly string[]).includes(options.dtype)) {
        throw new UsageError(`${dir} is \`igbert convert\` (ONNX) output: --dtype ${options.dtype} is not one of its variants (${WEIGHT_DTYPES.join(', ')}).`);
      }
      const folder = await openConvertedFolder(dir, options.dtype as WeightDType | undefined, log);
      const { engine, passedOver } = await selectEngine(options.device ?? 'auto', convertedFolderCandidates(folder, options), log);
      return new IgBert(folder.checkpoint, engine, options, passedOver);
    }
    const opened = await openCheckpoint(dir); // already resolved: a Hub id's snapshot folder
    const { engine, passedOver } = await selectEngine(options.device ?? 'auto', nodeCandidates(opened, options, log), log);
    return new IgBert(opened.checkpoint, engine, options, passedOver);
  }
}

export interface LoadOptions extends ModelOptions, NodeEngineOptions {
  /** Where to run: "auto" (default: the fastest device that starts), "cuda", "webgpu" or "cpu". */
  device?: DevicePreference;
  /** Called with one-line notes (conversion progress, device fallback). Default: stderr. */
  onProgress?: (message: string) => void;
  /** How a Hub id ("org/name") given instead of a folder is downloaded and cached (revision, offline, ...). */
  hub?: HubOptions;
}

/** Loads a checkpoint folder and returns a ready IgBert. */
export function loadModel(dir: string, options: LoadOptions = {}): Promise<IgBert> {
  return IgBert.load(dir, options);
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
  const store = new WeightStore(files, config);
  return {
    dir,
    files,
    store,
    checkpoint: { source: dir, config, tokenizer, hasPooler: store.hasPooler, hasMlmHead: store.hasMlmHead },
  };
}
