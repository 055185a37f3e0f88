/**
 * igbert — the IgBert antibody language model on ONNX Runtime, with the same numbers as Hugging Face transformers.
 * Node entry point: everything below, with IgBert.load(dir) reading checkpoint folders through node:fs.
 */
export { IgBert, loadModel, loadTokenizer, loadCheckpoint } from './node/loadModel.js';
export { IgBertModel, type CheckpointBinding, type ModelOptions } from './model.js';
export { embed, embedEncoded, type EmbedOptions, type EmbeddingResult } from './tasks/embed.js';
export { maskedLogits, logitsEncoded, type LogitsOptions, type TokenLogits } from './tasks/logits.js';
export { POOLINGS, type Pooling } from './tasks/pooling.js';
export { score, scoreEncoded, SCORE_METHODS, type ScoreMethod, type ScoreOptions, type ScoreResult } from './tasks/score.js';
export {
  mutate,
  mutateEncoded,
  prepareMutations,
  parseMutationSets,
  formatMutation,
  formatMutationSet,
  MUTATION_METHODS,
  type Mutation,
  type MutationMethod,
  type MutationRecord,
  type MutationScore,
  type MutateOptions,
  type PreparedMutations,
} from './tasks/mutate.js';
export { scan, scanEncoded, prepareScan, type ScanOptions, type ScanPosition, type ScanResult, type PreparedScan } from './tasks/scan.js';
export {
  fill,
  fillEncoded,
  prepareFill,
  FILL_ORDERS,
  FILL_STRATEGIES,
  type FillCandidate,
  type FillDesign,
  type FillOptions,
  type FillOrder,
  type FillPosition,
  type FillResult,
  type FillStrategy,
  type PreparedFill,
} from './tasks/fill.js';
export { AMINO_ACIDS, parseRegions, type Region, type ResiduePosition } from './tasks/positions.js';
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
export * from './probe/index.js';
