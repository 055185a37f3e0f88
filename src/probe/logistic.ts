/**
 * Binary L2 logistic regression with an unpenalised intercept: minimises
 *   C · Σᵢ log(1 + exp(−sᵢ zᵢ)) + ½‖w‖²,   zᵢ = xᵢ·w + b,  sᵢ = ±1,
 * scikit-learn's LogisticRegression(C=C) objective (lbfgs and newton-cholesky share it). Solved by Newton's method
 * with a backtracking line search, which converges to the optimum to rounding error (sklearn's quasi-Newton solvers
 * stop at a tolerance). With more features than rows the problem is solved in the row space of X, where the optimum
 * lies (the gradient of the loss is a combination of rows) and the penalty is unchanged — so a 1024-feature
 * embedding costs an r×r Newton system, r ≤ rows.
 */
import { choleskySolve, multiplyTransposedVector, multiplyVector, rowSpaceBasis, type Matrix } from './linalg.js';
import type { LinearFit } from './ridge.js';

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

interface State {
  w: Float64Array;
  b: number;
}

function objective(a: Matrix, y: Float64Array, c: number, state: State): number {
  const z = multiplyVector(a, state.w, state.b);
  let loss = 0;
  for (let i = 0; i < a.rows; i++) loss += softplus(z[i] as number) - (y[i] as number) * (z[i] as number);
  let penalty = 0;
  for (const value of state.w) penalty += value * value;
  return c * loss + 0.5 * penalty;
}

/** Newton's method on the (m + 1) parameters [w; b] of the objective over rows of `a`, from `start`. */
function newton(a: Matrix, y: Float64Array, c: number, start: State): State {
  const { rows: n, cols: m } = a;
  const size = m + 1;
  let state: State = { w: start.w.slice(), b: start.b };
  let value = objective(a, y, c, state);
  for (let iteration = 0; iteration < 200; iteration++) {
    const z = multiplyVector(a, state.w, state.b);
    const gradient = new Float64Array(size);
    const hessian = new Float64Array(size * size);
    for (let j = 0; j < m; j++) {
      gradient[j] = state.w[j] as number;
      hessian[j * size + j] = 1;
    }
    for (let i = 0; i < n; i++) {
      const p = sigmoid(z[i] as number);
      const residual = c * (p - (y[i] as number));
      const weight = c * p * (1 - p);
      const base = i * m;
      for (let j = 0; j < m; j++) {
        const aij = a.data[base + j] as number;
        gradient[j] = (gradient[j] as number) + residual * aij;
        const wa = weight * aij;
        const row = j * size;
        // lower triangle only: choleskySolve reads no more
        for (let k = 0; k <= j; k++) hessian[row + k] = (hessian[row + k] as number) + wa * (a.data[base + k] as number);
        hessian[m * size + j] = (hessian[m * size + j] as number) + wa;
      }
      gradient[m] = (gradient[m] as number) + residual;
      hessian[m * size + m] = (hessian[m * size + m] as number) + weight;
    }
    const step = choleskySolve(hessian, size, gradient.map((g) => -g));
    let decrement = 0;
    for (let j = 0; j < size; j++) decrement -= (gradient[j] as number) * (step[j] as number);
    const trial = (t: number): State => ({
      w: state.w.map((w, j) => w + t * (step[j] as number)),
      b: state.b + t * (step[m] as number),
    });
    // In the quadratic-convergence region the objective's decrease is below its rounding error, so a line search
    // would wrongly refuse the full step; take it and stop.
    if (decrement / 2 <= 1e-13 * (1 + Math.abs(value))) return trial(1);
    let t = 1;
    let next = trial(t);
    let nextValue = objective(a, y, c, next);
    while (nextValue > value - 1e-4 * t * decrement && t > 1e-12) {
      t /= 2;
      next = trial(t);
      nextValue = objective(a, y, c, next);
    }
    state = next;
    value = nextValue;
  }
  return state;
}

/** Logistic fits of (x, y ∈ {0, 1}) for each C in `cs` (warm-started along the path; the optimum is unique). */
export function fitLogisticPath(x: Matrix, y: Float64Array, cs: readonly number[]): LinearFit[] {
  const reduce = x.cols > x.rows;
  const reduced = reduce ? rowSpaceBasis(x) : undefined;
  const a = reduced ? reduced.coordinates : x;
  let state: State = { w: new Float64Array(a.cols), b: 0 };
  const byC = new Map<number, State>();
  for (const c of [...cs].sort((p, q) => p - q)) {
    state = newton(a, y, c, state);
    byC.set(c, state);
  }
  return cs.map((c) => {
    const { w, b } = byC.get(c) as State;
    // back from row-space coordinates: coef = Qᵀ v
    const coef = reduced ? multiplyTransposedVector(reduced.basis, w) : w;
    return { penalty: c, coef, intercept: b };
  });
}

export function fitLogistic(x: Matrix, y: Float64Array, c: number): LinearFit {
  return fitLogisticPath(x, y, [c])[0] as LinearFit;
}
