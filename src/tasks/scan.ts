/**
 * Deep mutational scan from the masked-LM head: for each scanned position, the score of every standard amino acid,
 * log p(amino acid) - log p(wild type) (natural log, full-vocabulary log-softmax), so the wild type scores 0.
 *   masked-marginal  one pass per position with that residue alone masked (the default)
 *   wt-marginal      all positions read from one unmasked pass of the wild type
 */
import type { TaskModel } from './taskModel.js';
import { UsageError } from '../errors.js';
import { chainOrNull, type ChainLetter } from '../chains.js';
import type { AntibodyRecord, EncodedAntibody } from '../tokenizer/antibody.js';
import { letterIds, runItemPasses } from './_masking.js';
import { AMINO_ACIDS, parseRegions, recordLocation, regionResidues, requireNoMasks, type Region } from './positions.js';
import { checkMutationMethod, type MutationMethod } from './mutate.js';

export interface ScanOptions {
  /** Default "masked-marginal" (one pass per scanned position). */
  method?: MutationMethod;
  /** Regions to scan ("H:95-102,L" or parsed); default every residue of the record. */
  regions?: string | readonly Region[];
}

export interface ScanPosition {
  /** H or L. */
  chain: ChainLetter;
  position: number;
  wildType: string;
  /** Full-vocabulary log p of each amino acid of AMINO_ACIDS at this position. */
  logProbs: Float32Array;
  /** log p(amino acid) - log p(wild type), in AMINO_ACIDS order; 0 for the wild type itself. */
  scores: Float32Array;
}

export interface ScanResult {
  id: string;
  method: MutationMethod;
  /** null when the record has no such chain. */
  heavy: string | null;
  light: string | null;
  positions: ScanPosition[];
}

export interface PreparedScan {
  encoded: EncodedAntibody;
  positions: { chain: ChainLetter; position: number; tokenIndex: number; wildType: string }[];
}

/** Resolves the scan positions of one record; out-of-range regions are InputErrors naming record, chain, position. */
export function prepareScan(encoded: EncodedAntibody, regions: readonly Region[], recordNumber: number): PreparedScan {
  const where = recordLocation(encoded, recordNumber);
  requireNoMasks(encoded, where, 'scanned');
  return {
    encoded,
    positions: regionResidues(encoded, regions, where).map((r) => ({ ...r, wildType: r.residue })),
  };
}

export async function scanEncoded(
  model: TaskModel,
  prepared: readonly PreparedScan[],
  method: MutationMethod = 'masked-marginal',
): Promise<ScanResult[]> {
  checkMutationMethod(method);
  const aminoAcids = letterIds(model, AMINO_ACIDS);
  if (aminoAcids.length !== AMINO_ACIDS.length) {
    throw new UsageError(`${model.source}: the vocabulary lacks some of the 20 amino acids (${AMINO_ACIDS}); cannot scan.`);
  }
  const vocabulary = model.tokenizer.vocabulary;
  const results: ScanResult[] = prepared.map(({ encoded, positions }) => ({
    id: encoded.id,
    method,
    heavy: chainOrNull(encoded.heavy),
    light: chainOrNull(encoded.light),
    positions: positions.map(({ chain, position, wildType }) => ({
      chain,
      position,
      wildType,
      logProbs: new Float32Array(AMINO_ACIDS.length),
      scores: new Float32Array(AMINO_ACIDS.length),
    })),
  }));
  const itemMasks = prepared.map(({ positions }) => positions.map(({ tokenIndex }) => [tokenIndex]));
  // masked-marginal: one pass per position with it masked; wt-marginal: one unmasked pass per record.
  await runItemPasses(model, prepared.map((p) => p.encoded), itemMasks, method === 'masked-marginal', (record, i, logProbsAt) => {
    const { tokenIndex, wildType } = (prepared[record] as PreparedScan).positions[i] as PreparedScan['positions'][number];
    const target = (results[record] as ScanResult).positions[i] as ScanPosition;
    const row = logProbsAt(tokenIndex);
    const wildTypeLogProb = row[vocabulary.id(wildType) as number] as number;
    aminoAcids.forEach(({ id }, a) => {
      target.logProbs[a] = row[id] as number;
      target.scores[a] = (row[id] as number) - wildTypeLogProb;
    });
  });
  return results;
}

/** Deep mutational scan: every standard amino acid at every position of the regions (default: all residues). */
export async function scan(model: TaskModel, records: readonly AntibodyRecord[], options: ScanOptions = {}): Promise<ScanResult[]> {
  const regions = typeof options.regions === 'string' ? parseRegions(options.regions) : (options.regions ?? []);
  const prepared = model.encode(records).map((encoded, i) => prepareScan(encoded, regions, i + 1));
  return scanEncoded(model, prepared, options.method);
}
