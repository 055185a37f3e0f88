/**
 * A folder written by `igbert convert` (config.json, the tokenizer files, onnx/<name>.onnx + onnx/<name>.onnx_data):
 * what it holds besides the graphs, and loading it like a checkpoint. The .onnx graph is read only for where each converted tensor lies in its .onnx_data file
 * (the layout src/runtime/ort/onnxWeights.ts reads, in the browser too); ONNX Runtime then reads the tensors from that file in
 * place — the converted weights are used as they are, never converted again — and igbert builds its own graphs over
 * them, as over any checkpoint, so every task (hidden layer k, log-probabilities, pooler) works.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseBertConfig } from '../config.js';
import { CheckpointError, FileError } from '../errors.js';
import { bertFromStore } from '../bert/fromStore.js';
import type { Bert } from '../bert/modeling.js';
import type { Checkpoint } from '../model.js';
import { ONNX_FILE_NAMES, WEIGHT_DTYPES, type WeightDType } from '../runtime/ort/conversion.js';
import type { NodeWeights } from '../runtime/ort/nodeWeights.js';
import { onnxWeightSource } from '../runtime/ort/onnxWeights.js';
import { BertTokenizer } from '../tokenizer/bertTokenizer.js';

async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FileError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * config.json of a converted folder: the checkpoint's, plus what transformers.js needs to find the weights next to
 * each graph (onnx/<name>.onnx_data) — without it a browser loads the graph alone and fails.
 */
export function convertedConfigJson(configText: string): string {
  const config = JSON.parse(configText) as Record<string, unknown>;
  const previous = (config['transformers.js_config'] ?? {}) as Record<string, unknown>;
  config['transformers.js_config'] = { ...previous, use_external_data_format: true };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The precisions `dir` holds as `igbert convert` output, in WEIGHT_DTYPES order; empty for any other folder. */
export async function convertedDtypes(dir: string): Promise<WeightDType[]> {
  const names = await readdir(join(dir, 'onnx')).catch(() => [] as string[]);
  const present = WEIGHT_DTYPES.filter((dtype) => names.includes(ONNX_FILE_NAMES[dtype]) && names.includes(`${ONNX_FILE_NAMES[dtype]}_data`));
  if (present.length === 0) return [];
  // A folder with safetensors weights is a checkpoint, whatever else it holds.
  const weights = await Promise.all(['model.safetensors', 'model.safetensors.index.json'].map((name) => stat(join(dir, name)).catch(() => undefined)));
  return weights.some(Boolean) ? [] : present;
}

/** A converted folder opened for the ONNX engine: the checkpoint, its network, and its converted weights in place. */
export interface ConvertedFolder {
  checkpoint: Checkpoint;
  bert: Bert;
  weights: NodeWeights;
  precision: WeightDType;
}

/**
 * Opens a converted folder. `dtype` picks the variant (onnx/model.onnx, model_fp16.onnx or model_quantized.onnx);
 * without it, the only one present, or fp32 among several.
 */
export async function openConvertedFolder(
  dir: string,
  dtype: WeightDType | undefined,
  onProgress?: (message: string) => void,
): Promise<ConvertedFolder> {
  const present = await convertedDtypes(dir);
  const chosen = dtype ?? (present.length === 1 ? present[0] : present.includes('fp32') ? 'fp32' : undefined);
  const listing = present.map((d) => `${d} (onnx/${ONNX_FILE_NAMES[d]})`).join(', ');
  if (chosen === undefined || !present.includes(chosen)) {
    throw new CheckpointError(
      `${dir} is \`igbert convert\` output holding ${listing}` +
        (chosen ? `, not ${chosen}: pass --dtype ${present.join(' or --dtype ')}, or convert it again with --dtype ${chosen}.` : `: pass --dtype ${present.join(' or --dtype ')}.`),
      { details: { dir, dtypes: present } },
    );
  }
  const graphName = ONNX_FILE_NAMES[chosen];
  const onnxDir = join(dir, 'onnx');
  const configBytes = await readOptional(join(dir, 'config.json'));
  if (configBytes === undefined) throw new CheckpointError(`${dir} has no config.json; \`igbert convert\` writes one: convert the model again.`);
  const config = parseBertConfig(configBytes.toString('utf8'), join(dir, 'config.json'));
  const tokenizer = await BertTokenizer.fromFiles(async (name) => (await readOptional(join(dir, name)))?.toString('utf8'), dir);
  if (tokenizer.vocabulary.size > config.vocab_size) {
    throw new CheckpointError(`${dir}: vocab.txt has ${tokenizer.vocabulary.size} tokens but config.json says vocab_size ${config.vocab_size}.`);
  }
  const graph = (await readOptional(join(onnxDir, graphName))) as Buffer;
  const { weights, store, dtype: stored } = onnxWeightSource(graph, `${graphName}_data`, config, join(onnxDir, graphName));
  if (stored !== chosen) {
    throw new CheckpointError(`${join(onnxDir, graphName)} holds ${stored} weights, not ${chosen} as its name says; convert the model again.`);
  }
  if (dtype === undefined && present.length > 1) onProgress?.(`${dir} holds ${listing}; using ${chosen} (--dtype chooses)`);
  return {
    checkpoint: { source: dir, config, tokenizer, hasPooler: store.hasPooler, hasMlmHead: store.hasMlmHead },
    bert: bertFromStore(config, store),
    weights: { weights, externalDataFolder: onnxDir },
    precision: chosen,
  };
}
