/**
 * The engine seam: what every compute backend implements. An engine is built from a checkpoint's configuration and
 * weights at one precision, takes packed batches (token ids + per-sequence lengths + what each sequence needs), and
 * returns typed results. How it computes — an ONNX graph on ONNX Runtime (src/runtime/ort/), kernels on a GPU
 * (src/runtime/cuda/) — and whether it pads are its own business. Tasks never see engines: they go through
 * src/runtime/runner.ts, which plans batches to the engine's preferences.
 */
import type { BatchingOptions, BatchLayout } from '../batches/planBatches.js';
import type { PackedBatch } from '../batches/packedBatch.js';
import type { BatchNeeds, SequenceResult } from '../batches/requests.js';

/** Where an engine computes. */
export const DEVICES = ['cpu', 'webgpu', 'wasm', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];

/**
 * Numeric precision. On ONNX Runtime fp16 and int8 describe the stored weights (computation stays float32); on CUDA
 * fp16 and bf16 are the GEMM input types (float32 accumulation); fp32 is exact everywhere.
 */
export const PRECISIONS = ['fp32', 'fp16', 'bf16', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

/** What an engine is and prefers: reported the same way by the CLI, the server's /info and the web page. */
export interface EngineInfo {
  /** The implementation and its version, e.g. "onnxruntime-node 1.30.0" or "igbert-cuda (CUDA 13.0, cuBLASLt 13.0)". */
  readonly runtime: string;
  readonly device: Device;
  /** The hardware in words, when known ("NVIDIA H200", "2 threads"). */
  readonly deviceName?: string;
  readonly precision: Precision;
  /** Whether batches are padded to their longest sequence or packed without padding. */
  readonly layout: BatchLayout;
  /** Batching this engine runs best with (overridden by the user's options). */
  readonly batching: BatchingOptions;
  /** How many batches may be in flight at once (2+ lets the host prepare the next while one runs). */
  readonly concurrency: number;
}

/** Device memory an engine holds, in bytes (engines with their own device memory report it). */
export interface EngineMemory {
  weightBytes: number;
  /** Activation memory reserved now, and its peak since the engine started. */
  activationBytes: number;
  peakActivationBytes: number;
  deviceFreeBytes: number;
  deviceTotalBytes: number;
}

export interface Engine {
  readonly info: EngineInfo;
  /** Work done per device so far, for engines that spread over several (src/runtime/multiEngine.ts). */
  work?(): EngineWork[];
  /** Device memory in use, where the engine manages its own (CUDA); undefined otherwise. */
  memory?(): EngineMemory | undefined;
  /** Computes what each sequence of the batch asked for; results in batch order. */
  run(batch: PackedBatch): Promise<SequenceResult[]>;
  /** Builds what `needs` will use (a graph, a program) now, so the first batch does not pay for it. */
  prepare(needs: BatchNeeds): Promise<void>;
  dispose(): Promise<void>;
}

/** What one device of an engine has done (batches, sequences, tokens, seconds busy; why it was taken out). */
export interface EngineWork {
  label: string;
  batches: number;
  sequences: number;
  tokens: number;
  busySeconds: number;
  failed?: string;
}

/** The error code an engine gives a batch that did not fit in memory: the runner splits such a batch. */
export const OUT_OF_MEMORY = 'OUT_OF_MEMORY';

/** Whether `error` says a batch did not fit in device memory. */
export function isOutOfMemory(error: unknown): boolean {
  return (error as { details?: { reason?: unknown } } | undefined)?.details?.reason === OUT_OF_MEMORY;
}

/** One line for logs and summaries: "cuda (NVIDIA H200), bf16, igbert-cuda …". */
export function describeEngine(info: EngineInfo): string {
  return `${info.device}${info.deviceName ? ` (${info.deviceName})` : ''}, ${info.precision}, ${info.runtime}`;
}
