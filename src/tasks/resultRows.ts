/**
 * The plain-JSON views of score, fill and scan results that `igbert score` / `igbert fill` / `igbert mutate --scan`
 * write and the server's /v1/score, /v1/fill and /v1/mutate return (and the web page's score download holds):
 * snake_case names, chains as "H"/"L", float32 values rounded to their shortest round-tripping text.
 */
import { formatFloat32 } from '../io/numbers.js';
import type { FillResult } from './fill.js';
import type { ChainLetter } from '../chains.js';
import { AMINO_ACIDS } from './positions.js';
import type { ScanResult } from './scan.js';
import type { ScoreMethod, ScoreResult } from './score.js';

const rounded = (value: number): number => Number(formatFloat32(value));

// Type aliases (not interfaces), so they fit the pipeline's Record-typed result rows.
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

export type SubstitutionRow = {
  chain: ChainLetter;
  position: number;
  wt: string;
  mut: string;
  score: number;
};

/** One row per substitution of a scan (19 per position: every amino acid but the wild type), position by position. */
export function scanSubstitutions(result: ScanResult): SubstitutionRow[] {
  return result.positions.flatMap((position) =>
    [...AMINO_ACIDS].flatMap((mut, a) =>
      mut === position.wildType
        ? []
        : [{ chain: position.chain, position: position.position, wt: position.wildType, mut, score: rounded(position.scores[a] as number) }],
    ),
  );
}
