/**
 * A fitted probe as one self-contained JSON document: the feature recipe, the checkpoint it was fitted on, the
 * target's definition (column, transform, classes), the scaler and weights, and the cross-validated metrics with the
 * fold of every training row — enough to predict, and to audit or reproduce the evaluation.
 */
import { UsageError } from '../errors.js';
import type { CrossValidationResult, FoldResult } from './crossValidate.js';
import { FEATURE_RECIPES, type FeatureRecipe } from './features.js';
import type { Matrix } from './linalg.js';
import { linearProbeDecisions, type ProbeTask } from './linearProbe.js';
import { poolerHeadDecisions } from './poolerHead.js';
import { TRANSFORMS, type TargetTransform } from './table.js';

export const HEAD_FORMAT = 'igbert-probe-head/1';

export interface LinearHeadModel {
  kind: 'ridge' | 'logistic';
  /** α (ridge) or C (logistic regression), chosen by inner cross-validation on all training rows. */
  penalty: number;
  innerScores: number[];
  scaler: { mean: number[]; scale: number[] };
  /** On standardised features. */
  coef: number[];
  intercept: number;
}

export interface PoolerHeadJson {
  kind: 'pooler-head';
  initialisedFrom: 'checkpoint' | 'random';
  epochs: number;
  pooler: { weight: number[]; bias: number[] };
  head: { weight: number[]; bias: number };
  targetMean: number;
  targetScale: number;
}

export interface ProbeHead {
  format: typeof HEAD_FORMAT;
  producer: { name: string; version: string };
  created: string;
  task: ProbeTask;
  target: { column: string; transform: TargetTransform; threshold?: number; classes?: [string, string] };
  features: { recipe: FeatureRecipe; layer: number; width: number };
  checkpoint: { source: string; identity: string; hidden_size: number; num_hidden_layers: number };
  training: { input: string; sha256: string; rows: number; skipped: number; rejected: number; conflictingDuplicates: number };
  protocol: {
    folds: number;
    innerFolds?: number;
    seed: number;
    grid?: number[];
    innerScoring?: 'r2' | 'roc_auc';
    sd: 'population (ddof 0)';
    poolerHead?: Record<string, number>;
  };
  model: LinearHeadModel | PoolerHeadJson;
  metrics: {
    summary: CrossValidationResult['summary'];
    folds: FoldResult[];
    /** Table row number, outer fold and out-of-fold decision value of every training row. */
    rows: number[];
    assignment: number[];
    outOfFold: number[];
  };
}

const fail = (path: string, what: string): never => {
  throw new UsageError(`${path} is not an igbert probe head (${what}). Pass the HEAD.json that \`igbert probe fit\` wrote.`);
};

const numbers = (value: unknown, length: number): boolean =>
  Array.isArray(value) && value.length === length && value.every((v) => typeof v === 'number' && Number.isFinite(v));

/** Parses and checks a head file's text (shapes must agree, so a damaged head fails here, not mid-prediction). */
export function parseHead(text: string, path: string): ProbeHead {
  let head: ProbeHead;
  try {
    head = JSON.parse(text) as ProbeHead;
  } catch (cause) {
    return fail(path, `not JSON: ${(cause as Error).message}`);
  }
  if (head?.format !== HEAD_FORMAT) fail(path, `format is ${JSON.stringify(head?.format)}, expected ${HEAD_FORMAT}`);
  if (head.task !== 'regression' && head.task !== 'classification') fail(path, `unknown task ${JSON.stringify(head.task)}`);
  if (!(FEATURE_RECIPES as readonly string[]).includes(head.features?.recipe)) fail(path, 'unknown feature recipe');
  if (!(TRANSFORMS as readonly string[]).includes(head.target?.transform)) fail(path, 'unknown target transform');
  const width = head.features.width;
  const model = head.model;
  if (model?.kind === 'pooler-head') {
    const h = head.checkpoint?.hidden_size;
    const ok = numbers(model.pooler?.weight, h * h) && numbers(model.pooler?.bias, h) && numbers(model.head?.weight, h);
    if (!ok || width !== h) fail(path, `pooler head weights do not match hidden_size ${h}`);
  } else if (model?.kind === 'ridge' || model?.kind === 'logistic') {
    const ok = numbers(model.coef, width) && numbers(model.scaler?.mean, width) && numbers(model.scaler?.scale, width);
    if (!ok || !Number.isFinite(model.intercept)) fail(path, `coefficients or scaler do not have ${width} values`);
  } else {
    fail(path, `unknown model kind ${JSON.stringify((model as { kind?: unknown })?.kind)}`);
  }
  return head;
}

/** JSON text of a head: indented objects, but every array on one line (a pooler head has H² weights). */
export function serializeHead(head: ProbeHead): string {
  const format = (value: unknown, indent: string): string => {
    if (Array.isArray(value)) return JSON.stringify(value);
    if (value === null || typeof value !== 'object') return JSON.stringify(value);
    const inner = indent + '  ';
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${format(v, inner)}`).join(',\n')}\n${indent}}`;
  };
  return format(head, '') + '\n';
}

/** Decision values (predictions in the transformed target's units, or log-odds of class 1) of raw feature rows. */
export function headDecisions(head: ProbeHead, x: Matrix): Float64Array {
  const model = head.model;
  if (model.kind === 'pooler-head') {
    return poolerHeadDecisions(
      {
        hiddenSize: head.checkpoint.hidden_size,
        pooler: { weight: Float64Array.from(model.pooler.weight), bias: Float64Array.from(model.pooler.bias) },
        head: { weight: Float64Array.from(model.head.weight), bias: model.head.bias },
        targetMean: model.targetMean,
        targetScale: model.targetScale,
      },
      x,
    );
  }
  return linearProbeDecisions(
    {
      scaler: { mean: Float64Array.from(model.scaler.mean), scale: Float64Array.from(model.scaler.scale) },
      coef: Float64Array.from(model.coef),
      intercept: model.intercept,
    },
    x,
  );
}
