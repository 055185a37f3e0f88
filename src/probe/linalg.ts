/**
 * The small dense linear algebra the probes need, in float64: row-major matrices, Gram matrices, a Cholesky solve
 * for symmetric positive definite systems, and an orthonormal basis of a matrix's row space. Problems here are a few
 * hundred rows by at most a few thousand columns, so plain loops (ordered for contiguous inner access) are enough.
 */
import { UsageError } from '../errors.js';

/** Row-major [rows, cols] float64 matrix. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function matrix(rows: number, cols: number, data = new Float64Array(rows * cols)): Matrix {
  if (data.length !== rows * cols) throw new UsageError(`matrix data has ${data.length} values, expected ${rows} x ${cols}.`);
  return { rows, cols, data };
}

/** Widens row-major float32 features (embeddings) to a float64 matrix. */
export function fromFloat32(values: Float32Array, rows: number, cols: number): Matrix {
  return matrix(rows, cols, Float64Array.from(values));
}

/** The given rows of `m`, in the given order. */
export function takeRows(m: Matrix, indices: readonly number[]): Matrix {
  const out = new Float64Array(indices.length * m.cols);
  indices.forEach((row, i) => out.set(m.data.subarray(row * m.cols, (row + 1) * m.cols), i * m.cols));
  return matrix(indices.length, m.cols, out);
}

export function take(values: Float64Array, indices: readonly number[]): Float64Array {
  return Float64Array.from(indices, (i) => values[i] as number);
}

/** Column means of `m`. */
export function columnMeans(m: Matrix): Float64Array {
  const means = new Float64Array(m.cols);
  for (let i = 0; i < m.rows; i++) {
    const base = i * m.cols;
    for (let j = 0; j < m.cols; j++) means[j] = (means[j] as number) + (m.data[base + j] as number);
  }
  for (let j = 0; j < m.cols; j++) means[j] = (means[j] as number) / m.rows;
  return means;
}

/** m with `offsets` subtracted from every row. */
export function subtractRow(m: Matrix, offsets: Float64Array): Matrix {
  const out = new Float64Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    const base = i * m.cols;
    for (let j = 0; j < m.cols; j++) out[base + j] = (m.data[base + j] as number) - (offsets[j] as number);
  }
  return matrix(m.rows, m.cols, out);
}

/** Xᵀ X, [cols, cols]. */
export function gramColumns(x: Matrix): Float64Array {
  const d = x.cols;
  const out = new Float64Array(d * d);
  for (let i = 0; i < x.rows; i++) {
    const base = i * d;
    for (let a = 0; a < d; a++) {
      const xa = x.data[base + a] as number;
      if (xa === 0) continue;
      const row = a * d;
      for (let b = a; b < d; b++) out[row + b] = (out[row + b] as number) + xa * (x.data[base + b] as number);
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) out[a * d + b] = out[b * d + a] as number;
  return out;
}

/** X Xᵀ, [rows, rows]. */
export function gramRows(x: Matrix): Float64Array {
  const n = x.rows;
  const out = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = a; b < n; b++) {
      const value = dot(x.data, a * x.cols, x.data, b * x.cols, x.cols);
      out[a * n + b] = value;
      out[b * n + a] = value;
    }
  }
  return out;
}

export function dot(a: Float64Array, aOffset: number, b: Float64Array, bOffset: number, length: number): number {
  let sum = 0;
  for (let k = 0; k < length; k++) sum += (a[aOffset + k] as number) * (b[bOffset + k] as number);
  return sum;
}

/** X v (v of length cols), plus `bias`. */
export function multiplyVector(x: Matrix, v: Float64Array, bias = 0): Float64Array {
  const out = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++) out[i] = dot(x.data, i * x.cols, v, 0, x.cols) + bias;
  return out;
}

/** Xᵀ v (v of length rows). */
export function multiplyTransposedVector(x: Matrix, v: Float64Array): Float64Array {
  const out = new Float64Array(x.cols);
  for (let i = 0; i < x.rows; i++) {
    const vi = v[i] as number;
    const base = i * x.cols;
    for (let j = 0; j < x.cols; j++) out[j] = (out[j] as number) + vi * (x.data[base + j] as number);
  }
  return out;
}

/**
 * Solves A x = b for symmetric positive definite A ([n, n], only the lower triangle is read) by Cholesky.
 * Throws when A is not numerically positive definite, which for the probes means a bug, not bad data: every system
 * they solve has a positive ridge or an identity term on its diagonal.
 */
export function choleskySolve(a: Float64Array, n: number, b: Float64Array): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let diagonal = a[j * n + j] as number;
    for (let k = 0; k < j; k++) diagonal -= (l[j * n + k] as number) ** 2;
    if (!(diagonal > 0)) throw new Error(`choleskySolve: matrix is not positive definite (pivot ${j} is ${diagonal}).`);
    const ljj = Math.sqrt(diagonal);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      l[i * n + j] = ((a[i * n + j] as number) - dot(l, i * n, l, j * n, j)) / ljj;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = ((b[i] as number) - dot(l, i * n, y, 0, i)) / (l[i * n + i] as number);
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i] as number;
    for (let k = i + 1; k < n; k++) sum -= (l[k * n + i] as number) * (x[k] as number);
    x[i] = sum / (l[i * n + i] as number);
  }
  return x;
}

/**
 * An orthonormal basis Q ([r, cols], r <= rows) of the row space of `x`, by modified Gram-Schmidt with one
 * re-orthogonalisation pass ("twice is enough"), and the coordinates X Qᵀ ([rows, r]). Rows whose remainder is
 * below 1e-12 of their norm add nothing and are dropped. Lets a penalised fit with more features than rows run in
 * r dimensions: its solution lies in the row space, and ‖Qᵀv‖ = ‖v‖ keeps the L2 penalty unchanged.
 */
export function rowSpaceBasis(x: Matrix): { basis: Matrix; coordinates: Matrix } {
  const d = x.cols;
  const basis: Float64Array[] = [];
  for (let i = 0; i < x.rows; i++) {
    const v = x.data.slice(i * d, (i + 1) * d);
    const norm0 = Math.sqrt(dot(v, 0, v, 0, d));
    if (norm0 === 0) continue;
    for (let pass = 0; pass < 2; pass++) {
      for (const q of basis) {
        const projection = dot(q, 0, v, 0, d);
        for (let j = 0; j < d; j++) v[j] = (v[j] as number) - projection * (q[j] as number);
      }
    }
    const norm = Math.sqrt(dot(v, 0, v, 0, d));
    if (norm <= 1e-12 * norm0) continue;
    for (let j = 0; j < d; j++) v[j] = (v[j] as number) / norm;
    basis.push(v);
  }
  const r = basis.length;
  const q = matrix(r, d);
  basis.forEach((row, i) => q.data.set(row, i * d));
  const coordinates = matrix(x.rows, r);
  for (let i = 0; i < x.rows; i++) {
    for (let k = 0; k < r; k++) coordinates.data[i * r + k] = dot(x.data, i * d, q.data, k * d, d);
  }
  return { basis: q, coordinates };
}
