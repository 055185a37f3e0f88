/**
 * BERT's operations (src/bert/ops.ts) recorded as a program for the CUDA engine: running the model's forward pass
 * over these ops yields the list of kernel launches (NativeProgram) the addon compiles once and replays per batch.
 *
 * Fusion happens here, by keeping some values pending until their consumer is known:
 *   - word + token-type + position lookups, summed, then LayerNorm: one embeddings kernel;
 *   - a Linear plus a residual, then LayerNorm: one GEMM that adds the residual (its C input), then the LayerNorm
 *     kernel on that one tensor (addLayerNorm, which reads two, remains for sums of two finished tensors);
 *   - a Linear followed by GELU or tanh: the activation fused with the GEMM's bias;
 *   - query, key and value of one input: one GEMM over the concatenated weights, read by attention as column views;
 *   - the masked-LM decoder writes float32 logits (bf16 logits would cost ~0.03 nats in log-probabilities).
 * A pending value used any other way is an error: the math never does that, and a silent slow path would hide it.
 */
import type { BertOps, LayerNormParams, LinearParams, OutputName, Param, TokenInput } from '../../bert/ops.js';
import type { NativeOp, NativeProgram, NativeRows, NativeTensor } from './addon.js';

type Tensor = { kind: 'tensor'; id: number; rows: NativeRows; cols: number };
type Lookup = { kind: 'lookup'; table: Param; ids: TokenInput };
type Sum = { kind: 'sum'; terms: CudaValue[] };
type PendingLinear = { kind: 'linear'; input: Tensor; dense: LinearParams; done?: Tensor };
export type CudaValue = Tensor | Lookup | Sum | PendingLinear;

/** Which outputs a program writes: the hidden state's means and rows, the MLM head's outputs, the pooler. */
export interface ProgramOutputs {
  means: boolean;
  rows: boolean;
}

export class ProgramOps implements BertOps<CudaValue> {
  private readonly tensors: NativeTensor[] = [];
  private readonly ops: NativeOp[] = [];
  private readonly outputs: { name: string; tensor: number }[] = [];

  constructor(
    /** The uploaded weight's id for a checkpoint tensor. */
    private readonly weight: (param: Param) => number,
    private readonly hiddenOutputs: ProgramOutputs,
  ) {}

  program(): NativeProgram {
    return { tensors: this.tensors, ops: this.ops, outputs: this.outputs };
  }

  private tensor(rows: NativeRows, cols: number, dtype: 'compute' | 'f32' = 'compute'): Tensor {
    this.tensors.push({ rows, cols, dtype });
    return { kind: 'tensor', id: this.tensors.length - 1, rows, cols };
  }

  /** A value as a tensor in memory: pending Linears run now (no activation); other pending values are errors. */
  private materialize(value: CudaValue, dtype: 'compute' | 'f32' = 'compute'): Tensor {
    if (value.kind === 'tensor') return value;
    if (value.kind === 'linear') return this.runLinear(value, 'none', dtype);
    throw new Error(`the CUDA engine fuses ${value.kind === 'lookup' ? 'embedding lookups' : 'sums'} into the LayerNorm that follows them; this use has no kernel`);
  }

  private runLinear(pending: PendingLinear, activation: 'none' | 'gelu' | 'tanh', dtype: 'compute' | 'f32' = 'compute'): Tensor {
    if (pending.done) {
      if (activation !== 'none') throw new Error(`${pending.dense.prefix}: its output was already used without ${activation}`);
      return pending.done;
    }
    pending.done = this.pushLinear(pending, activation, dtype);
    return pending.done;
  }

  /** linear(x) + residual as one GEMM; the sum is a new tensor (the Linear's own output is never materialized). */
  private linearPlus(pending: PendingLinear, residual: Tensor): Tensor {
    if (residual.rows !== pending.input.rows || residual.cols !== pending.dense.outFeatures) {
      throw new Error(`${pending.dense.prefix}: the residual's shape differs from the Linear's output`);
    }
    return this.pushLinear(pending, 'none', 'compute', residual);
  }

  /** One `linear` op (GEMM, bias, activation, optionally + residual) into a new tensor. */
  private pushLinear(pending: PendingLinear, activation: 'none' | 'gelu' | 'tanh', dtype: 'compute' | 'f32', residual?: Tensor): Tensor {
    const out = this.tensor(pending.input.rows, pending.dense.outFeatures, dtype);
    this.ops.push({
      op: 'linear',
      out: out.id,
      input: pending.input.id,
      weights: [this.weight(pending.dense.weight)],
      biases: [this.weight(pending.dense.bias)],
      activation,
      ...(residual ? { residual: residual.id } : {}),
    });
    return out;
  }

  lookup(table: Param, ids: TokenInput): CudaValue {
    return { kind: 'lookup', table, ids };
  }

  add(a: CudaValue, b: CudaValue): CudaValue {
    const terms = (v: CudaValue): CudaValue[] => (v.kind === 'sum' ? v.terms : [v]);
    return { kind: 'sum', terms: [...terms(a), ...terms(b)] };
  }

  layerNorm(x: CudaValue, norm: LayerNormParams): CudaValue {
    const lnWeight = this.weight(norm.weight);
    const lnBias = this.weight(norm.bias);
    if (x.kind === 'sum' && x.terms.every((t) => t.kind === 'lookup')) {
      const lookups = new Map((x.terms as Lookup[]).map((t) => [t.ids, t.table]));
      const word = lookups.get('input_ids');
      const position = lookups.get('position_ids');
      const tokenType = lookups.get('token_type_ids');
      if (!word || !position || !tokenType || x.terms.length !== 3) throw new Error('the embeddings kernel sums word, position and token-type rows');
      const out = this.tensor('tokens', word.shape[1] as number);
      this.ops.push({
        op: 'embeddings',
        out: out.id,
        word: this.weight(word),
        position: this.weight(position),
        tokenType: this.weight(tokenType),
        lnWeight,
        lnBias,
        eps: norm.eps,
      });
      return out;
    }
    if (x.kind === 'sum') {
      if (x.terms.length !== 2) throw new Error('add+LayerNorm takes two terms');
      // A Linear not yet run plus anything else: the GEMM adds the other term, the LayerNorm reads one tensor.
      const at = x.terms.findIndex((t) => t.kind === 'linear' && !t.done);
      if (at >= 0) {
        const residual = this.materialize(x.terms[1 - at] as CudaValue);
        const sum = this.linearPlus(x.terms[at] as PendingLinear, residual);
        const out = this.tensor(sum.rows, sum.cols);
        this.ops.push({ op: 'layerNorm', out: out.id, input: sum.id, lnWeight, lnBias, eps: norm.eps });
        return out;
      }
      const [input, residual] = x.terms.map((t) => this.materialize(t)) as [Tensor, Tensor];
      const out = this.tensor(input.rows, input.cols);
      this.ops.push({ op: 'addLayerNorm', out: out.id, input: input.id, residual: residual.id, lnWeight, lnBias, eps: norm.eps });
      return out;
    }
    const input = this.materialize(x);
    const out = this.tensor(input.rows, input.cols);
    this.ops.push({ op: 'layerNorm', out: out.id, input: input.id, lnWeight, lnBias, eps: norm.eps });
    return out;
  }

  linear(x: CudaValue, dense: LinearParams): CudaValue {
    return { kind: 'linear', input: this.materialize(x), dense };
  }

  linears(x: CudaValue, denses: readonly LinearParams[]): CudaValue[] {
    const input = this.materialize(x);
    const width = denses.reduce((sum, d) => sum + d.outFeatures, 0);
    const fused = this.tensor(input.rows, width);
    this.ops.push({
      op: 'linear',
      out: fused.id,
      input: input.id,
      weights: denses.map((d) => this.weight(d.weight)),
      biases: denses.map((d) => this.weight(d.bias)),
      activation: 'none',
    });
    let col = 0;
    return denses.map((dense) => {
      this.tensors.push({ viewOf: fused.id, col, cols: dense.outFeatures });
      col += dense.outFeatures;
      return { kind: 'tensor', id: this.tensors.length - 1, rows: input.rows, cols: dense.outFeatures };
    });
  }

  gelu(x: CudaValue): CudaValue {
    if (x.kind !== 'linear') throw new Error('the CUDA engine fuses GELU with the Linear before it');
    return this.runLinear(x, 'gelu');
  }

  tanh(x: CudaValue): CudaValue {
    if (x.kind !== 'linear') throw new Error('the CUDA engine fuses tanh with the Linear before it');
    return this.runLinear(x, 'tanh');
  }

  attention(query: CudaValue, key: CudaValue, value: CudaValue, heads: number): CudaValue {
    const [q, k, v] = [query, key, value].map((t) => this.materialize(t)) as [Tensor, Tensor, Tensor];
    const out = this.tensor(q.rows, q.cols);
    this.ops.push({ op: 'attention', out: out.id, q: q.id, k: k.id, v: v.id, heads });
    return out;
  }

  firstTokens(x: CudaValue): CudaValue {
    const input = this.materialize(x);
    const out = this.tensor('sequences', input.cols);
    this.ops.push({ op: 'firstTokens', out: out.id, input: input.id });
    return out;
  }

  headRows(x: CudaValue): CudaValue {
    const input = this.materialize(x);
    const out = this.tensor('headRows', input.cols);
    this.ops.push({ op: 'gatherRows', out: out.id, input: input.id, rows: 'headRows' });
    return out;
  }

  logSoftmax(x: CudaValue): CudaValue {
    const input = this.materialize(x, 'f32');
    const out = this.tensor(input.rows, input.cols, 'f32');
    this.ops.push({ op: 'logSoftmax', out: out.id, input: input.id });
    return out;
  }

  output(name: OutputName, x: CudaValue): void {
    if (name !== 'hidden_state') {
      const tensor = this.materialize(x, name === 'pooler_output' ? 'compute' : 'f32');
      this.outputs.push({ name, tensor: tensor.id });
      return;
    }
    // Hidden states go back only as what the batch asked: per-group means, and chosen rows.
    const hidden = this.materialize(x);
    if (this.hiddenOutputs.means) {
      const means = this.tensor('groups', hidden.cols, 'f32');
      this.ops.push({ op: 'meanRows', out: means.id, input: hidden.id });
      this.outputs.push({ name: 'means', tensor: means.id });
    }
    if (this.hiddenOutputs.rows) {
      const rows = this.tensor('hiddenRows', hidden.cols);
      this.ops.push({ op: 'gatherRows', out: rows.id, input: hidden.id, rows: 'hiddenRows' });
      this.outputs.push({ name: 'rows', tensor: rows.id });
    }
  }
}
