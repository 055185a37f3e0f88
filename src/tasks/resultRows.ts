/**
 * The plain-JSON views of fill and scan results that `igbert fill` / `igbert mutate --scan` write and the server's
 * /v1/fill and /v1/mutate return: chains as "H"/"L", float32 values rounded to their shortest round-tripping text.
 */
import { formatFloat32 } from '../io/numbers.js';
import type { FillResult } from './fill.js';
import type { ChainLetter } from '../chains.js';
import { AMINO_ACIDS } from './positions.js';
import type { ScanResult } from './scan.js';

const rounded = (value: number): number => Number(formatFloat32(value));

// Type aliases (not interfaces), so they fit the pipeline's Record-typed result rows.
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
