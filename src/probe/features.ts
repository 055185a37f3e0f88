/**
 * Feature recipes for the probes and the one forward pass that computes them. Each recipe is built from the
 * poolings `igbert embed` offers (src/tasks/pooling.ts), with the same numbers; "heavy-mean+light-mean" concatenates
 * two of them from a single pass, and "pooler-head" trains on the [CLS] state. Rows whose sequence the model cannot
 * take (bad residue, too long, missing chain for a per-chain mean) are returned as rejected, never dropped silently.
 */
import { InputError } from '../errors.js';
import type { IgBertModel } from '../model.js';
import { poolingRows, type Pooling } from '../tasks/pooling.js';
import type { EncodedAntibody } from '../tokenizer/antibody.js';
import { findCheckpointWeights, readTensor } from '../weights/checkpointFiles.js';
import { WeightStore } from '../weights/weightStore.js';
import type { PoolerWeights } from './poolerHead.js';
import type { TableRow } from './table.js';

export const FEATURE_RECIPES = ['mean', 'residues-mean', 'cls', 'heavy-mean+light-mean', 'pooler-head'] as const;
export type FeatureRecipe = (typeof FEATURE_RECIPES)[number];

type TokenPooling = Exclude<Pooling, 'pooler'>;

/** The embedding poolings a recipe is made of, concatenated in this order. */
export function recipePoolings(recipe: FeatureRecipe): TokenPooling[] {
  switch (recipe) {
    case 'heavy-mean+light-mean':
      return ['heavy-mean', 'light-mean'];
    case 'pooler-head':
      return ['cls'];
    default:
      return [recipe];
  }
}

export interface RejectedRow {
  row: number;
  id: string;
  error: string;
}

/** Row-major float32 features of the accepted rows, with their table row numbers. */
export interface FeatureMatrix {
  rows: number[];
  width: number;
  data: Float32Array;
  rejected: RejectedRow[];
}

/** Embeds table rows for a recipe in one pass over the last hidden state (token-budget batches, input order kept). */
export async function computeFeatures(model: IgBertModel, rows: readonly TableRow[], recipe: FeatureRecipe): Promise<FeatureMatrix> {
  const poolings = recipePoolings(recipe);
  const rejected: RejectedRow[] = [];
  const accepted: { row: number; encoded: EncodedAntibody; tokenRows: number[][] }[] = [];
  for (const { row, record } of rows) {
    try {
      const [encoded] = model.encode([record], row) as [EncodedAntibody];
      accepted.push({ row, encoded, tokenRows: poolings.map((p) => poolingRows(encoded, p, row)) });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      rejected.push({ row, id: record.id, error: error.message });
    }
  }
  const h = model.config.hidden_size;
  const width = h * poolings.length;
  const data = new Float32Array(accepted.length * width);
  await model.forward(
    accepted.map((a) => ({ tokens: a.encoded, location: { record: a.row, id: a.encoded.id }, request: { means: a.tokenRows } })),
    { layer: model.resolveLayer(undefined) },
    (index, output) => output.means.forEach((mean, p) => data.set(mean, index * width + p * h)),
  );
  return { rows: accepted.map((a) => a.row), width, data, rejected };
}

/** The checkpoint's BertPooler dense layer (pooler.dense.weight [H, H], bias [H]), or undefined when it has none. */
export async function readCheckpointPooler(dir: string, hiddenSize: number): Promise<PoolerWeights | undefined> {
  const store = new WeightStore(await findCheckpointWeights(dir));
  const weight = store.getOptional('pooler.dense.weight', [hiddenSize, hiddenSize]);
  const bias = store.getOptional('pooler.dense.bias', [hiddenSize]);
  if (!weight || !bias) return undefined;
  return { weight: await readTensor(weight), bias: await readTensor(bias) };
}
