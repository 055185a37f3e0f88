/**
 * The plain-JSON rows of every task's results: what `igbert embed|score|mutate|fill` write (JSON Lines, CSV, Parquet,
 * NPY), what the server's /v1/embed, /v1/score, /v1/mutate and /v1/fill return as "results", and what the web page's
 * score download holds. Their names and values are the README's table "Result fields and spellings": snake_case
 * names, chains "H"/"L", a missing chain null, float32 values rounded to their shortest round-tripping text.
 * The *_FIELDS lists name the scalar columns in order, for callers that must know them before any row exists.
 */
import { formatFloat32 } from '../io/numbers.js';
import type { ChainLetter } from '../chains.js';
import type { EmbeddingResult } from './embed.js';
import type { FillResult } from './fill.js';
import type { MutationMethod, MutationScore } from './mutate.js';
import { AMINO_ACIDS } from './positions.js';
import type { ScanResult } from './scan.js';
import type { ScoreMethod, ScoreResult } from './score.js';

const rounded = (value: number): number => Number(formatFloat32(value));

// Type aliases (not interfaces), so they fit the pipeline's Record-typed result rows.
export type EmbedRow = { id: string; embedding: Float32Array; residue_embeddings?: Float32Array[] };

/** One row per antibody; `residue_embeddings` when the result has them (residues: true). */
export function embedRow(result: EmbeddingResult): EmbedRow {
  return { id: result.id, embedding: result.embedding, ...(result.residueEmbeddings ? { residue_embeddings: result.residueEmbeddings } : {}) };
}

/** The scalar fields of a score row (its CSV columns). */
export type ScoreRow = {
  id: string;
  method: ScoreMethod;
  log_likelihood: number;
  mean_log_likelihood: number;
  perplexity: number;
  heavy_log_likelihood: number | null;
  light_log_likelihood: number | null;
};
export const SCORE_FIELDS = [
  'id',
  'method',
  'log_likelihood',
  'mean_log_likelihood',
  'perplexity',
  'heavy_log_likelihood',
  'light_log_likelihood',
] as const satisfies readonly (keyof ScoreRow)[];

/** One row per antibody; `per_residue` only when asked for (the result must then carry the terms). */
export function scoreRow(result: ScoreResult, perResidue = false): ScoreRow & { per_residue?: Float32Array } {
  return {
    id: result.id,
    method: result.method,
    log_likelihood: result.logLikelihood,
    mean_log_likelihood: result.meanLogLikelihood,
    perplexity: result.perplexity,
    heavy_log_likelihood: result.heavyLogLikelihood,
    light_log_likelihood: result.lightLogLikelihood,
    ...(perResidue ? { per_residue: result.perResidue as Float32Array } : {}),
  };
}

export type MutationRow = { id: string; method: MutationMethod; mutations: string; score: number };
export const MUTATION_FIELDS = ['id', 'method', 'mutations', 'score'] as const satisfies readonly (keyof MutationRow)[];

/** One row per (antibody, mutation set). */
export function mutationRow(result: MutationScore): MutationRow {
  return { id: result.id, method: result.method, mutations: result.mutations, score: result.score };
}

export type SubstitutionRow = {
  id: string;
  method: MutationMethod;
  chain: ChainLetter;
  position: number;
  wt: string;
  mut: string;
  score: number;
};
export const SUBSTITUTION_FIELDS = ['id', 'method', 'chain', 'position', 'wt', 'mut', 'score'] as const satisfies readonly (keyof SubstitutionRow)[];

/** One row per substitution of a scan (19 per position: every amino acid but the wild type), position by position. */
export function scanRows(result: ScanResult): SubstitutionRow[] {
  return result.positions.flatMap((position) =>
    [...AMINO_ACIDS].flatMap((mut, a) =>
      mut === position.wildType
        ? []
        : [{ id: result.id, method: result.method, chain: position.chain, position: position.position, wt: position.wildType, mut, score: rounded(position.scores[a] as number) }],
    ),
  );
}

export type FillJson = {
  id: string;
  designs: FillResult['designs'];
  positions: { chain: ChainLetter; position: number; candidates: { residue: string; logprob: number }[] }[];
};

export function fillJson(result: FillResult): FillJson {
  return {
    id: result.id,
    designs: result.designs,
    positions: result.positions.map((p) => ({
      chain: p.chain,
      position: p.position,
      candidates: p.candidates.map((c) => ({ residue: c.residue, logprob: rounded(c.logprob) })),
    })),
  };
}

export type FillDesignRow = { id: string; design: number; heavy: string | null; light: string | null; logprob: number };
export const FILL_DESIGN_FIELDS = ['id', 'design', 'heavy', 'light', 'logprob'] as const satisfies readonly (keyof FillDesignRow)[];

/** Fill results as a flat table (CSV): one row per design, `design` = its rank from 1. */
export function fillDesignRows(result: FillResult): FillDesignRow[] {
  return result.designs.map((d, k) => ({ id: result.id, design: k + 1, heavy: d.heavy, light: d.light, logprob: d.logprob }));
}
