/**
 * The converted-weights layout of the ONNX engine, shared by Node (src/runtime/ort/nodeWeights.ts: a file on disk)
 * and the browser (src/web/: one ArrayBuffer in the Cache API): which tensors a full graph needs, converted to fp32, fp16 or int8,
 * placed 64-byte aligned in one blob, with a Meta (name → element type, offset, length). Planning is pure (sizes
 * follow from shapes), so a writer can allocate or seek before converting; each step converts one tensor.
 * Isomorphic: no Node imports.
 */
import { bertFromStore } from '../../bert/fromStore.js';
import type { BertConfig } from '../../config.js';
import { FileError } from '../../errors.js';
import type { TensorInfo } from '../../weights/safetensors.js';
import type { WeightStore } from '../../weights/weightStore.js';
import { TensorType, type TensorTypeCode } from './onnxBuilder.js';
import { float32ArrayToFloat16, quantizationResidual, quantizeLinearWeight, type QuantizedLinear } from './quantize.js';
import type { BoundTensor, QuantizedLinearTensors, WeightSource } from './weightSource.js';

export const WEIGHT_DTYPES = ['fp32', 'fp16', 'int8'] as const;
export type WeightDType = (typeof WEIGHT_DTYPES)[number];

/** File names of `igbert convert` output per dtype (those transformers.js looks for), under onnx/. */
export const ONNX_FILE_NAMES: Readonly<Record<WeightDType, string>> = {
  fp32: 'model.onnx',
  fp16: 'model_fp16.onnx',
  int8: 'model_quantized.onnx',
};

/** Bump when the converted layout or numerics change, so stale cache entries (disk or browser) are not reused. */
export const CONVERSION_VERSION = 3;

/**
 * int8 Linears that get a second, residual int8 term (W ≈ s1·Q1 + s2·Q2: ~15 bits of weight precision for twice
 * the int8 GEMM work): each layer's attention value and output projections. Measured on an IgBert-size model and
 * Thera-SAbDab pairs (BENCHMARKS.md), their weight rounding caused about half the int8 error in likelihoods, while
 * they are 2/12 of the encoder's Linear FLOPs.
 */
const RESIDUAL_INT8 = /(^|\.)attention\.(self\.value|output\.dense)$/;
export const hasResidualInt8 = (prefix: string): boolean => RESIDUAL_INT8.test(prefix);
const ALIGNMENT = 64;

export interface MetaEntry {
  elemType: number;
  offset: number;
  length: number;
}
export interface Meta {
  version: number;
  dtype: WeightDType;
  tensors: Record<string, MetaEntry>;
}

/** One checkpoint tensor to convert; its output entries are already placed in the plan's Meta. */
export type ConversionStep =
  | { kind: 'float'; info: TensorInfo }
  | { kind: 'int8'; infos: TensorInfo[]; residual: boolean[]; name: string; inFeatures: number; outFeatures: number };

export interface ConversionPlan {
  meta: Meta;
  /** Size of the blob holding every entry. */
  totalBytes: number;
  steps: ConversionStep[];
}

type Request = { kind: 'float'; path: string; shape: number[] } | { kind: 'int8'; prefixes: string[]; inFeatures: number; outFeatures: number };

/**
 * Linears quantised together (query, key, value) are stored as one [in, blocks*out] tensor named after its column
 * blocks ("<weight>" or "<weight>.residual" for a residual term), joined by "+".
 */
function fusedLayout(
  store: WeightStore,
  prefixes: readonly string[],
  inFeatures: number,
  outFeatures: number,
): { infos: TensorInfo[]; residual: boolean[]; name: string } {
  const infos = prefixes.map((prefix) => store.get(`${prefix}.weight`, [outFeatures, inFeatures]));
  const residual = prefixes.map(hasResidualInt8);
  const blocks = infos.flatMap((info, i) => (residual[i] ? [info.name, `${info.name}.residual`] : [info.name]));
  return { infos, residual, name: blocks.join('+') };
}

/**
 * The tensors a full graph (every layer, MLM head and pooler when present) reads, in forward order: every parameter
 * of the description, except that for int8 the encoder Linears' weights are read as the groups they are applied in
 * (one quantised tensor per group) — their biases stay float.
 */
function plannedRequests(config: BertConfig, store: WeightStore, dtype: WeightDType): Request[] {
  const bert = bertFromStore(config, store);
  const groups = dtype === 'int8' ? bert.encoderLinearGroups() : [];
  const quantizedWeights = new Map(groups.flatMap((group) => group.map((dense) => [dense.weight.name, group] as const)));
  const requests: Request[] = [];
  for (const param of bert.params()) {
    const group = quantizedWeights.get(param.name);
    if (!group) requests.push({ kind: 'float', path: param.name, shape: [...param.shape] });
    else if (group[0]?.weight.name === param.name) {
      const { inFeatures, outFeatures } = group[0];
      requests.push({ kind: 'int8', prefixes: group.map((dense) => dense.prefix), inFeatures, outFeatures });
    }
  }
  return requests;
}

/** Places every tensor a full graph needs, converted to `dtype`, in graph order (tied weights once). */
export function planConversion(config: BertConfig, store: WeightStore, dtype: WeightDType): ConversionPlan {
  const tensors: Record<string, MetaEntry> = {};
  const steps: ConversionStep[] = [];
  let end = 0;
  const place = (name: string, elemType: number, length: number): void => {
    const offset = Math.ceil(end / ALIGNMENT) * ALIGNMENT;
    tensors[name] = { elemType, offset, length };
    end = offset + length;
  };
  for (const request of plannedRequests(config, store, dtype)) {
    if (request.kind === 'float') {
      const info = store.get(request.path, request.shape);
      if (tensors[info.name]) continue;
      const elements = request.shape.reduce((a, b) => a * b, 1);
      if (dtype === 'fp16') place(info.name, TensorType.FLOAT16, elements * 2);
      else place(info.name, TensorType.FLOAT, elements * 4);
      steps.push({ kind: 'float', info });
    } else {
      const { inFeatures, outFeatures } = request;
      const { infos, residual, name } = fusedLayout(store, request.prefixes, inFeatures, outFeatures);
      if (tensors[`${name}.int8`]) continue;
      const blocks = infos.length + residual.filter(Boolean).length;
      place(`${name}.int8`, TensorType.INT8, inFeatures * outFeatures * blocks);
      place(`${name}.scale`, TensorType.FLOAT, outFeatures * blocks * 4);
      steps.push({ kind: 'int8', infos, residual, name, inFeatures, outFeatures });
    }
  }
  return { meta: { version: CONVERSION_VERSION, dtype, tensors }, totalBytes: end, steps };
}

/**
 * Converts one step into its output entries (name and bytes, placed by the plan's Meta). `read` gives a checkpoint
 * tensor as float32. Per-output-channel quantisation of Linears side by side equals quantising each one and
 * interleaving their columns: row i of the [in, blocks*out] result is row i of each [in, out] block, in order.
 */
export async function convertStep(
  step: ConversionStep,
  read: (info: TensorInfo) => Promise<Float32Array> | Float32Array,
  dtype: WeightDType,
): Promise<{ name: string; bytes: Uint8Array }[]> {
  const asBytes = (a: Float32Array | Uint16Array | Int8Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (step.kind === 'float') {
    const values = await read(step.info);
    return [{ name: step.info.name, bytes: asBytes(dtype === 'fp16' ? float32ArrayToFloat16(values) : values) }];
  }
  const { inFeatures: K, outFeatures: N, infos, residual } = step;
  const blocks: QuantizedLinear[] = [];
  for (const [part, info] of infos.entries()) {
    const values = await read(info);
    const q = quantizeLinearWeight(values, N, K);
    blocks.push(q);
    if (residual[part]) blocks.push(quantizeLinearWeight(quantizationResidual(values, q, N, K), N, K));
  }
  const width = N * blocks.length;
  const weight = new Int8Array(K * width);
  const scale = new Float32Array(width);
  for (const [block, q] of blocks.entries()) {
    scale.set(q.scale, block * N);
    for (let i = 0; i < K; i++) weight.set(q.weight.subarray(i * N, (i + 1) * N), i * width + block * N);
  }
  return [
    { name: `${step.name}.int8`, bytes: asBytes(weight) },
    { name: `${step.name}.scale`, bytes: asBytes(scale) },
  ];
}

/** A WeightSource over a blob laid out by planConversion, stored as external data named `fileName`. */
export function weightSourceFromMeta(meta: Meta, store: WeightStore, fileName: string, where: string): WeightSource {
  const entry = (name: string): BoundTensor => {
    const found = meta.tensors[name];
    if (!found) throw new FileError(`converted weights in ${where} lack ${name}; delete them to rebuild.`);
    return { name, elemType: found.elemType as TensorTypeCode, external: { location: fileName, offset: found.offset, length: found.length } };
  };
  return {
    resolve: (path, shape) => entry(store.get(path, [...shape]).name),
    ...(meta.dtype === 'int8'
      ? {
          // Only the encoder's Linears are quantised (plannedRequests); the pooler and the MLM head stay float.
          resolveQuantized: (prefixes: string[], inFeatures: number, outFeatures: number): QuantizedLinearTensors | undefined => {
            if (!prefixes.every((prefix) => prefix.startsWith('encoder.'))) return undefined;
            const { name, residual } = fusedLayout(store, prefixes, inFeatures, outFeatures);
            return { weight: entry(`${name}.int8`), scale: entry(`${name}.scale`), residual };
          },
        }
      : {}),
  };
}
