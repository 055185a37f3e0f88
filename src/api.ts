/**
 * The public API both entry points share (src/index.ts for Node, src/web.ts for browsers): the model, the tasks,
 * the tokenizer, the configuration and the errors. Isomorphic: nothing here imports a Node module.
 */
export { IgBertModel, type Checkpoint, type ModelOptions } from './model.js';
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
export { CHAIN_LETTERS, chainField, chainLetter, type ChainLetter } from './chains.js';
export { parseBertConfig, IGBERT_CONFIG, TINY_CONFIG, type BertConfig } from './config.js';
export { WEIGHT_DTYPES, type WeightDType } from './runtime/ort/conversion.js';
export { DEVICES, PRECISIONS, describeEngine, type Device, type EngineInfo, type Precision } from './runtime/engine.js';
export { DEVICE_ORDER, DEVICE_PREFERENCES, type DevicePreference } from './runtime/candidates.js';
export type { SequenceRequest, SequenceResult, ForwardItem, ForwardOptions } from './batches/requests.js';
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
  describeLocation,
  type ErrorCode,
  type InputLocation,
} from './errors.js';
export type { BatchingOptions } from './batches/planBatches.js';
