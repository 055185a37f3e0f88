/**
 * BERT's operations (src/bert/ops.ts) as ONNX nodes: running the model's forward pass over these ops builds the
 * graph ONNX Runtime executes. Everything ONNX-specific lives here: graph inputs for padded or packed batches,
 * initializers (external data, fp16 casts), int8 Linears on DynamicQuantizeMatMul with their residual terms,
 * attention spelled out in ONNX operators or fused into ONNX Runtime's MultiHeadAttention, output shapes.
 *
 * Hidden states travel as 2-D [tokens, width] matrices, so every nn.Linear is one Gemm with transB=1 reading the
 * checkpoint's [out, in] weight as stored (no transposed copy). Padded inputs are [batch, sequence]; packed inputs
 * are [tokens] with explicit positions and a sequence number per token.
 */
import type { BertConfig } from '../../config.js';
import type { BertOps, LayerNormParams, LinearParams, OutputName, Param, TokenInput } from '../../bert/ops.js';
import type { BatchLayout } from '../../batches/planBatches.js';
import { OnnxGraphBuilder, TensorType } from './onnxBuilder.js';
import type { BoundTensor, WeightSource } from './weightSource.js';

export const OPSET = 17;
/** ONNX Runtime's contrib operator domain (DynamicQuantizeMatMul, MultiHeadAttention). */
export const MS_DOMAIN = 'com.microsoft';
/** Additive attention bias where a key must not be seen: float32's lowest value, as transformers uses. */
const MASKED = -3.4028234663852886e38;

export interface OnnxOpsOptions {
  /**
   * "multihead" fuses attention into ONNX Runtime's MultiHeadAttention contrib operator (with key_padding_mask; CPU
   * and wasm; padded layout only); "standard" spells it out in ONNX operators (any runtime, either layout).
   */
  attention: 'standard' | 'multihead';
  layout: BatchLayout;
  /** Rename graph outputs, e.g. { hidden_state: 'last_hidden_state' } for the layout transformers.js expects. */
  outputNames?: Partial<Record<OutputName, string>>;
}

/** The graph's integer inputs for each layout (all int64, as Hugging Face's ONNX exports). */
export const GRAPH_INPUTS: Readonly<Record<BatchLayout, readonly string[]>> = {
  padded: ['input_ids', 'attention_mask', 'token_type_ids'],
  packed: ['input_ids', 'token_type_ids', 'position_ids', 'sequence_ids'],
};

export class OnnxOps implements BertOps<string> {
  readonly g: OnnxGraphBuilder;
  private readonly bound = new Map<string, string>();
  private readonly flatIds = new Map<TokenInput | 'sequence_ids', string>();
  private readonly batchShape: string;
  private attentionBias: string | undefined;
  private keyPaddingMask: string | undefined;
  private readonly shapes3d = new Map<number, string>();
  private splitHeadsShape: string | undefined;

  constructor(
    private readonly config: BertConfig,
    private readonly weights: WeightSource,
    private readonly options: OnnxOpsOptions,
  ) {
    if (options.layout === 'packed' && options.attention === 'multihead') {
      throw new Error('MultiHeadAttention needs padded batches; packed graphs use standard attention');
    }
    this.g = new OnnxGraphBuilder('bert', [
      { domain: '', version: OPSET },
      { domain: MS_DOMAIN, version: 1 },
    ]);
    const dims = options.layout === 'padded' ? ['batch', 'sequence'] : ['tokens'];
    for (const name of GRAPH_INPUTS[options.layout]) this.g.input(name, TensorType.INT64, dims);
    // [batch, seq] for padded graphs, [tokens] for packed ones: the leading dims every output is reshaped to.
    this.batchShape = this.g.op('Shape', ['input_ids'], 'batch_shape');
  }

  // --- weights

  private initializer(tensor: BoundTensor, shape: readonly number[]): string {
    let value = this.bound.get(tensor.name);
    if (value === undefined) {
      const g = this.g;
      const elemType = tensor.elemType ?? TensorType.FLOAT;
      if (tensor.external) g.initializerExternal(tensor.name, elemType, [...shape], tensor.external);
      else if (tensor.raw) g.initializerRaw(tensor.name, elemType, [...shape], tensor.raw);
      else throw new Error(`weight ${tensor.name}: no data`);
      value = elemType === TensorType.FLOAT16 ? g.op('Cast', [tensor.name], `${tensor.name}.f32`, { to: TensorType.FLOAT }) : tensor.name;
      this.bound.set(tensor.name, value);
    }
    return value;
  }

  private bind(param: Param): string {
    return this.initializer(this.weights.resolve(param.name, param.shape), param.shape);
  }

  // --- inputs

  /** A token input as a flat [tokens] int64 vector. */
  private ids(input: TokenInput | 'sequence_ids'): string {
    let flat = this.flatIds.get(input);
    if (flat) return flat;
    const g = this.g;
    if (this.options.layout === 'packed') flat = input;
    else if (input === 'position_ids') {
      const seqLen = g.op('Gather', [this.batchShape, g.int64s([1], true)], 'seq_len', { axis: 0 });
      const range = g.op('Range', [g.int64s([0], true), seqLen, g.int64s([1], true)], 'position_range');
      flat = g.op('Reshape', [g.op('Expand', [range, this.batchShape], 'position_ids'), g.int64s([-1])], 'position_ids_flat');
    } else flat = g.op('Reshape', [input, g.int64s([-1])], `${input}_flat`);
    this.flatIds.set(input, flat);
    return flat;
  }

  // --- BertOps

  lookup(table: Param, ids: TokenInput): string {
    return this.g.op('Gather', [this.bind(table), this.ids(ids)], `${table.name}.rows`, { axis: 0 });
  }

  add(a: string, b: string): string {
    return this.g.op('Add', [a, b], 'sum');
  }

  layerNorm(x: string, norm: LayerNormParams): string {
    return this.g.op('LayerNormalization', [x, this.bind(norm.weight), this.bind(norm.bias)], `${norm.prefix}.out`, {
      axis: -1,
      epsilon: { float: norm.eps },
    });
  }

  linear(x: string, dense: LinearParams): string {
    return this.linears(x, [dense])[0] as string;
  }

  private gemm(x: string, dense: LinearParams): string {
    return this.g.op('Gemm', [x, this.bind(dense.weight), this.bind(dense.bias)], `${dense.prefix}.out`, { transB: 1 });
  }

  /**
   * Float Linears are one Gemm each. int8 (encoder) Linears that read the same input share one DynamicQuantizeMatMul (one
   * activation quantisation, one GEMM); a Linear with a residual int8 term gets two column blocks, added after the
   * GEMM (its bias goes with the first).
   */
  linears(x: string, denses: readonly LinearParams[]): string[] {
    const first = denses[0];
    if (!first) return [];
    const { inFeatures, outFeatures } = first;
    const prefixes = denses.map((d) => d.prefix);
    const quantized = this.weights.resolveQuantized?.(prefixes, inFeatures, outFeatures);
    if (!quantized) return denses.map((dense) => this.gemm(x, dense));
    const g = this.g;
    const blocks = denses.flatMap((dense, i) => (quantized.residual[i] ? [dense, undefined] : [dense]));
    const width = blocks.length * outFeatures;
    const biases = blocks.map((dense) =>
      dense ? this.bind(dense.bias) : this.initializer({ name: `zero_bias_${outFeatures}`, raw: new Uint8Array(outFeatures * 4) }, [outFeatures]),
    );
    const bias = biases.length === 1 ? (biases[0] as string) : g.op('Concat', biases, `${first.prefix}.fused_bias`, { axis: 0 });
    const output = g.op(
      'DynamicQuantizeMatMul',
      [x, this.initializer(quantized.weight, [inFeatures, width]), this.initializer(quantized.scale, [width]), '', bias],
      `${first.prefix}.out`,
      {},
      MS_DOMAIN,
    );
    const parts =
      blocks.length === 1
        ? [output]
        : g.node('Split', [output, g.int64s(blocks.map(() => outFeatures))], blocks.map((d, i) => `${d?.prefix ?? 'residual'}.split${i}`), { axis: 1 });
    let next = 0;
    return denses.map((dense, i) => {
      const part = parts[next++] as string;
      return quantized.residual[i] ? g.op('Add', [part, parts[next++] as string], `${dense.prefix}.two_term`) : part;
    });
  }

  gelu(x: string): string {
    const g = this.g;
    const erf = g.op('Erf', [g.op('Div', [x, g.float32(Math.SQRT2)], 'gelu_scaled')], 'gelu_erf');
    const onePlus = g.op('Add', [erf, g.float32(1)], 'gelu_one_plus');
    return g.op('Mul', [g.op('Mul', [x, onePlus], 'gelu_x'), g.float32(0.5)], 'gelu');
  }

  tanh(x: string): string {
    return this.g.op('Tanh', [x], 'tanh');
  }

  attention(query: string, key: string, value: string, heads: number): string {
    const headDim = this.config.hidden_size / heads;
    if (this.options.attention === 'multihead') return this.fusedAttention(query, key, value, heads, headDim);
    return this.options.layout === 'padded'
      ? this.paddedAttention(query, key, value, heads, headDim)
      : this.packedAttention(query, key, value, heads, headDim);
  }

  firstTokens(x: string): string {
    const g = this.g;
    if (this.options.layout === 'padded') {
      return g.op('Gather', [this.to3d(x, this.config.hidden_size, 'hidden_3d'), g.int64s([0], true)], 'first_token', { axis: 1 });
    }
    const starts = g.op('NonZero', [g.op('Equal', [this.ids('position_ids'), g.int64s([0], true)], 'is_first')], 'first_positions');
    return g.op('Gather', [x, g.op('Reshape', [starts, g.int64s([-1])], 'first_rows')], 'first_token', { axis: 0 });
  }

  headRows(x: string): string {
    return x;
  }

  logSoftmax(x: string): string {
    return this.g.op('LogSoftmax', [x], 'log_probs_2d', { axis: -1 });
  }

  output(name: OutputName, x: string): void {
    const g = this.g;
    const outputName = this.options.outputNames?.[name] ?? name;
    const width = name === 'logits' || name === 'log_probs' ? this.config.vocab_size : this.config.hidden_size;
    const padded = this.options.layout === 'padded' && name !== 'pooler_output';
    g.node('Identity', [padded ? this.to3d(x, width, `${name}_3d`) : x], outputName);
    const pooled = name === 'pooler_output';
    const leading = this.options.layout === 'packed' ? [pooled ? 'sequences' : 'tokens'] : pooled ? ['batch'] : ['batch', 'sequence'];
    g.output(outputName, TensorType.FLOAT, [...leading, width]);
  }

  // --- attention variants

  private to3d(x: string, width: number, name: string): string {
    const g = this.g;
    let shape = this.shapes3d.get(width);
    if (!shape) {
      shape = g.op('Concat', [this.batchShape, g.int64s([width])], `shape_3d_${width}`, { axis: 0 });
      this.shapes3d.set(width, shape);
    }
    return g.op('Reshape', [x, shape], name);
  }

  /** softmax(Q K^T / sqrt(d) + mask) V on [batch*seq, hidden] projections; the mask hides padding (as transformers). */
  private paddedAttention(q2d: string, k2d: string, v2d: string, heads: number, headDim: number): string {
    const g = this.g;
    this.splitHeadsShape ??= g.op('Concat', [this.batchShape, g.int64s([heads, headDim])], 'split_heads_shape', { axis: 0 });
    const splitShape = this.splitHeadsShape;
    const split = (x: string, perm: number[], name: string): string =>
      g.op('Transpose', [g.op('Reshape', [x, splitShape], `${name}_split`)], name, { perm });
    const query = split(q2d, [0, 2, 1, 3], 'q');
    const keyT = split(k2d, [0, 2, 3, 1], 'kT');
    const value = split(v2d, [0, 2, 1, 3], 'v');
    this.attentionBias ??= (() => {
      const maskFloat = g.op('Cast', ['attention_mask'], 'attention_mask_f', { to: TensorType.FLOAT });
      const bias2d = g.op('Mul', [g.op('Sub', [g.float32(1), maskFloat], 'inverted_mask'), g.float32(MASKED)], 'mask_bias_2d');
      return g.op('Unsqueeze', [bias2d, g.int64s([1, 2])], 'attention_bias');
    })();
    const scores = g.op('Mul', [g.op('MatMul', [query, keyT], 'qk'), g.float32(1 / Math.sqrt(headDim))], 'scores');
    const probs = g.op('Softmax', [g.op('Add', [scores, this.attentionBias], 'masked_scores')], 'probs', { axis: -1 });
    const context = g.op('Transpose', [g.op('MatMul', [probs, value], 'context')], 'context_t', { perm: [0, 2, 1, 3] });
    return g.op('Reshape', [context, g.int64s([-1, this.config.hidden_size])], 'context_2d');
  }

  /** The same on packed tokens: one [tokens, tokens] bias lets each token see only its own sequence. */
  private packedAttention(q2d: string, k2d: string, v2d: string, heads: number, headDim: number): string {
    const g = this.g;
    const splitShape = g.int64s([-1, heads, headDim]);
    const split = (x: string, perm: number[], name: string): string =>
      g.op('Transpose', [g.op('Reshape', [x, splitShape], `${name}_split`)], name, { perm });
    const query = split(q2d, [1, 0, 2], 'q');
    const keyT = split(k2d, [1, 2, 0], 'kT');
    const value = split(v2d, [1, 0, 2], 'v');
    this.attentionBias ??= (() => {
      const sequence = this.ids('sequence_ids');
      const rows = g.op('Unsqueeze', [sequence, g.int64s([1])], 'sequence_rows');
      const columns = g.op('Unsqueeze', [sequence, g.int64s([0])], 'sequence_columns');
      const same = g.op('Equal', [rows, columns], 'same_sequence');
      return g.op('Where', [same, g.float32(0), g.float32(MASKED)], 'attention_bias');
    })();
    const scores = g.op('Mul', [g.op('MatMul', [query, keyT], 'qk'), g.float32(1 / Math.sqrt(headDim))], 'scores');
    const probs = g.op('Softmax', [g.op('Add', [scores, this.attentionBias], 'masked_scores')], 'probs', { axis: -1 });
    const context = g.op('Transpose', [g.op('MatMul', [probs, value], 'context')], 'context_t', { perm: [1, 0, 2] });
    return g.op('Reshape', [context, g.int64s([-1, this.config.hidden_size])], 'context_2d');
  }

  /** ONNX Runtime's MultiHeadAttention on [batch, seq, hidden] with an int32 key padding mask. */
  private fusedAttention(q2d: string, k2d: string, v2d: string, heads: number, headDim: number): string {
    const g = this.g;
    const H = this.config.hidden_size;
    this.keyPaddingMask ??= g.op('Cast', ['attention_mask'], 'key_padding_mask', { to: TensorType.INT32 });
    const context = g.op(
      'MultiHeadAttention',
      [this.to3d(q2d, H, 'q3d'), this.to3d(k2d, H, 'k3d'), this.to3d(v2d, H, 'v3d'), '', this.keyPaddingMask],
      'context',
      { num_heads: heads, scale: { float: 1 / Math.sqrt(headDim) } },
      MS_DOMAIN,
    );
    return g.op('Reshape', [context, g.int64s([-1, H])], 'context_2d');
  }
}
