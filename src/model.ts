/**
 * IgBertModel: a loaded BERT masked-LM checkpoint — its configuration and tokenizer — and the engine that runs it.
 * The facade for the tasks (src/tasks/), which see only the TaskModel part: `forward` over items that each say what
 * they need back, batched by the one token-budget planner for the engine's layout (src/runtime/runner.ts).
 * The Node and browser entry points add loading (src/node/loadModel.ts, src/web/igbertWeb.ts).
 */
import type { BertOutputs } from './bert/modeling.js';
import type { BatchingOptions } from './batches/planBatches.js';
import type { BatchListener } from './batches/progress.js';
import type { BatchNeeds, ForwardItem, ForwardOptions, SequenceResult } from './batches/requests.js';
import type { BertConfig } from './config.js';
import { UsageError } from './errors.js';
import type { Engine, EngineInfo, EngineMemory, EngineWork } from './runtime/engine.js';
import { runForward } from './runtime/runner.js';
import { embed, type EmbedOptions, type EmbeddingResult } from './tasks/embed.js';
import { fill, type FillOptions, type FillResult } from './tasks/fill.js';
import { maskedLogits, type LogitsOptions, type TokenLogits } from './tasks/logits.js';
import { mutate, type MutateOptions, type MutationRecord, type MutationScore } from './tasks/mutate.js';
import { scan, type ScanOptions, type ScanResult } from './tasks/scan.js';
import { score, type ScoreOptions, type ScoreResult } from './tasks/score.js';
import type { TaskModel } from './tasks/taskModel.js';
import { encodeAntibody, type AntibodyRecord, type EncodedAntibody } from './tokenizer/antibody.js';
import type { BertTokenizer } from './tokenizer/bertTokenizer.js';

/** A checkpoint as every engine and task sees it: where it came from, its configuration, tokenizer and heads. */
export interface Checkpoint {
  /** Human-readable origin (folder path or Hub id) for messages. */
  source: string;
  config: BertConfig;
  tokenizer: BertTokenizer;
  hasPooler: boolean;
  hasMlmHead: boolean;
}

export interface ModelOptions {
  /** Token budget and batch size (defaults: the engine's preference). */
  batching?: BatchingOptions;
}

export class IgBertModel implements TaskModel {
  private disposed = false;

  constructor(
    readonly checkpoint: Checkpoint,
    private readonly engine: Engine,
    readonly options: ModelOptions = {},
    /** Devices passed over before this one, each "device: reason" (see src/runtime/candidates.ts). */
    readonly passedOver: readonly string[] = [],
  ) {}

  get config(): BertConfig {
    return this.checkpoint.config;
  }

  get tokenizer(): BertTokenizer {
    return this.checkpoint.tokenizer;
  }

  get source(): string {
    return this.checkpoint.source;
  }

  /** Which engine, device and precision run this model (the same facts the CLI, the server and the page show). */
  get engineInfo(): EngineInfo {
    return this.engine.info;
  }

  /** Work done per device so far, when the engine spreads over several GPUs. */
  deviceWork(): EngineWork[] | undefined {
    return this.engine.work?.();
  }

  /** Device memory the engine holds (GPU engines), or undefined where memory is the process's (ONNX Runtime). */
  deviceMemory(): EngineMemory | undefined {
    return this.engine.memory?.();
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
  assertSupports(outputs: BertOutputs): void {
    if (this.disposed) throw new UsageError('this model was disposed; load it again.');
    if (outputs.pooler && !this.checkpoint.hasPooler) {
      throw new UsageError(
        `${this.source} has no pooler weights (pooler.dense.*), so pooler output does not exist ` +
          '(IgBert is saved without a pooler). Use pooling "mean" or "cls" instead.',
      );
    }
    if ((outputs.logits || outputs.logProbs) && !this.checkpoint.hasMlmHead) {
      throw new UsageError(
        `${this.source} has no masked-LM head (cls.predictions.*): it is a BertModel checkpoint. ` +
          'Likelihoods, scans and infilling need a BertForMaskedLM checkpoint such as Exscientia/IgBert.',
      );
    }
  }

  /** Builds what `needs` will use now (a graph, a GPU program), so the first request does not pay for it. */
  async prepare(needs: Partial<BatchNeeds>): Promise<void> {
    const full: BatchNeeds = { logProbs: false, logits: false, pooler: false, ...needs };
    this.assertSupports(full);
    await this.engine.prepare(full);
  }

  /**
   * Runs items through the engine in token-budget batches. `onResult` gets each item's result by its index, in batch
   * order (not input order): callers place results by index.
   */
  async forward(
    items: readonly ForwardItem[],
    options: ForwardOptions,
    onResult: (index: number, result: SequenceResult) => void,
    onBatch?: BatchListener,
  ): Promise<void> {
    this.assertSupports({
      logProbs: items.some((item) => (item.request.logProbs?.length ?? 0) > 0),
      logits: items.some((item) => (item.request.logits?.length ?? 0) > 0),
      pooler: items.some((item) => item.request.pooler === true),
    });
    await runForward(this.engine, items, options, onResult, {
      ...(this.options.batching ? { batching: this.options.batching } : {}),
      ...(onBatch ? { onBatch } : {}),
    });
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
    if (this.disposed) return;
    this.disposed = true;
    await this.engine.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
