/**
 * A float64 CPU interpreter of the CUDA engine's program format (src/runtime/cuda/addon.ts), for tests on machines
 * without a GPU. It is not a GPU and fakes none: it executes the documented semantics of each op in plain
 * TypeScript, so the TypeScript half of the CUDA engine — recording BERT's math as a program, laying out packed
 * batches, splitting results — can be checked against Hugging Face's reference outputs here. The addon's kernels are
 * checked against the same semantics on the GPU machine (native/cuda/test/).
 */
import { bertFromStore } from '../../src/bert/fromStore.js';
import { IgBertModel, openCheckpoint } from '../../src/index.js';
import { storedTensor } from '../../src/node/engines.js';
import type { CudaContext, NativeBatch, NativeOp, NativeProgram, NativeRows } from '../../src/runtime/cuda/addon.js';
import { CudaEngine } from '../../src/runtime/cuda/cudaEngine.js';

interface Weight {
  data: Float64Array;
  rows: number;
  cols: number;
}

interface Matrix {
  data: Float64Array;
  rows: number;
  cols: number;
  /** Row stride and first column, for column views of a wider tensor. */
  stride: number;
  col: number;
}

const at = (m: Matrix, r: number, c: number): number => m.data[r * m.stride + m.col + c] as number;

function halfToFloat(bits: number, bf16: boolean): number {
  if (bf16) return new Float32Array(new Uint32Array([bits << 16]).buffer)[0] as number;
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** erf to ~1e-12 (series near 0, continued fraction for the tails): enough for float32 GELU. */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = x;
    let term = x;
    for (let n = 1; n < 80; n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
      if (Math.abs(term / (2 * n + 1)) < 1e-17) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x²)/(x√π) · 1/(1 + 1/(2x²)/(1 + 2/(2x²)/(1 + ...))) by Lentz's continued fraction.
  let f = ax;
  for (let n = 60; n >= 1; n--) f = ax + n / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

export class ProgramInterpreter implements CudaContext {
  private readonly weights: Weight[] = [];
  private readonly programs: NativeProgram[] = [];
  runs = 0;

  uploadWeight(data: Float32Array | Uint16Array, sourceType: 'f32' | 'f16' | 'bf16', rows: number, cols: number): number {
    const values = new Float64Array(rows * cols);
    for (let i = 0; i < values.length; i++) {
      values[i] = sourceType === 'f32' ? (data[i] as number) : halfToFloat(data[i] as number, sourceType === 'bf16');
    }
    this.weights.push({ data: values, rows, cols });
    return this.weights.length - 1;
  }

  compile(program: NativeProgram): number {
    this.programs.push(program);
    return this.programs.length - 1;
  }

  async run(programId: number, batch: NativeBatch): Promise<Record<string, Float32Array>> {
    this.runs++;
    const program = this.programs[programId] as NativeProgram;
    const lengths = [...batch.seqLengths];
    const offsets = [0];
    for (const length of lengths) offsets.push((offsets.at(-1) as number) + length);
    const T = offsets.at(-1) as number;
    const rowCount: Record<NativeRows, number> = {
      tokens: T,
      sequences: lengths.length,
      headRows: batch.headRows?.length ?? 0,
      hiddenRows: batch.hiddenRows?.length ?? 0,
      groups: Math.max(0, (batch.groupOffsets?.length ?? 1) - 1),
    };
    const tensors: Matrix[] = [];
    const tensor = (id: number): Matrix => {
      const found = tensors[id];
      if (!found) throw new Error(`tensor ${id} read before it was written`);
      return found;
    };
    const alloc = (id: number): Matrix => {
      const spec = program.tensors[id];
      if (!spec || 'viewOf' in spec) throw new Error(`tensor ${id} is not a plain tensor`);
      const rows = rowCount[spec.rows];
      const m = { data: new Float64Array(rows * spec.cols), rows, cols: spec.cols, stride: spec.cols, col: 0 };
      tensors[id] = m;
      program.tensors.forEach((view, v) => {
        if ('viewOf' in view && view.viewOf === id) tensors[v] = { data: m.data, rows, cols: view.cols, stride: spec.cols, col: view.col };
      });
      return m;
    };
    const weight = (id: number): Weight => this.weights[id] as Weight;
    const layerNorm = (out: Matrix, r: number, values: Float64Array, lnWeight: number, lnBias: number, eps: number): void => {
      const n = values.length;
      const mean = values.reduce((a, b) => a + b, 0) / n;
      const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
      const scale = 1 / Math.sqrt(variance + eps);
      for (let c = 0; c < n; c++) {
        out.data[r * out.stride + c] = ((values[c] as number) - mean) * scale * (weight(lnWeight).data[c] as number) + (weight(lnBias).data[c] as number);
      }
    };
    const gathered = (input: Matrix, rows: Int32Array | undefined, out: Matrix): void => {
      (rows ?? []).forEach((row, i) => {
        for (let c = 0; c < input.cols; c++) out.data[i * out.stride + c] = at(input, row, c);
      });
    };

    for (const op of program.ops as NativeOp[]) {
      switch (op.op) {
        case 'embeddings': {
          const out = alloc(op.out);
          const word = weight(op.word);
          const position = weight(op.position);
          const tokenType = weight(op.tokenType);
          for (let s = 0; s < lengths.length; s++) {
            for (let t = offsets[s] as number; t < (offsets[s + 1] as number); t++) {
              const values = new Float64Array(out.cols);
              for (let c = 0; c < out.cols; c++) {
                values[c] =
                  (word.data[(batch.inputIds[t] as number) * word.cols + c] as number) +
                  (tokenType.data[(batch.tokenTypeIds[t] as number) * tokenType.cols + c] as number) +
                  (position.data[(t - (offsets[s] as number)) * position.cols + c] as number);
              }
              layerNorm(out, t, values, op.lnWeight, op.lnBias, op.eps);
            }
          }
          break;
        }
        case 'linear': {
          const input = tensor(op.input);
          const residual = op.residual !== undefined ? tensor(op.residual) : undefined;
          if (residual && op.activation !== 'none') throw new Error('a linear op with a residual must have activation none');
          if (op.residual === op.out) throw new Error('a linear op\'s residual must not be its out');
          const out = alloc(op.out);
          let col = 0;
          op.weights.forEach((w, k) => {
            const W = weight(w);
            const bias = op.biases[k] !== undefined && op.biases[k] >= 0 ? weight(op.biases[k] as number) : undefined;
            for (let r = 0; r < input.rows; r++) {
              for (let o = 0; o < W.rows; o++) {
                let sum = bias ? (bias.data[o] as number) : 0;
                for (let i = 0; i < W.cols; i++) sum += at(input, r, i) * (W.data[o * W.cols + i] as number);
                if (op.activation === 'gelu') sum = 0.5 * sum * (1 + erf(sum / Math.SQRT2));
                else if (op.activation === 'tanh') sum = Math.tanh(sum);
                if (residual) sum += at(residual, r, col + o);
                out.data[r * out.stride + col + o] = sum;
              }
            }
            col += W.rows;
          });
          break;
        }
        case 'addLayerNorm':
        case 'layerNorm': {
          const input = tensor(op.input);
          const residual = op.op === 'addLayerNorm' ? tensor(op.residual) : undefined;
          const out = alloc(op.out);
          for (let r = 0; r < input.rows; r++) {
            const values = Float64Array.from({ length: input.cols }, (_, c) => at(input, r, c) + (residual ? at(residual, r, c) : 0));
            layerNorm(out, r, values, op.lnWeight, op.lnBias, op.eps);
          }
          break;
        }
        case 'attention': {
          const [q, k, v] = [tensor(op.q), tensor(op.k), tensor(op.v)];
          const out = alloc(op.out);
          const d = q.cols / op.heads;
          for (let s = 0; s < lengths.length; s++) {
            const from = offsets[s] as number;
            const to = offsets[s + 1] as number;
            for (let h = 0; h < op.heads; h++) {
              for (let i = from; i < to; i++) {
                const scores: number[] = [];
                for (let j = from; j < to; j++) {
                  let dot = 0;
                  for (let c = 0; c < d; c++) dot += at(q, i, h * d + c) * at(k, j, h * d + c);
                  scores.push(dot / Math.sqrt(d));
                }
                const max = Math.max(...scores);
                const weights = scores.map((x) => Math.exp(x - max));
                const total = weights.reduce((a, b) => a + b, 0);
                for (let c = 0; c < d; c++) {
                  let sum = 0;
                  for (let j = from; j < to; j++) sum += ((weights[j - from] as number) / total) * at(v, j, h * d + c);
                  out.data[i * out.stride + h * d + c] = sum;
                }
              }
            }
          }
          break;
        }
        case 'firstTokens': {
          const input = tensor(op.input);
          gathered(input, Int32Array.from(offsets.slice(0, -1)), alloc(op.out));
          break;
        }
        case 'gatherRows': {
          gathered(tensor(op.input), op.rows === 'headRows' ? batch.headRows : batch.hiddenRows, alloc(op.out));
          break;
        }
        case 'meanRows': {
          const input = tensor(op.input);
          const out = alloc(op.out);
          const groupOffsets = batch.groupOffsets ?? new Int32Array([0]);
          for (let g = 0; g + 1 < groupOffsets.length; g++) {
            const rows = (batch.groupRows ?? new Int32Array()).subarray(groupOffsets[g] as number, groupOffsets[g + 1] as number);
            for (let c = 0; c < input.cols; c++) {
              let sum = 0;
              for (const row of rows) sum += at(input, row, c);
              out.data[g * out.stride + c] = sum / rows.length;
            }
          }
          break;
        }
        case 'logSoftmax': {
          const input = tensor(op.input);
          const out = alloc(op.out);
          for (let r = 0; r < input.rows; r++) {
            const row = Array.from({ length: input.cols }, (_, c) => at(input, r, c));
            const max = Math.max(...row);
            const logTotal = Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0)) + max;
            row.forEach((x, c) => (out.data[r * out.stride + c] = x - logTotal));
          }
          break;
        }
      }
    }
    return Object.fromEntries(program.outputs.map(({ name, tensor: id }) => [name, Float32Array.from(tensor(id).data)]));
  }

  memory(): ReturnType<CudaContext['memory']> {
    return { weightBytes: 0, poolBytes: 0, peakPoolBytes: 0, deviceFreeBytes: 0, deviceTotalBytes: 0 };
  }

  lastProfile(): Record<string, number> {
    return {};
  }

  dispose(): void {}
}

/** A model whose engine is the CUDA engine's TypeScript half over this interpreter (fp32). */
export async function loadWithProgramInterpreter(dir: string, maxBatchTokens = 256): Promise<IgBertModel> {
  const opened = await openCheckpoint(dir);
  const bert = bertFromStore(opened.checkpoint.config, opened.store);
  const info = { runtime: 'program interpreter (test)', device: 'cuda', precision: 'fp32' } as const;
  const engine = await CudaEngine.create(bert, new ProgramInterpreter(), info, (param) => storedTensor(opened, param));
  return new IgBertModel(opened.checkpoint, engine, { batching: { maxBatchTokens } });
}
