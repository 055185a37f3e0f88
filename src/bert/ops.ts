/**
 * The operations BERT's math is written in (src/bert/modeling.ts), and nothing about how they run. Each engine
 * implements them once: the ONNX Runtime engine emits graph nodes (src/runtime/ort/onnxOps.ts), the CUDA engine
 * records a program of kernel launches (src/runtime/cuda/programOps.ts). Values are opaque to the math: a graph
 * value name, a device tensor, whatever the engine uses.
 *
 * Hidden states are [tokens, width] matrices over every token of a batch; which token belongs to which sequence
 * (padding, packing) is the engine's business, so the math never sees it. Only `attention` mixes tokens, and only
 * within one sequence.
 */

/** A checkpoint tensor, by its BertModel-relative Hugging Face path ("encoder.layer.0.output.dense.weight"). */
export interface Param {
  readonly name: string;
  readonly shape: readonly number[];
}

/** nn.Linear: y = x W^T + b, W stored [outFeatures, inFeatures]. */
export interface LinearParams {
  /** The module path ("encoder.layer.0.attention.self.query"). */
  readonly prefix: string;
  readonly weight: Param;
  readonly bias: Param;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

/** nn.LayerNorm over the last dimension. */
export interface LayerNormParams {
  readonly prefix: string;
  readonly weight: Param;
  readonly bias: Param;
  readonly eps: number;
}

/** The per-token integer inputs of a batch: ids from the tokenizer; positions count from 0 in every sequence. */
export type TokenInput = 'input_ids' | 'position_ids' | 'token_type_ids';

/** What a forward pass hands back, by the names Hugging Face's outputs use. */
export type OutputName = 'hidden_state' | 'logits' | 'log_probs' | 'pooler_output';

export interface BertOps<V> {
  /** nn.Embedding: the rows of `table` for each token's `ids`. */
  lookup(table: Param, ids: TokenInput): V;
  add(a: V, b: V): V;
  layerNorm(x: V, norm: LayerNormParams): V;
  linear(x: V, dense: LinearParams): V;
  /** Several nn.Linear of the same input (query, key, value), in order. */
  linears(x: V, denses: readonly LinearParams[]): V[];
  /** Exact GELU, 0.5·x·(1 + erf(x/√2)), as transformers' "gelu". */
  gelu(x: V): V;
  tanh(x: V): V;
  /** softmax(Q Kᵀ / √d) V per head, each token attending to the tokens of its own sequence only. */
  attention(query: V, key: V, value: V, heads: number): V;
  /** The first token ([CLS]) of every sequence: [sequences, width]. */
  firstTokens(x: V): V;
  /** The tokens the masked-LM head is evaluated at: every token, or only those a batch asks for. */
  headRows(x: V): V;
  /** Natural-log softmax over the last dimension. */
  logSoftmax(x: V): V;
  output(name: OutputName, x: V): void;
}
