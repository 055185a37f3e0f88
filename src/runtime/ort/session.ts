/**
 * What the ONNX engine needs of ONNX Runtime, the same for onnxruntime-node (src/runtime/ort/nodeSessions.ts) and
 * onnxruntime-web (src/runtime/ort/webSessions.ts): sessions created from a serialised graph, run on integer inputs.
 */
import type { Device } from '../engine.js';

/** One integer graph input (sent as int64, as Hugging Face's ONNX exports take them). */
export interface IntInput {
  data: Int32Array;
  dims: readonly number[];
}

export interface OutputTensor {
  data: Float32Array;
  dims: readonly number[];
}

export interface ModelSession {
  readonly outputNames: readonly string[];
  run(inputs: Record<string, IntInput>): Promise<Record<string, OutputTensor>>;
  dispose(): Promise<void>;
}

export interface SessionCreateOptions {
  /** Folder that external-data locations in the graph are relative to (Node). */
  externalDataFolder?: string;
  /** Threads for one operator (ORT intra-op). Default: the runtime's choice (all cores). */
  threads?: number;
}

export interface SessionFactory {
  /** e.g. "onnxruntime-node 1.30.0". */
  readonly runtime: string;
  /** The execution provider sessions are created on. */
  readonly device: Device;
  /** The hardware in words, when known. */
  readonly deviceName?: string;
  /** Whether the execution provider has MultiHeadAttention with key_padding_mask (CPU, wasm). */
  readonly multiHeadAttention: boolean;
  create(model: Uint8Array, options: SessionCreateOptions): Promise<ModelSession>;
}
