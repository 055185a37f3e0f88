/**
 * igbert — the IgBert antibody language model on ONNX Runtime, with the same numbers as Hugging Face transformers.
 * Node entry point: everything below, with IgBert.load(dir) reading checkpoint folders through node:fs.
 */
export { IgBert, loadModel, loadTokenizer, loadCheckpoint } from './node/loadModel.js';
export { IgBertModel, type CheckpointBinding, type ModelOptions } from './model.js';
export { embed, embedEncoded, type EmbedOptions, type EmbeddingResult } from './tasks/embed.js';
export { maskedLogits, logitsEncoded, type LogitsOptions, type TokenLogits } from './tasks/logits.js';
export { POOLINGS, type Pooling } from './tasks/pooling.js';
export { parseBertConfig, IGBERT_CONFIG, TINY_CONFIG, type BertConfig } from './config.js';
export {
  BertTokenizer,
  Vocabulary,
  encodeAntibody,
  modelCardText,
  normalizeChain,
  type AntibodyRecord,
  type Chain,
  type EncodedAntibody,
  type Encoding,
} from './tokenizer/index.js';
export {
  IgBertError,
  InputError,
  CheckpointError,
  UnsupportedError,
  UsageError,
  RuntimeFailure,
  FileError,
  type ErrorCode,
  type InputLocation,
} from './errors.js';
export type { BatchingOptions } from './runtime/batcher.js';
