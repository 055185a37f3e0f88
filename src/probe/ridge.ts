/**
 * Ridge regression with an unpenalised intercept, solved as scikit-learn's Ridge(solver="cholesky") does: centre X
 * and y, then solve (XcᵀXc + αI) w = Xcᵀyc when there are no more features than rows, or the kernel form
 * (XcXcᵀ + αI) a = yc, w = Xcᵀa, when there are more (IgBert embeddings: 1024 features, often fewer antibodies).
 * The Gram matrix is built once and shared by every penalty of a grid.
 */
import {
  choleskySolve,
  columnMeans,
  dot,
  gramColumns,
  gramRows,
  multiplyTransposedVector,
  subtractRow,
  type Matrix,
} from './linalg.js';

export interface LinearFit {
  /** The penalty: α for ridge, C for logistic regression. */
  penalty: number;
  coef: Float64Array;
  intercept: number;
}

/** Ridge fits of (x, y) for each α in `alphas`, in order. */
export function fitRidgePath(x: Matrix, y: Float64Array, alphas: readonly number[]): LinearFit[] {
  const n = x.rows;
  const xOffset = columnMeans(x);
  let yOffset = 0;
  for (const value of y) yOffset += value;
  yOffset /= n;
  const centred = subtractRow(x, xOffset);
  const yCentred = y.map((value) => value - yOffset);
  const kernel = x.cols > n;
  const size = kernel ? n : x.cols;
  const gram = kernel ? gramRows(centred) : gramColumns(centred);
  const rhs = kernel ? yCentred : multiplyTransposedVector(centred, yCentred);
  return alphas.map((alpha) => {
    const system = gram.slice();
    for (let i = 0; i < size; i++) system[i * size + i] = (system[i * size + i] as number) + alpha;
    const solution = choleskySolve(system, size, rhs);
    const coef = kernel ? multiplyTransposedVector(centred, solution) : solution;
    return { penalty: alpha, coef, intercept: yOffset - dot(xOffset, 0, coef, 0, coef.length) };
  });
}

export function fitRidge(x: Matrix, y: Float64Array, alpha: number): LinearFit {
  return fitRidgePath(x, y, [alpha])[0] as LinearFit;
}
