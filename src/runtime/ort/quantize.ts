/**
 * Weight conversions for smaller models: float32 → float16 (round to nearest even, as numpy/torch .half()), and
 * symmetric per-output-channel int8 for nn.Linear weights, laid out [in, out] as ONNX Runtime's
 * DynamicQuantizeMatMul expects (B is [K, N], b_scale per column N).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits of one float32, rounded to nearest even; overflow → ±inf, NaN kept NaN. */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const halfway = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let result = mantissa >>> shift;
    if (rest > halfway || (rest === halfway && (result & 1) === 1)) result++;
    return sign | result;
  }
  const rest = mantissa & 0x1fff;
  let result = (e << 10) | (mantissa >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && (result & 1) === 1)) result++; // may carry into the exponent: still correct
  return sign | result;
}

export function float32ArrayToFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i] as number);
  return out;
}

export interface QuantizedLinear {
  /** int8 [inFeatures, outFeatures] (transposed from the checkpoint's [out, in]). */
  weight: Int8Array;
  /** float32 [outFeatures]: w ≈ weight * scale per output channel. */
  scale: Float32Array;
}

/** Symmetric per-output-channel int8 of an nn.Linear weight stored [out, in]. */
export function quantizeLinearWeight(weight: Float32Array, outFeatures: number, inFeatures: number): QuantizedLinear {
  const quantized = new Int8Array(outFeatures * inFeatures);
  const scale = new Float32Array(outFeatures);
  for (let o = 0; o < outFeatures; o++) {
    let maxAbs = 0;
    const row = o * inFeatures;
    for (let i = 0; i < inFeatures; i++) maxAbs = Math.max(maxAbs, Math.abs(weight[row + i] as number));
    const s = maxAbs > 0 ? maxAbs / 127 : 1;
    scale[o] = s;
    for (let i = 0; i < inFeatures; i++) {
      quantized[i * outFeatures + o] = Math.max(-127, Math.min(127, Math.round((weight[row + i] as number) / s)));
    }
  }
  return { weight: quantized, scale };
}

/** What int8 rounding left over, W − Q·scale, as a float32 [out, in] weight (its own int8 term quantises it). */
export function quantizationResidual(weight: Float32Array, q: QuantizedLinear, outFeatures: number, inFeatures: number): Float32Array {
  const residual = new Float32Array(outFeatures * inFeatures);
  for (let o = 0; o < outFeatures; o++) {
    const s = q.scale[o] as number;
    for (let i = 0; i < inFeatures; i++) {
      residual[o * inFeatures + i] = (weight[o * inFeatures + i] as number) - (q.weight[i * outFeatures + o] as number) * s;
    }
  }
  return residual;
}
