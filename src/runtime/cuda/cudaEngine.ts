/**
 * The native CUDA engine: BERT's forward pass recorded once per output selection as a program of kernel launches
 * (src/runtime/cuda/programOps.ts), compiled by the addon, and replayed on packed batches — no padding, the weights
 * uploaded once and shared by every program. Only what the batch asked for comes back to the host: the mean of each
 * requested group of rows, the requested rows, the masked-LM head evaluated at the requested positions only.
 */
import type { Bert } from '../../bert/modeling.js';
import type { Param } from '../../bert/ops.js';
import type { PackedBatch } from '../../batches/packedBatch.js';
import { batchNeeds, type BatchNeeds, type SequenceResult } from '../../batches/requests.js';
import { RuntimeFailure } from '../../errors.js';
import { OUT_OF_MEMORY, type Engine, type EngineInfo, type EngineMemory } from '../engine.js';
import type { CudaContext, NativeBatch } from './addon.js';
import { ProgramOps } from './programOps.js';

/** A checkpoint tensor's values, as stored (float32, or raw fp16/bf16 bits). */
export interface TensorData {
  data: Float32Array | Uint16Array;
  type: 'f32' | 'f16' | 'bf16';
}

/** Tokens per batch by default: large GEMMs (about 1 GB of activations at IgBert's size in bf16). */
export const CUDA_BATCH_TOKENS = 65536;

interface ProgramKey {
  layer: number | undefined;
  means: boolean;
  rows: boolean;
  logProbs: boolean;
  logits: boolean;
  pooler: boolean;
}

export class CudaEngine implements Engine {
  private readonly programs = new Map<string, number>();
  private readonly weightIds = new Map<string, number>();
  private disposed = false;

  private constructor(
    private readonly bert: Bert,
    private readonly context: CudaContext,
    readonly info: EngineInfo,
  ) {}

  /** Uploads every parameter of `bert` (converted to the context's precision on the GPU) and returns the engine. */
  static async create(
    bert: Bert,
    context: CudaContext,
    info: Omit<EngineInfo, 'layout' | 'batching' | 'concurrency'>,
    read: (param: Param) => Promise<TensorData>,
  ): Promise<CudaEngine> {
    return (await CudaEngine.createMany(bert, [{ context, info }], read))[0] as CudaEngine;
  }

  /** One engine per context (one per GPU), each checkpoint tensor read once and uploaded to every GPU. */
  static async createMany(
    bert: Bert,
    targets: readonly { context: CudaContext; info: Omit<EngineInfo, 'layout' | 'batching' | 'concurrency'> }[],
    read: (param: Param) => Promise<TensorData>,
  ): Promise<CudaEngine[]> {
    const engines = targets.map(
      ({ context, info }) =>
        new CudaEngine(bert, context, {
          ...info,
          layout: 'packed',
          // Length-sorting over a wide window: batches of even length, and few partial batches at the end.
          batching: { maxBatchTokens: CUDA_BATCH_TOKENS, maxBatchSize: 8192, sortWindow: 8192 },
          concurrency: 2,
        }),
    );
    try {
      for (const param of bert.params()) {
        const { data, type } = await read(param);
        const [rows, cols] = param.shape.length === 2 ? (param.shape as [number, number]) : [1, param.shape[0] as number];
        const kind = param.shape.length === 2 ? 'matrix' : 'vector';
        for (const engine of engines) engine.weightIds.set(param.name, engine.context.uploadWeight(data, type, rows, cols, kind));
      }
    } catch (error) {
      for (const { context } of targets) context.dispose();
      throw error;
    }
    return engines;
  }

  private weight = (param: Param): number => {
    const id = this.weightIds.get(param.name);
    if (id === undefined) throw new Error(`weight ${param.name} was not uploaded`);
    return id;
  };

  private program(key: ProgramKey): number {
    const text = JSON.stringify(key);
    let id = this.programs.get(text);
    if (id === undefined) {
      const ops = new ProgramOps(this.weight, { means: key.means, rows: key.rows });
      this.bert.forward(ops, {
        ...(key.layer !== undefined ? { hiddenStateLayer: key.layer } : {}),
        logits: key.logits,
        logProbs: key.logProbs,
        pooler: key.pooler,
      });
      id = this.context.compile(ops.program());
      this.programs.set(text, id);
    }
    return id;
  }

  async prepare(needs: BatchNeeds): Promise<void> {
    const hidden = needs.hiddenStateLayer !== undefined;
    this.program({ layer: needs.hiddenStateLayer, means: hidden, rows: false, logProbs: needs.logProbs, logits: needs.logits, pooler: needs.pooler });
  }

  async run(batch: PackedBatch): Promise<SequenceResult[]> {
    if (this.disposed) throw new RuntimeFailure('this CUDA engine was disposed');
    const needs = batchNeeds(batch.requests, batch.options);
    const layout = nativeLayout(batch);
    const key: ProgramKey = {
      layer: needs.hiddenStateLayer,
      means: layout.groupRows.length > 0,
      rows: layout.hiddenRows.length > 0,
      logProbs: needs.logProbs,
      logits: needs.logits,
      pooler: needs.pooler,
    };
    const native: NativeBatch = {
      inputIds: batch.inputIds,
      tokenTypeIds: batch.tokenTypeIds,
      seqLengths: batch.lengths,
      ...(layout.headRows.length > 0 ? { headRows: layout.headRows } : {}),
      ...(key.rows ? { hiddenRows: layout.hiddenRows } : {}),
      ...(key.means ? { groupOffsets: layout.groupOffsets, groupRows: layout.groupRows } : {}),
    };
    let outputs: Record<string, Float32Array>;
    try {
      outputs = await this.context.run(this.program(key), native);
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new RuntimeFailure(`the CUDA engine failed on a batch of ${batch.lengths.length} sequences, ${batch.inputIds.length} tokens: ${(error as Error).message}`, {
        cause: error,
        ...(code === 'CUDA_OOM' ? { details: { reason: OUT_OF_MEMORY } } : {}),
      });
    }
    return splitResults(batch, layout, outputs, this.bert.config.hidden_size, this.bert.config.vocab_size);
  }

  memory(): EngineMemory {
    const m = this.context.memory();
    return {
      weightBytes: m.weightBytes,
      activationBytes: m.poolBytes,
      peakActivationBytes: m.peakPoolBytes,
      deviceFreeBytes: m.deviceFreeBytes,
      deviceTotalBytes: m.deviceTotalBytes,
    };
  }

  /** GPU time per kind of op in the last batch, in ms (contexts created with profiling only). */
  profile(): Record<string, number> {
    return this.context.lastProfile();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.context.dispose();
  }
}

/** Where each sequence's requested rows land in the packed native inputs and outputs. */
interface NativeLayout {
  /** Packed token indices for the MLM head, per sequence the union of its logProbs and logits rows. */
  headRows: Int32Array;
  /** Per sequence: token index (within the sequence) -> row in the head output. */
  headIndex: Map<number, number>[];
  hiddenRows: Int32Array;
  /** Per sequence: first row in the `rows` output. */
  hiddenStart: number[];
  groupOffsets: Int32Array;
  groupRows: Int32Array;
  /** Per sequence: first group in the `means` output. */
  groupStart: number[];
}

function nativeLayout(batch: PackedBatch): NativeLayout {
  // Sized first, then filled: a batch holds ~10^5 row indices, so no intermediate arrays.
  let hiddenCount = 0;
  let groupCount = 0;
  let groupRowCount = 0;
  for (const request of batch.requests) {
    hiddenCount += request.rows?.length ?? 0;
    for (const group of request.means ?? []) {
      groupCount++;
      groupRowCount += group.length;
    }
  }
  const headRows: number[] = [];
  const headIndex: Map<number, number>[] = [];
  const hiddenRows = new Int32Array(hiddenCount);
  const hiddenStart: number[] = [];
  const groupOffsets = new Int32Array(groupCount + 1);
  const groupRows = new Int32Array(groupRowCount);
  const groupStart: number[] = [];
  let hidden = 0;
  let group = 0;
  let groupRow = 0;
  batch.requests.forEach((request, s) => {
    const offset = batch.offsets[s] as number;
    const index = new Map<number, number>();
    for (const tokens of [request.logProbs, request.logits]) {
      for (const token of tokens ?? []) {
        if (!index.has(token)) {
          index.set(token, headRows.length);
          headRows.push(offset + token);
        }
      }
    }
    headIndex.push(index);
    hiddenStart.push(hidden);
    for (const token of request.rows ?? []) hiddenRows[hidden++] = offset + token;
    groupStart.push(group);
    for (const rows of request.means ?? []) {
      for (const token of rows) groupRows[groupRow++] = offset + token;
      groupOffsets[++group] = groupRow;
    }
  });
  return { headRows: Int32Array.from(headRows), headIndex, hiddenRows, hiddenStart, groupOffsets, groupRows, groupStart };
}

function splitResults(
  batch: PackedBatch,
  layout: NativeLayout,
  outputs: Record<string, Float32Array>,
  hiddenSize: number,
  vocabSize: number,
): SequenceResult[] {
  const headRows = (name: string, tokens: readonly number[], s: number): Float32Array => {
    const data = outputs[name] as Float32Array;
    const out = new Float32Array(tokens.length * vocabSize);
    tokens.forEach((token, i) => {
      const row = layout.headIndex[s]?.get(token) as number;
      out.set(data.subarray(row * vocabSize, (row + 1) * vocabSize), i * vocabSize);
    });
    return out;
  };
  return batch.requests.map((request, s) => {
    const result: SequenceResult = { means: [] };
    const groups = request.means?.length ?? 0;
    if (groups > 0) {
      const means = outputs['means'] as Float32Array;
      const first = layout.groupStart[s] as number;
      result.means = Array.from({ length: groups }, (_, g) => means.slice((first + g) * hiddenSize, (first + g + 1) * hiddenSize));
    }
    if (request.rows?.length) {
      const start = layout.hiddenStart[s] as number;
      result.rows = (outputs['rows'] as Float32Array).slice(start * hiddenSize, (start + request.rows.length) * hiddenSize);
    }
    if (request.logProbs?.length) result.logProbs = headRows('log_probs', request.logProbs, s);
    if (request.logits?.length) result.logits = headRows('logits', request.logits, s);
    if (request.pooler) result.pooler = (outputs['pooler_output'] as Float32Array).slice(s * hiddenSize, (s + 1) * hiddenSize);
    return result;
  });
}
