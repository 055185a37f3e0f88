/**
 * igbert — the IgBert antibody language model on ONNX Runtime, with the same numbers as Hugging Face transformers.
 * Node entry point: everything below, with IgBert.load(dir) reading checkpoint folders through node:fs.
 */
export { IgBert, loadModel, loadTokenizer, openCheckpoint, type LoadOptions } from './node/loadModel.js';
export { convertCheckpoint, ONNX_FILE_NAMES, type ConvertOptions, type ConvertResult } from './node/convertModel.js';
export * from './api.js';
export * from './probe/index.js';
