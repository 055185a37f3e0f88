/**
 * IgBertModel: a loaded BERT masked-LM checkpoint, its tokenizer, and lazily created ONNX Runtime sessions — one per
 * output selection (hidden state of layer k, logits, pooler), each a graph built in TypeScript from the checkpoint.
 * Tasks (src/tasks/) run on `forward`, which feeds the one token-budget batcher.
 */
import type { BertConfig } from './config.js';
import { UsageError } from './errors.js';
import { buildBertGraph, type BertGraphOutputs, type WeightSource } from './graph/bert.js';
import { planBatches, type BatchingOptions } from './runtime/batcher.js';
import type { ModelSession, OutputTensor, SessionFactory } from './runtime/session.js';
import type { BertTokenizer } from './tokenizer/bertTokenizer.js';
import { embed, type EmbedOptions, type EmbeddingResult } from './tasks/embed.js';
import { maskedLogits, type LogitsOptions, type TokenLogits } from './tasks/logits.js';
import { fill, type FillOptions, type FillResult } from './tasks/fill.js';
import { mutate, type MutateOptions, type MutationRecord, type MutationScore } from './tasks/mutate.js';
import { scan, type ScanOptions, type ScanResult } from './tasks/scan.js';
import { score, type ScoreOptions, type ScoreResult } from './tasks/score.js';
import { encodeAntibody, padBatch, type AntibodyRecord, type EncodedAntibody } from './tokenizer/antibody.js';

export const PRODUCER = { name: 'igbert', version: '0.1.0' };

/** Everything a model needs that depends on where the checkpoint lives (local folder, Hub cache, browser). */
export interface CheckpointBinding {
  /** Human-readable origin (folder path or Hub id) for messages. */
  source: string;
  config: BertConfig;
  tokenizer: BertTokenizer;
  weights: WeightSource;
  hasPooler: boolean;
  hasMlmHead: boolean;
  /** Folder that external-data locations produced by `weights` are relative to. */
  externalDataFolder?: string;
  /** Weight precision the graph runs with: "fp32", "fp16" or "int8". */
  dtype: string;
}

export interface ModelOptions {
  batching?: BatchingOptions;
  threads?: number;
  /** Attention implementation in the graph; default: fused where the runtime has it. */
  attention?: 'standard' | 'multihead';
}


export class IgBertModel {
  private readonly sessions = new Map<string, Promise<ModelSession>>();
  private disposed = false;

  constructor(
    readonly checkpoint: CheckpointBinding,
    private readonly factory: SessionFactory,
    readonly options: ModelOptions = {},
  ) {}

  get config(): BertConfig {
    return this.checkpoint.config;
  }

  get tokenizer(): BertTokenizer {
    return this.checkpoint.tokenizer;
  }

  get runtime(): string {
    return this.factory.description;
  }

  /** Validates and tokenises antibody records (throws InputError naming record, chain, position, character). */
  encode(records: readonly AntibodyRecord[], firstRecordNumber = 1): EncodedAntibody[] {
    return records.map((record, i) =>
      encodeAntibody(record, firstRecordNumber + i, this.tokenizer, this.config.max_position_embeddings),
    );
  }

  /** Normalises a `layer` argument (hidden_states index, negative counts from the end) to 0..num_hidden_layers. */
  resolveLayer(layer: number | undefined): number {
    const n = this.config.num_hidden_layers;
    if (layer === undefined) return n;
    if (!Number.isInteger(layer) || layer > n || layer < -(n + 1)) {
      throw new UsageError(
        `layer ${layer} does not exist: this model has hidden states 0 (embeddings) to ${n} (last layer); ` +
          `negative values count from the end (-1 = ${n}).`,
      );
    }
    return layer < 0 ? n + 1 + layer : layer;
  }

  /** Throws a UsageError when this checkpoint cannot produce the requested outputs (no pooler, no MLM head). */
  assertSupports(outputs: BertGraphOutputs): void {
    if (this.disposed) throw new UsageError('this model was disposed; load it again.');
    if (outputs.pooler && !this.checkpoint.hasPooler) {
      throw new UsageError(
        `${this.checkpoint.source} has no pooler weights (pooler.dense.*), so pooler output does not exist ` +
          '(IgBert is saved without a pooler). Use pooling "mean" or "cls" instead.',
      );
    }
    if ((outputs.logits || outputs.logProbs) && !this.checkpoint.hasMlmHead) {
      throw new UsageError(
        `${this.checkpoint.source} has no masked-LM head (cls.predictions.*): it is a BertModel checkpoint. ` +
          'Likelihoods, scans and infilling need a BertForMaskedLM checkpoint such as Exscientia/IgBert.',
      );
    }
  }

  /**
   * Every session holds its own prepacked copy of the weights, so requests share one "full" graph — last hidden
   * state, MLM logits and log-probabilities, pooler — whenever they can (its extra outputs cost well under 1% of a
   * forward pass). Only an earlier hidden layer gets a graph of its own, truncated after that layer.
   */
  private graphOutputs(outputs: BertGraphOutputs): BertGraphOutputs {
    const last = this.config.num_hidden_layers;
    if (outputs.hiddenStateLayer !== undefined && outputs.hiddenStateLayer !== last) return outputs;
    const head = this.checkpoint.hasMlmHead;
    return { hiddenStateLayer: last, logits: head, logProbs: head, pooler: this.checkpoint.hasPooler };
  }

  private session(requested: BertGraphOutputs): Promise<ModelSession> {
    this.assertSupports(requested);
    const outputs = this.graphOutputs(requested);
    const key = JSON.stringify(outputs);
    let session = this.sessions.get(key);
    if (!session) {
      const graph = buildBertGraph(this.config, this.checkpoint.weights, outputs, {
        attention: this.options.attention ?? (this.factory.multiHeadAttention ? 'multihead' : 'standard'),
      });
      session = this.factory.create(graph.encode(PRODUCER, `IgBert graph for ${this.checkpoint.source}`), {
        ...(this.checkpoint.externalDataFolder ? { externalDataFolder: this.checkpoint.externalDataFolder } : {}),
        ...(this.options.threads ? { threads: this.options.threads } : {}),
      });
      this.sessions.set(key, session);
      session.catch(() => this.sessions.delete(key));
    }
    return session;
  }

  /**
   * Runs items through the graph in token-budget batches. For each batch, `onBatch` gets the item indices (in
   * batch row order) and the output tensors [batch, paddedLength, ...]. Batches arrive in plan order, not input
   * order: callers place results by index.
   */
  async forward(
    items: readonly EncodedAntibody[],
    outputs: BertGraphOutputs,
    onBatch: (indices: readonly number[], tensors: Record<string, OutputTensor>, paddedLength: number) => void,
  ): Promise<void> {
    if (items.length === 0) return;
    const session = await this.session(outputs);
    const lengths = items.map((item) => item.inputIds.length);
    for (const indices of planBatches(lengths, this.options.batching)) {
      const batch = padBatch(indices.map((i) => items[i] as EncodedAntibody), this.config.pad_token_id);
      onBatch(indices, await session.run(batch), batch.sequenceLength);
    }
  }

  /** Sequence (and residue) embeddings; see src/tasks/embed.ts for the poolings. */
  embed(records: readonly AntibodyRecord[], options: EmbedOptions = {}): Promise<EmbeddingResult[]> {
    return embed(this, records, options);
  }

  /** Masked-LM logits (or log-probabilities with { logProbs: true }) for every token of each record. */
  maskedLogits(records: readonly AntibodyRecord[], options: LogitsOptions = {}): Promise<TokenLogits[]> {
    return maskedLogits(this, records, options);
  }

  /** Pseudo-log-likelihood (exact, one pass per residue) or wild-type marginal likelihood; see src/tasks/score.ts. */
  score(records: readonly AntibodyRecord[], options: ScoreOptions = {}): Promise<ScoreResult[]> {
    return score(this, records, options);
  }

  /** Mutation-set scores (masked- or wild-type-marginal); one result per (record, set); see src/tasks/mutate.ts. */
  mutate(records: readonly MutationRecord[], options: MutateOptions = {}): Promise<MutationScore[]> {
    return mutate(this, records, options);
  }

  /** Deep mutational scan: every standard amino acid at every position of the regions; see src/tasks/scan.ts. */
  scan(records: readonly AntibodyRecord[], options: ScanOptions = {}): Promise<ScanResult[]> {
    return scan(this, records, options);
  }

  /** Infilling of '*' residues and mask regions (greedy or sampled, parallel or by confidence); see src/tasks/fill.ts. */
  fill(records: readonly AntibodyRecord[], options: FillOptions = {}): Promise<FillResult[]> {
    return fill(this, records, options);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const session of sessions) {
      try {
        await (await session).dispose();
      } catch {
        // a session that failed to start has nothing to release
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
