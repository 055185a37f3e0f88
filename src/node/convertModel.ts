/**
 * `igbert convert`: a self-contained ONNX model of a checkpoint, in the layout transformers.js and other ONNX Runtime
 * users load: OUT/config.json + tokenizer files, OUT/onnx/<name>.onnx + OUT/onnx/<name>.onnx_data (external data).
 * Inputs input_ids, attention_mask, token_type_ids (int64 [batch, sequence]); outputs last_hidden_state, logits
 * (BertForMaskedLM checkpoints) and pooler_output (checkpoints with a pooler).
 */
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bertFromStore } from '../bert/fromStore.js';
import { convertedConfigJson } from './convertedFolder.js';
import { bertTokenizerJson } from './tokenizerJson.js';
import type { HubOptions } from '../hub/settings.js';
import { buildBertGraph } from '../runtime/ort/bertGraph.js';
import { ONNX_FILE_NAMES, weightSourceFromMeta, type WeightDType } from '../runtime/ort/conversion.js';
import { writeWeightsFile } from '../runtime/ort/nodeWeights.js';
import { PRODUCER } from '../version.js';
import { openCheckpoint } from './loadModel.js';

// Shared with the browser loader, which reads this layout back (src/runtime/ort/onnxWeights.ts).
export { ONNX_FILE_NAMES };

const TOKENIZER_FILES = ['vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.json'];

export interface ConvertOptions {
  dtype?: WeightDType;
  /** "standard" (default) runs on every ONNX runtime and execution provider; "multihead" is faster on CPU/wasm. */
  attention?: 'standard' | 'multihead';
  hub?: HubOptions;
}

export interface ConvertResult {
  modelPath: string;
  dataPath: string;
  outputs: string[];
}

export async function convertCheckpoint(model: string, outDir: string, options: ConvertOptions = {}): Promise<ConvertResult> {
  const dtype = options.dtype ?? 'fp32';
  const { dir, store, checkpoint } = await openCheckpoint(model, options.hub ? { hub: options.hub } : {});
  const { config, tokenizer } = checkpoint;
  const onnxDir = join(outDir, 'onnx');
  await mkdir(onnxDir, { recursive: true });
  const modelName = ONNX_FILE_NAMES[dtype];
  const dataName = `${modelName}_data`;
  // The weights go to a staging folder first, so an interrupted conversion leaves no half model under the final name.
  const staging = join(onnxDir, `.staging-${process.pid}`);
  try {
    const meta = await writeWeightsFile(config, store, dtype, staging, dataName);
    const weights = weightSourceFromMeta(meta, store, dataName, staging);
    const graph = buildBertGraph(
      bertFromStore(config, store),
      weights,
      { hiddenStateLayer: config.num_hidden_layers, logits: store.hasMlmHead, pooler: store.hasPooler },
      { attention: options.attention ?? 'standard', layout: 'padded', outputNames: { hidden_state: 'last_hidden_state' } },
    );
    await writeFile(join(staging, modelName), graph.encode(PRODUCER, `${model} converted by igbert (${dtype})`));
    await rename(join(staging, dataName), join(onnxDir, dataName));
    await rename(join(staging, modelName), join(onnxDir, modelName));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  await writeFile(join(outDir, 'config.json'), convertedConfigJson(await readFile(join(dir, 'config.json'), 'utf8')));
  const copied = new Set<string>();
  for (const name of TOKENIZER_FILES) {
    try {
      await copyFile(join(dir, name), join(outDir, name));
      copied.add(name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  // transformers.js reads only tokenizer.json; a checkpoint without one (IgBert's) gets the BertTokenizer's equivalent.
  if (!copied.has('tokenizer.json')) {
    await writeFile(join(outDir, 'tokenizer.json'), `${JSON.stringify(bertTokenizerJson(tokenizer), null, 2)}\n`);
  }
  const outputs = ['last_hidden_state', ...(store.hasMlmHead ? ['logits'] : []), ...(store.hasPooler ? ['pooler_output'] : [])];
  return { modelPath: join(onnxDir, modelName), dataPath: join(onnxDir, dataName), outputs };
}
