/**
 * The ONNX Runtime engine, the same on Node (onnxruntime-node: CPU, WebGPU) and in browsers (onnxruntime-web:
 * WebGPU, wasm): BERT's forward pass becomes an ONNX graph (src/runtime/ort/bertGraph.ts), one session per graph.
 *
 * Graphs: every session holds its own prepacked copy of the weights, so all last-layer work shares one "full" graph
 * (last hidden state, MLM logits and log-probabilities, pooler: the extra outputs cost well under 1% of a forward
 * pass); only an earlier hidden layer gets a graph of its own, truncated after that layer.
 *
 * Batches: padded to their longest sequence (attention masks the padding; the fused MultiHeadAttention where the
 * execution provider has it), or packed end to end with a block-diagonal attention bias — both modes run through
 * the same seam and give the same numbers; packed mode computes [tokens x tokens] scores, so it suits small batches.
 */
import type { Bert, BertOutputs } from '../../bert/modeling.js';
import type { BatchLayout } from '../../batches/planBatches.js';
import type { PackedBatch } from '../../batches/packedBatch.js';
import { batchNeeds, type BatchNeeds, type SequenceRequest, type SequenceResult } from '../../batches/requests.js';
import { UsageError } from '../../errors.js';
import { PRODUCER } from '../../version.js';
import type { Engine, EngineInfo, Precision } from '../engine.js';
import { buildBertGraph } from './bertGraph.js';
import type { IntInput, ModelSession, OutputTensor, SessionFactory } from './session.js';
import type { WeightSource } from './weightSource.js';


/** Packed graphs compute [tokens x tokens] attention scores per head: keep their batches small. */
const PACKED_BATCH_TOKENS = 2048;

export interface OrtEngineOptions {
  /** Attention in the graph; default: ONNX Runtime's fused MultiHeadAttention where the device has it (padded only). */
  attention?: 'standard' | 'multihead';
  /** Default "padded". */
  layout?: BatchLayout;
  /** ONNX Runtime intra-op threads (default: all cores). */
  threads?: number;
}

/** The checkpoint as the ONNX engine sees it: the network, and where its (possibly converted) weights are. */
export interface OrtModel {
  bert: Bert;
  /** Human-readable origin, for graph doc strings. */
  source: string;
  weights: WeightSource;
  /** Folder external-data locations are relative to (Node). */
  externalDataFolder?: string;
  precision: Precision;
}

export class OrtEngine implements Engine {
  readonly info: EngineInfo;
  private readonly sessions = new Map<string, Promise<ModelSession>>();
  private readonly attention: 'standard' | 'multihead';
  private readonly layout: BatchLayout;

  constructor(
    private readonly model: OrtModel,
    private readonly factory: SessionFactory,
    private readonly options: OrtEngineOptions = {},
  ) {
    this.layout = options.layout ?? 'padded';
    if (options.attention === 'multihead' && (this.layout === 'packed' || !factory.multiHeadAttention)) {
      throw new UsageError(
        `attention "multihead" needs padded batches on an execution provider with MultiHeadAttention (cpu, wasm); ` +
          `this engine runs ${this.layout} batches on ${factory.device}. Use attention "standard".`,
      );
    }
    this.attention = options.attention ?? (this.layout === 'padded' && factory.multiHeadAttention ? 'multihead' : 'standard');
    this.info = {
      runtime: factory.runtime,
      device: factory.device,
      ...(factory.deviceName ? { deviceName: factory.deviceName } : {}),
      precision: model.precision,
      layout: this.layout,
      batching: this.layout === 'packed' ? { maxBatchTokens: PACKED_BATCH_TOKENS } : {},
      concurrency: 1,
    };
  }

  /** The graph that serves `needs`: the full last-layer graph, or one truncated after an earlier layer. */
  private graphOutputs(needs: BatchNeeds): BertOutputs {
    const { config, cls, pooler } = this.model.bert;
    const last = config.num_hidden_layers;
    const layer = needs.hiddenStateLayer;
    if (layer !== undefined && layer !== last) {
      return { hiddenStateLayer: layer, ...(needs.logits ? { logits: true } : {}), ...(needs.logProbs ? { logProbs: true } : {}), ...(needs.pooler ? { pooler: true } : {}) };
    }
    return { hiddenStateLayer: last, logits: cls !== undefined, logProbs: cls !== undefined, pooler: pooler !== undefined };
  }

  private session(needs: BatchNeeds): Promise<ModelSession> {
    const outputs = this.graphOutputs(needs);
    const key = JSON.stringify(outputs);
    let session = this.sessions.get(key);
    if (!session) {
      const graph = buildBertGraph(this.model.bert, this.model.weights, outputs, { attention: this.attention, layout: this.layout });
      session = this.factory.create(graph.encode(PRODUCER, `IgBert graph for ${this.model.source}`), {
        ...(this.model.externalDataFolder ? { externalDataFolder: this.model.externalDataFolder } : {}),
        ...(this.options.threads ? { threads: this.options.threads } : {}),
      });
      this.sessions.set(key, session);
      session.catch(() => this.sessions.delete(key));
    }
    return session;
  }

  async prepare(needs: BatchNeeds): Promise<void> {
    await this.session(needs);
  }

  async run(batch: PackedBatch): Promise<SequenceResult[]> {
    const needs = batchNeeds(batch.requests, batch.options);
    const session = await this.session(needs);
    const { config } = this.model.bert;
    if (this.layout === 'packed') {
      const tensors = await session.run(packedInputs(batch));
      return batch.requests.map((request, s) => collect(request, tensors, batch.offsets[s] as number, s, config.hidden_size, config.vocab_size));
    }
    const padded = padBatch(batch, config.pad_token_id);
    const tensors = await session.run(padded.inputs);
    return batch.requests.map((request, s) => collect(request, tensors, s * padded.sequenceLength, s, config.hidden_size, config.vocab_size));
  }

  async dispose(): Promise<void> {
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
}

/** Right-padded [batch, longest] inputs with an attention mask (padding is this engine's business, not the tokenizer's). */
export function padBatch(batch: PackedBatch, padId: number): { inputs: Record<string, IntInput>; sequenceLength: number } {
  const batchSize = batch.lengths.length;
  const sequenceLength = batch.lengths.reduce((longest, length) => Math.max(longest, length), 0);
  const inputIds = new Int32Array(batchSize * sequenceLength).fill(padId);
  const attentionMask = new Int32Array(batchSize * sequenceLength);
  const tokenTypeIds = new Int32Array(batchSize * sequenceLength);
  for (let s = 0; s < batchSize; s++) {
    const from = batch.offsets[s] as number;
    const to = batch.offsets[s + 1] as number;
    const row = s * sequenceLength;
    inputIds.set(batch.inputIds.subarray(from, to), row);
    tokenTypeIds.set(batch.tokenTypeIds.subarray(from, to), row);
    attentionMask.fill(1, row, row + (to - from));
  }
  const dims = [batchSize, sequenceLength];
  return {
    inputs: {
      input_ids: { data: inputIds, dims },
      attention_mask: { data: attentionMask, dims },
      token_type_ids: { data: tokenTypeIds, dims },
    },
    sequenceLength,
  };
}

/** Packed [tokens] inputs: ids, token types, positions restarting at 0 per sequence, and each token's sequence. */
function packedInputs(batch: PackedBatch): Record<string, IntInput> {
  const total = batch.inputIds.length;
  const positions = new Int32Array(total);
  const sequences = new Int32Array(total);
  for (let s = 0; s < batch.lengths.length; s++) {
    const from = batch.offsets[s] as number;
    for (let t = from; t < (batch.offsets[s + 1] as number); t++) {
      positions[t] = t - from;
      sequences[t] = s;
    }
  }
  const dims = [total];
  return {
    input_ids: { data: batch.inputIds, dims },
    token_type_ids: { data: batch.tokenTypeIds, dims },
    position_ids: { data: positions, dims },
    sequence_ids: { data: sequences, dims },
  };
}

/** One sequence's results from per-token outputs whose rows for this sequence start at `firstRow`. */
function collect(
  request: SequenceRequest,
  tensors: Record<string, OutputTensor>,
  firstRow: number,
  sequence: number,
  hiddenSize: number,
  vocabSize: number,
): SequenceResult {
  const output = (name: string): Float32Array => {
    const tensor = tensors[name];
    if (!tensor) throw new Error(`the graph did not return ${name}`);
    return tensor.data;
  };
  const gather = (data: Float32Array, rows: readonly number[], width: number): Float32Array => {
    const out = new Float32Array(rows.length * width);
    rows.forEach((row, i) => out.set(data.subarray((firstRow + row) * width, (firstRow + row + 1) * width), i * width));
    return out;
  };
  const result: SequenceResult = { means: [] };
  if (request.means?.length || request.rows?.length) {
    const hidden = output('hidden_state');
    result.means = (request.means ?? []).map((rows) => meanOfRows(hidden, firstRow * hiddenSize, hiddenSize, rows));
    if (request.rows) result.rows = gather(hidden, request.rows, hiddenSize);
  }
  if (request.logProbs?.length) result.logProbs = gather(output('log_probs'), request.logProbs, vocabSize);
  if (request.logits?.length) result.logits = gather(output('logits'), request.logits, vocabSize);
  if (request.pooler) result.pooler = output('pooler_output').slice(sequence * hiddenSize, (sequence + 1) * hiddenSize);
  return result;
}

/** Mean of the given rows of a row-major [rows, width] block starting at `offset` in `hidden`. */
export function meanOfRows(hidden: Float32Array, offset: number, width: number, rows: readonly number[]): Float32Array {
  // Accumulate in float64 so the mean does not depend on summation order beyond float32 rounding of the result.
  const sum = new Float64Array(width);
  for (const row of rows) {
    const base = offset + row * width;
    for (let j = 0; j < width; j++) sum[j] = (sum[j] as number) + (hidden[base + j] as number);
  }
  const out = new Float32Array(width);
  for (let j = 0; j < width; j++) out[j] = (sum[j] as number) / rows.length;
  return out;
}
