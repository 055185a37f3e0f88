/** Property prediction on IgBert embeddings (`igbert probe`): the public API. See docs/probe.md. */
export { fitProbe, predictProbe, tableFeatures, type FeatureOptions, type ProbeFitOptions, type ProbeFitResult, type ProbePrediction } from './probe.js';
export { readProbeTable, extractTargets, TRANSFORMS, type ProbeTable, type TableRow, type TargetOptions, type TargetTransform, type Targets } from './table.js';
export { computeFeatures, readCheckpointPooler, FEATURE_RECIPES, type FeatureMatrix, type FeatureRecipe, type RejectedRow } from './features.js';
export { EmbeddingCache, checkpointIdentity, defaultCacheDirectory, type CacheKey } from './cache.js';
export { HEAD_FORMAT, parseHead, serializeHead, headDecisions, type ProbeHead } from './head.js';
export { writeProbeFiles, probeReportMarkdown, scatterSvg, reportPaths } from './report.js';
export { crossValidate, scoreFold, type CrossValidationResult, type FoldResult, type Learner, type MetricName } from './crossValidate.js';
export { fitLinearProbe, linearProbeDecisions, DEFAULT_GRID, type LinearProbe, type LinearProbeOptions, type ProbeTask } from './linearProbe.js';
export { fitRidge, fitRidgePath, type LinearFit } from './ridge.js';
export { fitLogistic, fitLogisticPath } from './logistic.js';
export { trainPoolerHead, poolerHeadDecisions, type PoolerHeadModel, type PoolerHeadOptions, type PoolerWeights } from './poolerHead.js';
export { fitScaler, applyScaler, type Scaler } from './scaler.js';
export { assignFolds, kFoldTestSets, stratifiedKFoldTestSets } from './folds.js';
export { r2Score, rmse, spearman, rocAuc, accuracy, meanAndSd } from './metrics.js';
export { matrix, fromFloat32, type Matrix } from './linalg.js';
