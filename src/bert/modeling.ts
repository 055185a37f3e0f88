/**
 * BERT's math, one class per Hugging Face class, with Hugging Face's names, so it reads against
 * transformers/models/bert/modeling_bert.py (pinned: v5.18.0, the version the reference fixtures were made with):
 * https://github.com/huggingface/transformers/blob/v5.18.0/src/transformers/models/bert/modeling_bert.py
 *
 * Each class knows its parameters (checkpoint paths and shapes: `params()`) and its forward pass, written in the
 * engine-neutral operations of src/bert/ops.ts. Dropout is the identity at inference and left out. Nothing here
 * knows about ONNX, CUDA, padding or packing: the engines turn these forward passes into graphs or kernel launches.
 */
import type { BertConfig } from '../config.js';
import type { BertOps, LayerNormParams, LinearParams, Param } from './ops.js';

const param = (name: string, shape: readonly number[]): Param => ({ name, shape });

function linear(prefix: string, inFeatures: number, outFeatures: number): LinearParams {
  return {
    prefix,
    weight: param(`${prefix}.weight`, [outFeatures, inFeatures]),
    bias: param(`${prefix}.bias`, [outFeatures]),
    inFeatures,
    outFeatures,
  };
}

function layerNorm(prefix: string, width: number, eps: number): LayerNormParams {
  return { prefix, weight: param(`${prefix}.weight`, [width]), bias: param(`${prefix}.bias`, [width]), eps };
}

const normParams = (norm: LayerNormParams): Param[] => [norm.weight, norm.bias];
const linearParams = (dense: LinearParams): Param[] => [dense.weight, dense.bias];

/** BertEmbeddings: word + token type + absolute position embeddings, then LayerNorm. */
export class BertEmbeddings {
  readonly word_embeddings: Param;
  readonly position_embeddings: Param;
  readonly token_type_embeddings: Param;
  readonly LayerNorm: LayerNormParams;

  constructor(config: BertConfig) {
    const H = config.hidden_size;
    this.word_embeddings = param('embeddings.word_embeddings.weight', [config.vocab_size, H]);
    this.position_embeddings = param('embeddings.position_embeddings.weight', [config.max_position_embeddings, H]);
    this.token_type_embeddings = param('embeddings.token_type_embeddings.weight', [config.type_vocab_size, H]);
    this.LayerNorm = layerNorm('embeddings.LayerNorm', H, config.layer_norm_eps);
  }

  params(): Param[] {
    return [this.word_embeddings, this.position_embeddings, this.token_type_embeddings, ...normParams(this.LayerNorm)];
  }

  forward<V>(ops: BertOps<V>): V {
    const inputsEmbeds = ops.lookup(this.word_embeddings, 'input_ids');
    const tokenTypeEmbeddings = ops.lookup(this.token_type_embeddings, 'token_type_ids');
    const embeddings = ops.add(ops.add(inputsEmbeds, tokenTypeEmbeddings), ops.lookup(this.position_embeddings, 'position_ids'));
    return ops.layerNorm(embeddings, this.LayerNorm);
  }
}

/** BertSelfAttention: query, key and value projections, then scaled dot-product attention per head. */
export class BertSelfAttention {
  readonly query: LinearParams;
  readonly key: LinearParams;
  readonly value: LinearParams;

  constructor(
    config: BertConfig,
    prefix: string,
    readonly numAttentionHeads = config.num_attention_heads,
  ) {
    const H = config.hidden_size;
    this.query = linear(`${prefix}.query`, H, H);
    this.key = linear(`${prefix}.key`, H, H);
    this.value = linear(`${prefix}.value`, H, H);
  }

  params(): Param[] {
    return [this.query, this.key, this.value].flatMap(linearParams);
  }

  forward<V>(ops: BertOps<V>, hiddenStates: V): V {
    const [query, key, value] = ops.linears(hiddenStates, [this.query, this.key, this.value]) as [V, V, V];
    return ops.attention(query, key, value, this.numAttentionHeads);
  }
}

/** BertSelfOutput: dense, then LayerNorm of it plus the attention block's input (the residual). */
export class BertSelfOutput {
  readonly dense: LinearParams;
  readonly LayerNorm: LayerNormParams;

  constructor(config: BertConfig, prefix: string) {
    this.dense = linear(`${prefix}.dense`, config.hidden_size, config.hidden_size);
    this.LayerNorm = layerNorm(`${prefix}.LayerNorm`, config.hidden_size, config.layer_norm_eps);
  }

  params(): Param[] {
    return [...linearParams(this.dense), ...normParams(this.LayerNorm)];
  }

  forward<V>(ops: BertOps<V>, hiddenStates: V, inputTensor: V): V {
    return ops.layerNorm(ops.add(ops.linear(hiddenStates, this.dense), inputTensor), this.LayerNorm);
  }
}

/** BertAttention: self-attention, then its output block. */
export class BertAttention {
  readonly self: BertSelfAttention;
  readonly output: BertSelfOutput;

  constructor(config: BertConfig, prefix: string) {
    this.self = new BertSelfAttention(config, `${prefix}.self`);
    this.output = new BertSelfOutput(config, `${prefix}.output`);
  }

  params(): Param[] {
    return [...this.self.params(), ...this.output.params()];
  }

  forward<V>(ops: BertOps<V>, hiddenStates: V): V {
    return this.output.forward(ops, this.self.forward(ops, hiddenStates), hiddenStates);
  }
}

/** BertIntermediate: dense to intermediate_size, then GELU. */
export class BertIntermediate {
  readonly dense: LinearParams;

  constructor(config: BertConfig, prefix: string) {
    this.dense = linear(`${prefix}.dense`, config.hidden_size, config.intermediate_size);
  }

  params(): Param[] {
    return linearParams(this.dense);
  }

  forward<V>(ops: BertOps<V>, hiddenStates: V): V {
    return ops.gelu(ops.linear(hiddenStates, this.dense));
  }
}

/** BertOutput: dense back to hidden_size, then LayerNorm of it plus the attention output (the residual). */
export class BertOutput {
  readonly dense: LinearParams;
  readonly LayerNorm: LayerNormParams;

  constructor(config: BertConfig, prefix: string) {
    this.dense = linear(`${prefix}.dense`, config.intermediate_size, config.hidden_size);
    this.LayerNorm = layerNorm(`${prefix}.LayerNorm`, config.hidden_size, config.layer_norm_eps);
  }

  params(): Param[] {
    return [...linearParams(this.dense), ...normParams(this.LayerNorm)];
  }

  forward<V>(ops: BertOps<V>, hiddenStates: V, inputTensor: V): V {
    return ops.layerNorm(ops.add(ops.linear(hiddenStates, this.dense), inputTensor), this.LayerNorm);
  }
}

/** BertLayer: attention, then the feed-forward block (intermediate + output). */
export class BertLayer {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertOutput;

  constructor(config: BertConfig, prefix: string) {
    this.attention = new BertAttention(config, `${prefix}.attention`);
    this.intermediate = new BertIntermediate(config, `${prefix}.intermediate`);
    this.output = new BertOutput(config, `${prefix}.output`);
  }

  params(): Param[] {
    return [...this.attention.params(), ...this.intermediate.params(), ...this.output.params()];
  }

  /** The Linears of this layer, grouped as they are applied: those in one group read the same input. */
  linearGroups(): LinearParams[][] {
    const self = this.attention.self;
    return [[self.query, self.key, self.value], [this.attention.output.dense], [this.intermediate.dense], [this.output.dense]];
  }

  forward<V>(ops: BertOps<V>, hiddenStates: V): V {
    const attentionOutput = this.attention.forward(ops, hiddenStates);
    return this.output.forward(ops, this.intermediate.forward(ops, attentionOutput), attentionOutput);
  }
}

/** BertEncoder: a plain loop over the layers. */
export class BertEncoder {
  readonly layer: BertLayer[];

  constructor(config: BertConfig) {
    this.layer = Array.from({ length: config.num_hidden_layers }, (_, i) => new BertLayer(config, `encoder.layer.${i}`));
  }

  params(): Param[] {
    return this.layer.flatMap((layer) => layer.params());
  }

  /**
   * Runs the first `layers` layers. `onHiddenState(k, x)` sees hidden_states[k] for k = 1..layers (hidden_states[0]
   * is the embedding output, the caller's input).
   */
  forward<V>(ops: BertOps<V>, hiddenStates: V, layers: number, onHiddenState?: (index: number, x: V) => void): V {
    let x = hiddenStates;
    for (let i = 0; i < layers; i++) {
      x = (this.layer[i] as BertLayer).forward(ops, x);
      onHiddenState?.(i + 1, x);
    }
    return x;
  }
}

/** BertPooler: dense + tanh on the first token's hidden state. */
export class BertPooler {
  readonly dense: LinearParams;

  constructor(config: BertConfig) {
    this.dense = linear('pooler.dense', config.hidden_size, config.hidden_size);
  }

  params(): Param[] {
    return linearParams(this.dense);
  }

  forward<V>(ops: BertOps<V>, hiddenStates: V): V {
    return ops.tanh(ops.linear(ops.firstTokens(hiddenStates), this.dense));
  }
}

/** BertPredictionHeadTransform: dense, GELU, LayerNorm. */
export class BertPredictionHeadTransform {
  readonly dense: LinearParams;
  readonly LayerNorm: LayerNormParams;

  constructor(config: BertConfig) {
    this.dense = linear('cls.predictions.transform.dense', config.hidden_size, config.hidden_size);
    this.LayerNorm = layerNorm('cls.predictions.transform.LayerNorm', config.hidden_size, config.layer_norm_eps);
  }

  params(): Param[] {
    return [...linearParams(this.dense), ...normParams(this.LayerNorm)];
  }

  forward<V>(ops: BertOps<V>, hiddenStates: V): V {
    return ops.layerNorm(ops.gelu(ops.linear(hiddenStates, this.dense)), this.LayerNorm);
  }
}

/** Where the MLM decoder's weight and bias are stored (tied to the word embeddings, or its own). */
export interface DecoderPaths {
  weight: string;
  bias: string;
}

/** BertLMPredictionHead: the transform, then the decoder to vocabulary logits (weight tied to word embeddings). */
export class BertLMPredictionHead {
  readonly transform: BertPredictionHeadTransform;
  readonly decoder: LinearParams;

  constructor(config: BertConfig, decoder: DecoderPaths) {
    this.transform = new BertPredictionHeadTransform(config);
    this.decoder = {
      prefix: 'cls.predictions.decoder',
      weight: param(decoder.weight, [config.vocab_size, config.hidden_size]),
      bias: param(decoder.bias, [config.vocab_size]),
      inFeatures: config.hidden_size,
      outFeatures: config.vocab_size,
    };
  }

  params(): Param[] {
    return [...this.transform.params(), ...linearParams(this.decoder)];
  }

  forward<V>(ops: BertOps<V>, hiddenStates: V): V {
    return ops.linear(this.transform.forward(ops, hiddenStates), this.decoder);
  }
}

/** BertOnlyMLMHead (`cls`): holds the prediction head. */
export class BertOnlyMLMHead {
  readonly predictions: BertLMPredictionHead;

  constructor(config: BertConfig, decoder: DecoderPaths) {
    this.predictions = new BertLMPredictionHead(config, decoder);
  }

  params(): Param[] {
    return this.predictions.params();
  }

  forward<V>(ops: BertOps<V>, sequenceOutput: V): V {
    return this.predictions.forward(ops, sequenceOutput);
  }
}

/** What a forward pass returns (every output optional). */
export interface BertOutputs {
  /** Emit hidden_states[k] as "hidden_state" (0 = embedding output, num_hidden_layers = last layer). */
  hiddenStateLayer?: number;
  /** Emit the MLM logits as "logits". */
  logits?: boolean;
  /** Emit their log-softmax over the vocabulary (natural log) as "log_probs". */
  logProbs?: boolean;
  /** Emit BertPooler output as "pooler_output". */
  pooler?: boolean;
}

/** Which optional parts a checkpoint has. */
export interface BertHeads {
  /** pooler.dense.* is stored. */
  pooler: boolean;
  /** The MLM head (cls.predictions.*), with where its decoder lives; absent for BertModel checkpoints. */
  mlm?: DecoderPaths;
}

/** BertModel, plus the BertForMaskedLM head when the checkpoint has one: the whole network a checkpoint holds. */
export class Bert {
  readonly embeddings: BertEmbeddings;
  readonly encoder: BertEncoder;
  readonly pooler: BertPooler | undefined;
  readonly cls: BertOnlyMLMHead | undefined;

  constructor(
    readonly config: BertConfig,
    heads: BertHeads,
  ) {
    this.embeddings = new BertEmbeddings(config);
    this.encoder = new BertEncoder(config);
    this.pooler = heads.pooler ? new BertPooler(config) : undefined;
    this.cls = heads.mlm ? new BertOnlyMLMHead(config, heads.mlm) : undefined;
  }

  /** Every parameter once (a tied decoder weight is the word-embedding matrix, listed once), in forward order. */
  params(): Param[] {
    const all = [
      ...this.embeddings.params(),
      ...this.encoder.params(),
      ...(this.cls?.params() ?? []),
      ...(this.pooler?.params() ?? []),
    ];
    const seen = new Set<string>();
    return all.filter((p) => !seen.has(p.name) && seen.add(p.name));
  }

  /** The encoder's Linears in the groups they are applied in (query, key and value read one input). */
  encoderLinearGroups(): LinearParams[][] {
    return this.encoder.layer.flatMap((layer) => layer.linearGroups());
  }

  /** The outputs this checkpoint can give; throws nothing — callers check pooler/mlm presence first. */
  forward<V>(ops: BertOps<V>, outputs: BertOutputs): void {
    const needsLastLayer = Boolean(outputs.logits || outputs.logProbs || outputs.pooler);
    const layers = needsLastLayer ? this.config.num_hidden_layers : (outputs.hiddenStateLayer ?? this.config.num_hidden_layers);
    const embeddingOutput = this.embeddings.forward(ops);
    if (outputs.hiddenStateLayer === 0) ops.output('hidden_state', embeddingOutput);
    const sequenceOutput = this.encoder.forward(ops, embeddingOutput, layers, (index, x) => {
      if (index === outputs.hiddenStateLayer) ops.output('hidden_state', x);
    });
    if ((outputs.logits || outputs.logProbs) && this.cls) {
      const predictionScores = this.cls.forward(ops, ops.headRows(sequenceOutput));
      if (outputs.logits) ops.output('logits', predictionScores);
      if (outputs.logProbs) ops.output('log_probs', ops.logSoftmax(predictionScores));
    }
    if (outputs.pooler && this.pooler) ops.output('pooler_output', this.pooler.forward(ops, sequenceOutput));
  }
}
