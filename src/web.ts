/**
 * igbert/web — IgBert in the browser on onnxruntime-web (WebGPU, or WebAssembly as the fallback). The same model
 * and tasks as the Node entry point; IgBert.load takes a URL of a Hugging Face-format folder or files the user
 * picked instead of a local path. Nothing here imports a Node module; sequences never leave the page.
 */
export { IgBert, type ModelSource, type WebLoadOptions } from './web/igbertWeb.js';
export type { LoadProgress } from './web/loadCheckpoint.js';
export { urlFiles, localFiles, type ModelFiles, type ByteProgress } from './web/modelFiles.js';
export { clearModelCache } from './web/modelCache.js';
export { chooseBackend, WEB_DEVICES, type BackendChoice, type WebDevice, type WebDevicePreference } from './web/ortWeb.js';
export { WEIGHT_DTYPES, type WeightDType } from './weights/conversion.js';
export { IgBertModel, type CheckpointBinding, type ModelOptions } from './model.js';
export { embed, embedEncoded, type EmbedOptions, type EmbeddingResult } from './tasks/embed.js';
export { maskedLogits, logitsEncoded, type LogitsOptions, type TokenLogits } from './tasks/logits.js';
export { POOLINGS, type Pooling } from './tasks/pooling.js';
export { score, scoreEncoded, SCORE_METHODS, type ScoreMethod, type ScoreOptions, type ScoreResult } from './tasks/score.js';
export {
  mutate,
  parseMutationSets,
  formatMutation,
  formatMutationSet,
  MUTATION_METHODS,
  type Mutation,
  type MutationMethod,
  type MutationRecord,
  type MutationScore,
  type MutateOptions,
} from './tasks/mutate.js';
export { scan, type ScanOptions, type ScanPosition, type ScanResult } from './tasks/scan.js';
export {
  fill,
  FILL_ORDERS,
  FILL_STRATEGIES,
  type FillCandidate,
  type FillDesign,
  type FillOptions,
  type FillOrder,
  type FillPosition,
  type FillResult,
  type FillStrategy,
} from './tasks/fill.js';
export { AMINO_ACIDS, parseRegions, type Region, type ResiduePosition } from './tasks/positions.js';
export { parseBertConfig, type BertConfig } from './config.js';
export { BertTokenizer, normalizeChain, type AntibodyRecord, type Chain, type EncodedAntibody } from './tokenizer/index.js';
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
export type { BatchingOptions } from './runtime/batcher.js';
