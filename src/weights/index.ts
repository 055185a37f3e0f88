/**
 * Weights: the safetensors format and the WeightStore (isomorphic), and reading checkpoint folders (Node only).
 * Web code imports ./safetensors.js and ./weightStore.js directly to stay free of node: modules.
 */
export {
  MAX_SAFETENSORS_HEADER_BYTES,
  SAFETENSORS_DTYPES,
  SAFETENSORS_DTYPE_BITS,
  decodeToFloat32,
  encodeSafetensors,
  parseSafetensorsHeader,
  safetensorsHeaderLength,
  tensorByteLength,
} from './safetensors.js';
export type { FloatWeightDType, SafetensorsDType, SafetensorsFile, TensorInfo, TensorToWrite } from './safetensors.js';
export { WeightStore } from './weightStore.js';
export type { DecoderConfig, MlmDecoderTensors } from './weightStore.js';
export {
  SAFE_WEIGHTS_INDEX_NAME,
  SAFE_WEIGHTS_NAME,
  findCheckpointWeights,
  openSafetensors,
  readTensor,
  readTensorBytes,
  writeSafetensorsFile,
} from './checkpointFiles.js';
