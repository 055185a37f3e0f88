/**
 * How the ONNX engine finds a weight's bytes for a graph initializer: a byte range of a file beside the graph
 * (external data, read by ONNX Runtime in place), or bytes in memory; int8 encoder Linears in the layout ONNX
 * Runtime's DynamicQuantizeMatMul reads. Node binds checkpoint files and the converted-weights cache
 * (src/runtime/ort/nodeWeights.ts); the browser binds one downloaded blob (src/web/loadCheckpoint.ts).
 */
import type { ExternalLocation, TensorTypeCode } from './onnxBuilder.js';

/** Where one weight's bytes are. */
export interface BoundTensor {
  /** Initializer name: the checkpoint key, so tied weights resolve to one initializer. */
  name: string;
  /** Storage type; FLOAT16 weights are cast to float32 once, when the session is created. Default FLOAT. */
  elemType?: TensorTypeCode;
  external?: ExternalLocation;
  raw?: Uint8Array;
}

/**
 * Encoder nn.Linears stored as one int8 [in, width] tensor with one float32 scale per column. Column blocks of `out`
 * follow `prefixes` in order; a prefix flagged in `residual` has a second block right after its own, the int8
 * quantisation of what the first left over (W ≈ s1·Q1 + s2·Q2), and its output is the sum of the two.
 */
export interface QuantizedLinearTensors {
  weight: BoundTensor;
  scale: BoundTensor;
  /** One flag per prefix: a second (residual) int8 term follows that prefix's columns. */
  residual: boolean[];
}

/** Finds checkpoint tensors by BertModel-relative HF path (e.g. "encoder.layer.0.output.dense.weight"). */
export interface WeightSource {
  /** Resolves and shape-checks a float tensor; throws a CheckpointError naming the path when absent or misshapen. */
  resolve(path: string, shape: readonly number[]): BoundTensor;
  /**
   * For int8 models: the quantised weight of the encoder Linears at `prefixes` (e.g. ["encoder.layer.3.output.dense"],
   * or query, key and value together), their outputs concatenated (see QuantizedLinearTensors). Run with ONNX
   * Runtime's DynamicQuantizeMatMul (activations quantised per batch at run time). Absent = float.
   */
  resolveQuantized?(prefixes: string[], inFeatures: number, outFeatures: number): QuantizedLinearTensors | undefined;
}
