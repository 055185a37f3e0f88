/**
 * The whole BERT masked-language model as an ONNX graph, block by block with Hugging Face's names, so it can be read
 * against transformers/models/bert/modeling_bert.py (v5.x: BertEmbeddings, BertSelfAttention, BertSelfOutput,
 * BertIntermediate, BertOutput, BertLayer, BertEncoder, BertPooler, BertPredictionHeadTransform, BertLMPredictionHead).
 *
 * Hidden states travel as a 2-D [batch*seq, hidden] matrix so every nn.Linear is one Gemm with transB=1 reading the
 * checkpoint's [out, in] weight as it is stored (no transposed copy of the weights is ever made); attention reshapes
 * to [batch, heads, seq, head_dim] and back.
 */
import type { BertConfig } from '../config.js';
import { OnnxGraphBuilder, TensorType, type ExternalLocation, type TensorTypeCode } from './onnxBuilder.js';

/** Where one weight's bytes are: a byte range of a file beside the graph, or bytes in memory. */
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
  resolve(path: string, shape: number[]): BoundTensor;
  /**
   * For int8 models: the quantised weight of the encoder Linears at `prefixes` (e.g. ["encoder.layer.3.output.dense"],
   * or query, key and value together), their outputs concatenated (see QuantizedLinearTensors). Run with ONNX
   * Runtime's DynamicQuantizeMatMul (activations quantised per batch at run time). Absent = float.
   */
  resolveQuantized?(prefixes: string[], inFeatures: number, outFeatures: number): QuantizedLinearTensors | undefined;
  /** Path of the MLM decoder matrix [vocab, hidden]: "cls.predictions.decoder.weight" or the tied word embeddings. */
  readonly decoderWeightPath: string;
  /** Path of the MLM output bias [vocab]. */
  readonly decoderBiasPath: string;
}

export interface BertGraphOutputs {
  /** Emit hidden_states[k] as "hidden_state" (0 = embedding output, num_hidden_layers = last layer). */
  hiddenStateLayer?: number;
  /** Emit the MLM logits [batch, seq, vocab] as "logits". */
  logits?: boolean;
  /** Emit log-softmax of the logits over the vocabulary as "log_probs" (natural log). */
  logProbs?: boolean;
  /** Emit BertPooler output [batch, hidden] as "pooler_output". */
  pooler?: boolean;
}

export const OPSET = 17;
/** ONNX Runtime's contrib operator domain (DynamicQuantizeMatMul). */
export const MS_DOMAIN = 'com.microsoft';

/** Builds the graph; inputs: input_ids, attention_mask, token_type_ids (int64 [batch, seq]). */
export interface BertGraphOptions {
  /**
   * "multihead" fuses scaled dot-product attention into ONNX Runtime's MultiHeadAttention contrib operator
   * (with key_padding_mask; CPU and wasm); "standard" spells it out in ONNX operators (any runtime).
   */
  attention?: 'standard' | 'multihead';
  /** Rename graph outputs, e.g. { hidden_state: 'last_hidden_state' } for the layout transformers.js expects. */
  outputNames?: Partial<Record<'hidden_state' | 'logits' | 'log_probs' | 'pooler_output', string>>;
}

export function buildBertGraph(
  config: BertConfig,
  weights: WeightSource,
  outputs: BertGraphOutputs,
  options: BertGraphOptions = {},
): OnnxGraphBuilder {
  const H = config.hidden_size;
  const heads = config.num_attention_heads;
  const headDim = H / heads;
  const eps = config.layer_norm_eps;
  const g = new OnnxGraphBuilder('bert', [
    { domain: '', version: OPSET },
    { domain: MS_DOMAIN, version: 1 },
  ]);

  // Initializers by name (tied weights bind once); the value is what consumers read (a float32 Cast of fp16 data).
  const bound = new Map<string, string>();
  const addInitializer = (tensor: BoundTensor, shape: number[]): string => {
    let value = bound.get(tensor.name);
    if (value === undefined) {
      const elemType = tensor.elemType ?? TensorType.FLOAT;
      if (tensor.external) g.initializerExternal(tensor.name, elemType, shape, tensor.external);
      else if (tensor.raw) g.initializerRaw(tensor.name, elemType, shape, tensor.raw);
      else throw new Error(`weight ${tensor.name}: no data`);
      value = elemType === TensorType.FLOAT16 ? g.op('Cast', [tensor.name], `${tensor.name}.f32`, { to: TensorType.FLOAT }) : tensor.name;
      bound.set(tensor.name, value);
    }
    return value;
  };
  const bind = (path: string, shape: number[]): string => addInitializer(weights.resolve(path, shape), shape);

  const inputIds = g.input('input_ids', TensorType.INT64, ['batch', 'sequence']);
  const attentionMask = g.input('attention_mask', TensorType.INT64, ['batch', 'sequence']);
  const tokenTypeIds = g.input('token_type_ids', TensorType.INT64, ['batch', 'sequence']);

  // Shapes derived once from input_ids: [batch, seq] and friends.
  const batchSeq = g.op('Shape', [inputIds], 'batch_seq_shape');
  const seqLen = g.op('Gather', [batchSeq, g.int64s([1], true)], 'seq_len', { axis: 0 });
  const splitHeadsShape = g.op('Concat', [batchSeq, g.int64s([heads, headDim])], 'split_heads_shape', { axis: 0 });
  const hidden3dShape = g.op('Concat', [batchSeq, g.int64s([H])], 'hidden_3d_shape', { axis: 0 });
  const flatShape = g.int64s([-1, H]);

  const layerNorm = (x: string, prefix: string): string =>
    g.op('LayerNormalization', [x, bind(`${prefix}.weight`, [H]), bind(`${prefix}.bias`, [H])], `${prefix}.out`, {
      axis: -1,
      epsilon: { float: eps },
    });
  // nn.Linear on a 2-D input: y = x W^T + b, W stored [out, in].
  const linear = (x: string, prefix: string, inFeatures: number, outFeatures: number): string =>
    g.op(
      'Gemm',
      [x, bind(`${prefix}.weight`, [outFeatures, inFeatures]), bind(`${prefix}.bias`, [outFeatures])],
      `${prefix}.out`,
      { transB: 1 },
    );
  // Encoder Linears may be int8 (per-output-channel weights, activations quantised at run time). Linears that read
  // the same input (query, key, value) then share one DynamicQuantizeMatMul: one activation quantisation, one GEMM.
  // A Linear with a residual int8 term gets two column blocks, added after the GEMM (its bias goes with the first).
  const encoderLinears = (x: string, prefixes: string[], inFeatures: number, outFeatures: number): string[] => {
    const quantized = weights.resolveQuantized?.(prefixes, inFeatures, outFeatures);
    if (!quantized) return prefixes.map((prefix) => linear(x, prefix, inFeatures, outFeatures));
    const blocks = prefixes.flatMap((prefix, i) => (quantized.residual[i] ? [prefix, `${prefix}.residual`] : [prefix]));
    const width = blocks.length * outFeatures;
    const zeros = (): string =>
      addInitializer({ name: `zero_bias_${outFeatures}`, raw: new Uint8Array(outFeatures * 4) }, [outFeatures]);
    const biases = blocks.map((block) => (block.endsWith('.residual') ? zeros() : bind(`${block}.bias`, [outFeatures])));
    const bias = biases.length === 1 ? (biases[0] as string) : g.op('Concat', biases, `${prefixes[0]}.fused_bias`, { axis: 0 });
    const output = g.op(
      'DynamicQuantizeMatMul',
      [x, addInitializer(quantized.weight, [inFeatures, width]), addInitializer(quantized.scale, [width]), '', bias],
      `${prefixes[0]}.out`,
      {},
      MS_DOMAIN,
    );
    const parts =
      blocks.length === 1
        ? [output]
        : g.node('Split', [output, g.int64s(blocks.map(() => outFeatures))], blocks.map((b) => `${b}.split`), { axis: 1 });
    let next = 0;
    return prefixes.map((prefix, i) => {
      const first = parts[next++] as string;
      return quantized.residual[i] ? g.op('Add', [first, parts[next++] as string], `${prefix}.two_term`) : first;
    });
  };
  const encoderLinear = (x: string, prefix: string, inFeatures: number, outFeatures: number): string =>
    encoderLinears(x, [prefix], inFeatures, outFeatures)[0] as string;
  // Exact GELU, as transformers' GELUActivation: 0.5 * x * (1 + erf(x / sqrt(2))).
  const gelu = (x: string): string => {
    const erf = g.op('Erf', [g.op('Div', [x, g.float32(Math.SQRT2)], 'gelu_scaled')], 'gelu_erf');
    const onePlus = g.op('Add', [erf, g.float32(1)], 'gelu_one_plus');
    return g.op('Mul', [g.op('Mul', [x, onePlus], 'gelu_x'), g.float32(0.5)], 'gelu');
  };

  // --- BertEmbeddings: word + absolute position + token type, then LayerNorm (dropout is identity at inference).
  const wordEmbeddings = bind('embeddings.word_embeddings.weight', [config.vocab_size, H]);
  const words = g.op('Gather', [wordEmbeddings, inputIds], 'inputs_embeds', { axis: 0 });
  const positionIds = g.op('Range', [g.int64s([0], true), seqLen, g.int64s([1], true)], 'position_ids');
  const positions = g.op(
    'Gather',
    [bind('embeddings.position_embeddings.weight', [config.max_position_embeddings, H]), positionIds],
    'position_embeddings',
    { axis: 0 },
  );
  const tokenTypes = g.op(
    'Gather',
    [bind('embeddings.token_type_embeddings.weight', [config.type_vocab_size, H]), tokenTypeIds],
    'token_type_embeddings',
    { axis: 0 },
  );
  const embeddingSum = g.op('Add', [g.op('Add', [words, tokenTypes], 'embeddings_wt'), positions], 'embeddings_sum');
  let hidden = g.op('Reshape', [layerNorm(embeddingSum, 'embeddings.LayerNorm'), flatShape], 'hidden_states_0');

  // Masks are built once, on first use: an additive bias [batch, 1, 1, seq] (0 where attended, float32 min where
  // padded, as transformers) for standard attention, or the int32 key padding mask for MultiHeadAttention.
  let attentionBias: string | undefined;
  const additiveMask = (): string => {
    if (attentionBias) return attentionBias;
    const maskFloat = g.op('Cast', [attentionMask], 'attention_mask_f', { to: TensorType.FLOAT });
    const inverted = g.op('Sub', [g.float32(1), maskFloat], 'inverted_mask');
    const bias2d = g.op('Mul', [inverted, g.float32(-3.4028234663852886e38)], 'mask_bias_2d');
    attentionBias = g.op('Unsqueeze', [bias2d, g.int64s([1, 2])], 'attention_bias');
    return attentionBias;
  };
  let keyPaddingMask: string | undefined;
  const int32Mask = (): string => (keyPaddingMask ??= g.op('Cast', [attentionMask], 'key_padding_mask', { to: TensorType.INT32 }));
  const to3d = (x: string, name: string): string => g.op('Reshape', [x, hidden3dShape], name);

  // BertSelfAttention's core, softmax(Q K^T / sqrt(d) + mask) V, on [batch*seq, hidden] projections.
  const standardAttention = (q2d: string, k2d: string, v2d: string, p: string): string => {
    const splitHeads = (x: string, perm: number[], name: string): string =>
      g.op('Transpose', [g.op('Reshape', [x, splitHeadsShape], `${name}_split`)], name, { perm });
    const query = splitHeads(q2d, [0, 2, 1, 3], `${p}.q`);
    const keyT = splitHeads(k2d, [0, 2, 3, 1], `${p}.kT`);
    const value = splitHeads(v2d, [0, 2, 1, 3], `${p}.v`);
    const scores = g.op('Mul', [g.op('MatMul', [query, keyT], `${p}.qk`), g.float32(1 / Math.sqrt(headDim))], `${p}.scores`);
    const probs = g.op('Softmax', [g.op('Add', [scores, additiveMask()], `${p}.masked_scores`)], `${p}.probs`, { axis: -1 });
    const context = g.op('MatMul', [probs, value], `${p}.context`);
    return g.op('Reshape', [g.op('Transpose', [context], `${p}.context_t`, { perm: [0, 2, 1, 3] }), flatShape], `${p}.context_2d`);
  };
  const fusedAttention = (q2d: string, k2d: string, v2d: string, p: string): string => {
    const context = g.op(
      'MultiHeadAttention',
      [to3d(q2d, `${p}.q3d`), to3d(k2d, `${p}.k3d`), to3d(v2d, `${p}.v3d`), '', int32Mask()],
      `${p}.context`,
      { num_heads: heads, scale: { float: 1 / Math.sqrt(headDim) } },
      MS_DOMAIN,
    );
    return g.op('Reshape', [context, flatShape], `${p}.context_2d`);
  };
  const selfAttention = options.attention === 'multihead' ? fusedAttention : standardAttention;

  const outputName = (name: 'hidden_state' | 'logits' | 'log_probs' | 'pooler_output'): string =>
    options.outputNames?.[name] ?? name;
  const emitHidden = (x: string): void => {
    const out = g.op('Reshape', [x, hidden3dShape], 'hidden_state_3d');
    g.node('Identity', [out], outputName('hidden_state'));
    g.output(outputName('hidden_state'), TensorType.FLOAT, ['batch', 'sequence', H]);
  };
  if (outputs.hiddenStateLayer === 0) emitHidden(hidden);

  const needsAllLayers = Boolean(outputs.logits || outputs.logProbs || outputs.pooler);
  const lastLayer = needsAllLayers ? config.num_hidden_layers : (outputs.hiddenStateLayer ?? config.num_hidden_layers);

  // --- BertEncoder: a plain loop over BertLayer.
  for (let i = 0; i < lastLayer; i++) {
    const p = `encoder.layer.${i}`;
    // BertSelfAttention
    const [query, key, value] = encoderLinears(
      hidden,
      ['query', 'key', 'value'].map((name) => `${p}.attention.self.${name}`),
      H,
      H,
    ) as [string, string, string];
    const merged = selfAttention(query, key, value, p);
    // BertSelfOutput: dense, residual, LayerNorm
    const attnOut = encoderLinear(merged, `${p}.attention.output.dense`, H, H);
    const attention = layerNorm(g.op('Add', [attnOut, hidden], `${p}.attn_residual`), `${p}.attention.output.LayerNorm`);
    // BertIntermediate + BertOutput
    const intermediate = gelu(encoderLinear(attention, `${p}.intermediate.dense`, H, config.intermediate_size));
    const ffnOut = encoderLinear(intermediate, `${p}.output.dense`, config.intermediate_size, H);
    hidden = layerNorm(g.op('Add', [ffnOut, attention], `${p}.ffn_residual`), `${p}.output.LayerNorm`);
    if (outputs.hiddenStateLayer === i + 1) emitHidden(hidden);
  }

  if (outputs.logits || outputs.logProbs) {
    // BertOnlyMLMHead → BertLMPredictionHead: transform (dense, GELU, LayerNorm), decoder tied to word embeddings.
    const transformed = layerNorm(
      gelu(linear(hidden, 'cls.predictions.transform.dense', H, H)),
      'cls.predictions.transform.LayerNorm',
    );
    const logits2d = g.op(
      'Gemm',
      [
        transformed,
        bind(weights.decoderWeightPath, [config.vocab_size, H]),
        bind(weights.decoderBiasPath, [config.vocab_size]),
      ],
      'logits_2d',
      { transB: 1 },
    );
    const logitsShape = g.op('Concat', [batchSeq, g.int64s([config.vocab_size])], 'logits_shape', { axis: 0 });
    const logits = g.op('Reshape', [logits2d, logitsShape], 'logits_3d');
    if (outputs.logits) {
      g.node('Identity', [logits], outputName('logits'));
      g.output(outputName('logits'), TensorType.FLOAT, ['batch', 'sequence', config.vocab_size]);
    }
    if (outputs.logProbs) {
      g.node('LogSoftmax', [logits], outputName('log_probs'), { axis: -1 });
      g.output(outputName('log_probs'), TensorType.FLOAT, ['batch', 'sequence', config.vocab_size]);
    }
  }

  if (outputs.pooler) {
    // BertPooler: dense + tanh on the first token's hidden state.
    const hidden3d = g.op('Reshape', [hidden, hidden3dShape], 'last_hidden_3d');
    const first = g.op('Gather', [hidden3d, g.int64s([0], true)], 'first_token', { axis: 1 });
    g.node('Tanh', [linear(first, 'pooler.dense', H, H)], outputName('pooler_output'));
    g.output(outputName('pooler_output'), TensorType.FLOAT, ['batch', H]);
  }
  return g;
}
