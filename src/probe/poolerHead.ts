/**
 * The model card's route to sequence-level tasks: BertPooler (dense H→H + tanh on the [CLS] hidden state) plus a
 * linear head, trained on the frozen encoder's [CLS] states. The pooler starts from the checkpoint's
 * pooler.dense weights when it has them (IgBert is saved without), otherwise as transformers initialises it
 * (normal(0, initializer_range), zero bias) from a seeded generator. Trained with Adam on mini-batches; a seeded
 * validation split (stratified by class for classification) picks the epoch, and the best epoch's weights are kept.
 * Inputs are standardised for training and the scaling folded back into the pooler (see trainPoolerHead).
 * Regression trains on the standardised target (mean/sd of the training rows) and predicts in the original units.
 * Everything is float64 and deterministic given the seed.
 */
import { SeededRandom } from '../init/random.js';
import { shuffle } from './folds.js';
import { take, takeRows, type Matrix } from './linalg.js';
import { applyScaler, fitScaler } from './scaler.js';
import type { ProbeTask } from './linearProbe.js';
import { sigmoid } from './logistic.js';

export interface PoolerHeadOptions {
  /** Adam step size. Default 1e-3. */
  learningRate?: number;
  /** Rows per Adam step. Default 32. */
  batchSize?: number;
  /** Default 300. */
  maxEpochs?: number;
  /** Stop after this many epochs without a lower validation loss. Default 20. */
  patience?: number;
  /** Share of the training rows held out for early stopping. Default 0.2. */
  validationFraction?: number;
  /** Seeds initialisation (when random), the validation split and the batch order. Default 0. */
  seed?: number;
  /** transformers' initializer_range, for random initialisation. Default 0.02. */
  initializerRange?: number;
}

/** Defaults of PoolerHeadOptions (recorded in the head, so a run can be repeated). */
export const POOLER_HEAD_DEFAULTS = {
  learningRate: 1e-3,
  batchSize: 32,
  maxEpochs: 300,
  patience: 20,
  validationFraction: 0.2,
  seed: 0,
  initializerRange: 0.02,
} as const satisfies Required<PoolerHeadOptions>;

/** BertPooler's dense layer as stored by transformers: weight [out, in] = [H, H], bias [H]. */
export interface PoolerWeights {
  weight: ArrayLike<number>;
  bias: ArrayLike<number>;
}

export interface PoolerHeadModel {
  hiddenSize: number;
  pooler: { weight: Float64Array; bias: Float64Array };
  head: { weight: Float64Array; bias: number };
  /** Regression: predictions are output × targetScale + targetMean. Classification: 0 and 1. */
  targetMean: number;
  targetScale: number;
  initialisedFrom: 'checkpoint' | 'random';
  /** Epochs trained up to the kept (best-validation) weights. */
  epochs: number;
  validationLoss: number;
}

/** Flat parameter layout: pooler weight (H·H), pooler bias (H), head weight (H), head bias (1). */
function layout(h: number) {
  return { poolerBias: h * h, headWeight: h * h + h, headBias: h * h + 2 * h, size: h * h + 2 * h + 1 };
}

/** Output (regression value or logit) of each row of `x` for flat parameters `p`. */
export function poolerHeadOutputs(p: Float64Array, h: number, x: Matrix): Float64Array {
  const at = layout(h);
  const out = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    let value = p[at.headBias] as number;
    for (let o = 0; o < h; o++) {
      let a = p[at.poolerBias + o] as number;
      for (let k = 0; k < h; k++) a += (p[o * h + k] as number) * (x.data[i * h + k] as number);
      value += (p[at.headWeight + o] as number) * Math.tanh(a);
    }
    out[i] = value;
  }
  return out;
}

/** Mean loss (½·squared error, or binary cross-entropy on logits) of rows `x`, and its gradient when asked for. */
export function poolerHeadLoss(p: Float64Array, h: number, x: Matrix, y: Float64Array, task: ProbeTask, gradient?: Float64Array): number {
  const at = layout(h);
  const hidden = new Float64Array(h);
  let loss = 0;
  gradient?.fill(0);
  for (let i = 0; i < x.rows; i++) {
    const base = i * h;
    let out = p[at.headBias] as number;
    for (let o = 0; o < h; o++) {
      let a = p[at.poolerBias + o] as number;
      for (let k = 0; k < h; k++) a += (p[o * h + k] as number) * (x.data[base + k] as number);
      hidden[o] = Math.tanh(a);
      out += (p[at.headWeight + o] as number) * (hidden[o] as number);
    }
    const target = y[i] as number;
    // d loss / d out, averaged over the rows
    let dOut: number;
    if (task === 'regression') {
      loss += 0.5 * (out - target) ** 2;
      dOut = (out - target) / x.rows;
    } else {
      loss += Math.max(out, 0) - out * target + Math.log1p(Math.exp(-Math.abs(out)));
      dOut = (sigmoid(out) - target) / x.rows;
    }
    if (!gradient) continue;
    gradient[at.headBias] = (gradient[at.headBias] as number) + dOut;
    for (let o = 0; o < h; o++) {
      const ho = hidden[o] as number;
      gradient[at.headWeight + o] = (gradient[at.headWeight + o] as number) + dOut * ho;
      const dA = dOut * (p[at.headWeight + o] as number) * (1 - ho * ho);
      gradient[at.poolerBias + o] = (gradient[at.poolerBias + o] as number) + dA;
      for (let k = 0; k < h; k++) gradient[o * h + k] = (gradient[o * h + k] as number) + dA * (x.data[base + k] as number);
    }
  }
  return loss / x.rows;
}

/** Training and validation row indices: a seeded share of each class (or of all rows for regression). */
function validationSplit(y: Float64Array, task: ProbeTask, fraction: number, random: SeededRandom): { train: number[]; validation: number[] } {
  const groups = task === 'classification' ? [0, 1].map((c) => [...y.keys()].filter((i) => y[i] === c)) : [[...y.keys()]];
  const validation: number[] = [];
  for (const group of groups) {
    validation.push(...shuffle(group, random).slice(0, Math.max(1, Math.round(fraction * group.length))));
  }
  const held = new Set(validation);
  return { train: [...y.keys()].filter((i) => !held.has(i)), validation: validation.sort((a, b) => a - b) };
}

export function trainPoolerHead(
  cls: Matrix,
  y: Float64Array,
  task: ProbeTask,
  initial: PoolerWeights | undefined,
  options: PoolerHeadOptions = {},
): PoolerHeadModel {
  const settings = { ...POOLER_HEAD_DEFAULTS, ...options };
  const h = cls.cols;
  const at = layout(h);
  const random = new SeededRandom(settings.seed);
  const range = settings.initializerRange;
  const weight = initial ? Float64Array.from(initial.weight) : Float64Array.from({ length: h * h }, () => range * random.normal());
  const bias = initial ? Float64Array.from(initial.bias) : new Float64Array(h);
  const headWeight = Float64Array.from({ length: h }, () => range * random.normal());
  const split = validationSplit(y, task, settings.validationFraction, random);

  // [CLS] states of similar antibodies differ by little next to what they share, so plain gradient steps on raw
  // states barely move the pooler. Train on standardised states instead — the same function class, since the
  // dense layer absorbs the affine map: W·x + b = (W·diag(σ))·((x − μ)/σ) + (b + W·μ) — and fold back at the end,
  // so the head stores an ordinary BertPooler that reads raw [CLS] states, starting from exactly the initial one.
  const scaler = fitScaler(takeRows(cls, split.train));
  const x = applyScaler(cls, scaler);
  const p = new Float64Array(at.size);
  for (let o = 0; o < h; o++) {
    let shift = 0;
    for (let k = 0; k < h; k++) {
      p[o * h + k] = (weight[o * h + k] as number) * (scaler.scale[k] as number);
      shift += (weight[o * h + k] as number) * (scaler.mean[k] as number);
    }
    p[at.poolerBias + o] = (bias[o] as number) + shift;
  }
  p.set(headWeight, at.headWeight);
  let targetMean = 0;
  let targetScale = 1;
  if (task === 'regression') {
    const trainTargets = take(y, split.train);
    targetMean = trainTargets.reduce((s, v) => s + v, 0) / trainTargets.length;
    targetScale = Math.sqrt(trainTargets.reduce((s, v) => s + (v - targetMean) ** 2, 0) / trainTargets.length) || 1;
  }
  const scaled = y.map((v) => (v - targetMean) / targetScale);
  const xValidation = takeRows(x, split.validation);
  const yValidation = take(scaled, split.validation);

  const rate = settings.learningRate;
  const batchSize = settings.batchSize;
  const [beta1, beta2, epsilon] = [0.9, 0.999, 1e-8];
  const m = new Float64Array(at.size);
  const v = new Float64Array(at.size);
  const gradient = new Float64Array(at.size);
  let step = 0;
  let best = { loss: poolerHeadLoss(p, h, xValidation, yValidation, task), epoch: 0, params: p.slice() };
  const order = split.train.slice();
  for (let epoch = 1; epoch <= settings.maxEpochs; epoch++) {
    shuffle(order, random);
    for (let start = 0; start < order.length; start += batchSize) {
      const batch = order.slice(start, start + batchSize);
      poolerHeadLoss(p, h, takeRows(x, batch), take(scaled, batch), task, gradient);
      step++;
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      for (let j = 0; j < at.size; j++) {
        const g = gradient[j] as number;
        m[j] = beta1 * (m[j] as number) + (1 - beta1) * g;
        v[j] = beta2 * (v[j] as number) + (1 - beta2) * g * g;
        p[j] = (p[j] as number) - (rate * ((m[j] as number) / c1)) / (Math.sqrt((v[j] as number) / c2) + epsilon);
      }
    }
    const loss = poolerHeadLoss(p, h, xValidation, yValidation, task);
    if (loss < best.loss) best = { loss, epoch, params: p.slice() };
    else if (epoch - best.epoch >= settings.patience) break;
  }
  const kept = best.params;
  const rawWeight = new Float64Array(h * h);
  const rawBias = kept.slice(at.poolerBias, at.poolerBias + h);
  for (let o = 0; o < h; o++) {
    for (let k = 0; k < h; k++) {
      const w = (kept[o * h + k] as number) / (scaler.scale[k] as number);
      rawWeight[o * h + k] = w;
      rawBias[o] = (rawBias[o] as number) - w * (scaler.mean[k] as number);
    }
  }
  return {
    hiddenSize: h,
    pooler: { weight: rawWeight, bias: rawBias },
    head: { weight: kept.slice(at.headWeight, at.headWeight + h), bias: kept[at.headBias] as number },
    targetMean,
    targetScale,
    initialisedFrom: initial ? 'checkpoint' : 'random',
    epochs: best.epoch,
    validationLoss: best.loss,
  };
}

/** Decision values of [CLS] states: predictions (original units) for regression, logits for classification. */
export function poolerHeadDecisions(model: Omit<PoolerHeadModel, 'epochs' | 'validationLoss' | 'initialisedFrom'>, cls: Matrix): Float64Array {
  const h = model.hiddenSize;
  const at = layout(h);
  const p = new Float64Array(at.size);
  p.set(model.pooler.weight, 0);
  p.set(model.pooler.bias, at.poolerBias);
  p.set(model.head.weight, at.headWeight);
  p[at.headBias] = model.head.bias;
  return poolerHeadOutputs(p, h, cls).map((out) => out * model.targetScale + model.targetMean);
}
