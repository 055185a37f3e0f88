/**
 * Feature standardisation exactly as scikit-learn's StandardScaler: mean and population standard deviation
 * (ddof 0) per feature, computed with its corrected two-pass formula; features indistinguishable from a constant
 * (by its bound) get scale 1 so they stay finite (all zero after centring).
 */
import { matrix, type Matrix } from './linalg.js';

export interface Scaler {
  mean: Float64Array;
  scale: Float64Array;
}

export function fitScaler(x: Matrix): Scaler {
  const { rows: n, cols: d, data } = x;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (data[i * d + j] as number);
  for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) / n;
  const correction = new Float64Array(d);
  const squares = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const centred = (data[i * d + j] as number) - (mean[j] as number);
      correction[j] = (correction[j] as number) + centred;
      squares[j] = (squares[j] as number) + centred * centred;
    }
  }
  const scale = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const variance = ((squares[j] as number) - (correction[j] as number) ** 2 / n) / n;
    // scikit-learn's _is_constant_feature: the variance is within the rounding error of the two-pass algorithm.
    const bound = n * Number.EPSILON * variance + (n * (mean[j] as number) * Number.EPSILON) ** 2;
    scale[j] = variance <= bound ? 1 : Math.sqrt(variance);
  }
  return { mean, scale };
}

export function applyScaler(x: Matrix, scaler: Scaler): Matrix {
  const { rows: n, cols: d } = x;
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      out[i * d + j] = ((x.data[i * d + j] as number) - (scaler.mean[j] as number)) / (scaler.scale[j] as number);
    }
  }
  return matrix(n, d, out);
}
