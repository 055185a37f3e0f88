/**
 * Property prediction on IgBert embeddings, end to end: read a labelled table, embed it once (cached), cross-validate
 * a probe over seeded outer folds, fit the final probe on every row, and predict with a saved head.
 * Probes: ridge regression / L2 logistic regression on standardised embeddings with the penalty chosen by inner CV
 * (the IgBert paper's linear-model protocol), or the model card's pooler + linear head on [CLS] states.
 */
import { InputError, UsageError } from '../errors.js';
import type { IgBertModel } from '../model.js';
import { PRODUCER } from '../version.js';
import { EmbeddingCache, checkpointIdentity } from './cache.js';
import { crossValidate, type CrossValidationResult, type FittedPredictor } from './crossValidate.js';
import { computeFeatures, readCheckpointPooler, recipePoolings, type FeatureMatrix, type FeatureRecipe, type RejectedRow } from './features.js';
import { assignFolds } from './folds.js';
import { HEAD_FORMAT, headDecisions, type ProbeHead } from './head.js';
import { fromFloat32, type Matrix } from './linalg.js';
import { DEFAULT_GRID, fitLinearProbe, linearProbeDecisions, type ProbeTask } from './linearProbe.js';
import { sigmoid } from './logistic.js';
import { POOLER_HEAD_DEFAULTS, poolerHeadDecisions, trainPoolerHead, type PoolerHeadOptions } from './poolerHead.js';
import {
  checkVariance,
  extractTargets,
  invertTransform,
  readProbeTable,
  type ProbeTable,
  type TableRow,
  type TargetTransform,
  type Targets,
} from './table.js';

export interface FeatureOptions {
  /** Embedding cache; false disables it. Default: a cache in defaultCacheDirectory(). */
  cache?: EmbeddingCache | false;
  /** Checkpoint folder (for the cache key and the pooler weights). Default: model.checkpoint.source. */
  checkpointDir?: string;
  /** Progress messages (one line each). */
  log?: (message: string) => void;
}

export interface ProbeFitOptions extends FeatureOptions {
  target: string;
  task?: ProbeTask;
  features?: FeatureRecipe;
  folds?: number;
  innerFolds?: number;
  seed?: number;
  transform?: TargetTransform;
  threshold?: number;
  positive?: string;
  grid?: readonly number[];
  poolerHead?: PoolerHeadOptions;
}

export interface ProbeFitResult {
  head: ProbeHead;
  crossValidation: CrossValidationResult;
  /** Table row number, id and measured (transformed) target of every training row, in the order of the metrics. */
  rows: number[];
  ids: string[];
  measured: Float64Array;
  targets: Targets;
  /** Rows whose sequence the model could not take. */
  rejected: RejectedRow[];
  cacheHit: boolean;
}

/** Features of every row of `table` for `recipe`, from the cache when it has them. */
export async function tableFeatures(
  model: IgBertModel,
  table: ProbeTable,
  recipe: FeatureRecipe,
  options: FeatureOptions = {},
): Promise<{ features: FeatureMatrix; identity: string; cacheHit: boolean }> {
  const dir = options.checkpointDir ?? model.checkpoint.source;
  const identity = await checkpointIdentity(dir);
  const cache = options.cache === false ? undefined : (options.cache ?? new EmbeddingCache());
  // The device and precision the engine runs at change the embeddings, so they are part of the key.
  const { device, precision } = model.engineInfo;
  const key = { checkpoint: identity, input: table.sha256, recipe: `${recipePoolings(recipe).join('+')}@${device}-${precision}` };
  const cached = await cache?.read(key);
  if (cached) {
    options.log?.(`embeddings (${key.recipe}) of ${table.path} from the cache in ${cache?.directory}`);
    return { features: cached, identity, cacheHit: true };
  }
  options.log?.(`embedding ${table.rows.length} rows of ${table.path} (${key.recipe}) with ${dir}`);
  const features = await computeFeatures(model, table.rows, recipe);
  await cache?.write(key, features, { checkpoint: dir, input: table.path });
  return { features, identity, cacheHit: false };
}

function checkFolds(task: ProbeTask, y: Float64Array, folds: number, innerFolds: number | undefined): void {
  if (!Number.isInteger(folds) || folds < 2) throw new UsageError(`--folds must be an integer of at least 2, got ${folds}.`);
  const counts = task === 'classification' ? [0, 1].map((c) => y.filter((v) => v === c).length) : [y.length];
  const smallest = Math.min(...counts);
  // Each outer training part must still hold `innerFolds` rows of each class for the inner split.
  const trainSmallest = Math.floor((smallest * (folds - 1)) / folds);
  if (smallest < folds || (innerFolds !== undefined && trainSmallest < innerFolds)) {
    throw new InputError(
      `${task === 'classification' ? `the smaller class has ${smallest}` : `there are ${smallest}`} labelled row(s), too few for ` +
        `${folds} outer folds${innerFolds !== undefined ? ` with ${innerFolds} inner folds` : ''}. Use fewer --folds/--inner-folds or more data.`,
    );
  }
}

export async function fitProbe(model: IgBertModel, input: string | ProbeTable, options: ProbeFitOptions): Promise<ProbeFitResult> {
  const task = options.task ?? 'regression';
  const recipe = options.features ?? 'mean';
  const folds = options.folds ?? 5;
  const seed = options.seed ?? 0;
  const innerFolds = recipe === 'pooler-head' ? undefined : (options.innerFolds ?? 5);
  const table = typeof input === 'string' ? await readProbeTable(input) : input;
  const targetOptions = {
    column: options.target,
    task,
    transform: options.transform ?? 'none',
    ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
    ...(options.positive !== undefined ? { positive: options.positive } : {}),
  };
  // Label problems (no such column, no variance) fail here, before the model runs.
  const targets = extractTargets(table, targetOptions);
  const { features, identity, cacheHit } = await tableFeatures(model, table, recipe, options);

  // Train on the rows that have both a usable target and an accepted sequence.
  const featureIndex = new Map(features.rows.map((row, i) => [row, i]));
  const kept = targets.rowIndices.flatMap((index, k) => (featureIndex.has((table.rows[index] as TableRow).row) ? [k] : []));
  const used = kept.map((k) => table.rows[targets.rowIndices[k] as number] as TableRow);
  const y = Float64Array.from(kept, (k) => targets.values[k] as number);
  checkVariance(targetOptions, y, targets.classes);
  const width = features.width;
  const data = new Float32Array(used.length * width);
  used.forEach((r, i) => {
    const at = featureIndex.get(r.row) as number;
    data.set(features.data.subarray(at * width, (at + 1) * width), i * width);
  });
  const x = fromFloat32(data, used.length, width);
  checkFolds(task, y, folds, innerFolds);
  const assignment = assignFolds(y.length, folds, seed, task === 'classification' ? y : undefined);

  const grid = [...(options.grid ?? DEFAULT_GRID)];
  const linearOptions = { task, grid, ...(innerFolds !== undefined ? { innerFolds } : {}) };
  const initial = recipe === 'pooler-head' ? await readCheckpointPooler(options.checkpointDir ?? model.checkpoint.source, model.config.hidden_size) : undefined;
  const poolerOptions = { ...POOLER_HEAD_DEFAULTS, initializerRange: model.config.initializer_range, ...options.poolerHead, seed };
  const trainPooler = (xs: Matrix, ys: Float64Array, foldSeed: number) =>
    trainPoolerHead(xs, ys, task, initial, { ...poolerOptions, seed: foldSeed });

  const learner = (xs: Matrix, ys: Float64Array, fold: number): FittedPredictor => {
    if (recipe === 'pooler-head') {
      const trained = trainPooler(xs, ys, seed + fold + 1);
      options.log?.(`fold ${fold + 1}/${folds}: pooler head kept after epoch ${trained.epochs}`);
      return { epochs: trained.epochs, decisions: (rows) => poolerHeadDecisions(trained, rows) };
    }
    const probe = fitLinearProbe(xs, ys, linearOptions);
    options.log?.(`fold ${fold + 1}/${folds}: ${task === 'regression' ? 'alpha' : 'C'} = ${probe.penalty}`);
    return { penalty: probe.penalty, decisions: (rows) => linearProbeDecisions(probe, rows) };
  };
  options.log?.(`${task} on ${y.length} rows, ${width} features (${recipe}), ${folds}-fold cross-validation`);
  const crossValidation = await crossValidate(task, x, y, assignment, learner);

  let fitted: ProbeHead['model'];
  if (recipe === 'pooler-head') {
    const trained = trainPooler(x, y, seed);
    fitted = {
      kind: 'pooler-head',
      initialisedFrom: trained.initialisedFrom,
      epochs: trained.epochs,
      pooler: { weight: [...trained.pooler.weight], bias: [...trained.pooler.bias] },
      head: { weight: [...trained.head.weight], bias: trained.head.bias },
      targetMean: trained.targetMean,
      targetScale: trained.targetScale,
    };
  } else {
    const probe = fitLinearProbe(x, y, linearOptions);
    fitted = {
      kind: task === 'regression' ? 'ridge' : 'logistic',
      penalty: probe.penalty,
      innerScores: probe.innerScores,
      scaler: { mean: [...probe.scaler.mean], scale: [...probe.scaler.scale] },
      coef: [...probe.coef],
      intercept: probe.intercept,
    };
  }
  const config = model.config;
  const head: ProbeHead = {
    format: HEAD_FORMAT,
    producer: PRODUCER,
    created: new Date().toISOString(),
    task,
    target: {
      column: options.target,
      transform: targetOptions.transform,
      ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
      ...(targets.classes ? { classes: targets.classes } : {}),
    },
    features: { recipe, layer: config.num_hidden_layers, width },
    checkpoint: { source: model.checkpoint.source, identity, hidden_size: config.hidden_size, num_hidden_layers: config.num_hidden_layers },
    training: {
      input: table.path,
      sha256: table.sha256,
      rows: y.length,
      skipped: targets.skipped.length,
      rejected: features.rejected.length,
      conflictingDuplicates: targets.conflicts.length,
    },
    protocol: {
      folds,
      seed,
      sd: 'population (ddof 0)',
      ...(recipe === 'pooler-head'
        ? { poolerHead: poolerOptions }
        : { innerFolds, grid, innerScoring: task === 'regression' ? ('r2' as const) : ('roc_auc' as const) }),
    },
    model: fitted,
    metrics: {
      summary: crossValidation.summary,
      folds: crossValidation.folds,
      rows: used.map((r) => r.row),
      assignment: [...assignment],
      outOfFold: [...crossValidation.outOfFold],
    },
  };
  return { head, crossValidation, rows: head.metrics.rows, ids: used.map((r) => r.record.id), measured: y, targets, rejected: features.rejected, cacheHit };
}

export interface ProbePrediction {
  row: number;
  id: string;
  /** Regression: prediction in the transformed target's units. Classification: log-odds of class 1. */
  decision: number;
  /** Regression with a transform: the prediction back in the column's original units. */
  untransformed?: number;
  /** Classification: probability of class 1 (head.target.classes[1]) and the predicted label. */
  probability?: number;
  label?: string;
}

export async function predictProbe(
  model: IgBertModel,
  head: ProbeHead,
  input: string | ProbeTable,
  options: FeatureOptions = {},
): Promise<{ predictions: ProbePrediction[]; rejected: RejectedRow[]; sameCheckpoint: boolean }> {
  if (model.config.hidden_size !== head.checkpoint.hidden_size) {
    throw new UsageError(
      `the head was fitted on a model with hidden_size ${head.checkpoint.hidden_size} (${head.checkpoint.source}); ` +
        `${model.checkpoint.source} has ${model.config.hidden_size}. Predict with the checkpoint the head was fitted on.`,
    );
  }
  const table = typeof input === 'string' ? await readProbeTable(input) : input;
  const { features, identity } = await tableFeatures(model, table, head.features.recipe, options);
  const sameCheckpoint = identity === head.checkpoint.identity;
  if (!sameCheckpoint) {
    options.log?.(
      `warning: ${model.checkpoint.source} is not byte-identical to the checkpoint the head was fitted on ` +
        `(${head.checkpoint.source}: config, tokenizer or weight file sizes/dates differ); predictions assume the same weights.`,
    );
  }
  const decisions = headDecisions(head, fromFloat32(features.data, features.rows.length, features.width));
  const ids = new Map(table.rows.map((r) => [r.row, r.record.id]));
  const predictions = features.rows.map((row, i): ProbePrediction => {
    const decision = decisions[i] as number;
    const base = { row, id: ids.get(row) as string, decision };
    if (head.task === 'classification') {
      return { ...base, probability: sigmoid(decision), label: head.target.classes?.[decision > 0 ? 1 : 0] ?? String(decision > 0 ? 1 : 0) };
    }
    return head.target.transform === 'none' ? base : { ...base, untransformed: invertTransform(decision, head.target.transform) };
  });
  return { predictions, rejected: features.rejected, sameCheckpoint };
}
