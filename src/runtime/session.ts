/**
 * The backend-neutral session layer: the model code hands a serialised ONNX graph to a SessionFactory and gets back
 * a ModelSession that runs padded int64 batches. onnxruntime-node implements it today (src/runtime/ortNode.ts);
 * onnxruntime-web and other execution providers plug in behind the same two interfaces.
 */

/** One padded batch, row-major [batchSize, sequenceLength] (the backend converts to the graph's int64). */
export type { PaddedBatch as BatchInputs } from '../tokenizer/antibody.js';
import type { PaddedBatch as BatchInputs } from '../tokenizer/antibody.js';

export interface OutputTensor {
  data: Float32Array;
  dims: readonly number[];
}

export interface ModelSession {
  readonly outputNames: readonly string[];
  run(inputs: BatchInputs): Promise<Record<string, OutputTensor>>;
  dispose(): Promise<void>;
}

export interface SessionCreateOptions {
  /** Folder that external-data locations in the graph are relative to. */
  externalDataFolder?: string;
  /** Threads for one operator (ORT intra-op). Default: the runtime's choice (all cores). */
  threads?: number;
}

export interface SessionFactory {
  /** e.g. "onnxruntime-node (cpu)". */
  readonly description: string;
  /** Whether the runtime has ONNX Runtime's MultiHeadAttention with key_padding_mask (CPU, wasm). */
  readonly multiHeadAttention: boolean;
  create(model: Uint8Array, options: SessionCreateOptions): Promise<ModelSession>;
}
