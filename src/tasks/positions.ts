/**
 * Residue positions as antibody engineers write them — chain H or L and a 1-based position within that chain — and
 * their token indices in an EncodedAntibody ([CLS] heavy [SEP] light [SEP]). Shared by score, mutate and fill.
 */
import { CHAIN_LETTERS, chainField, type ChainLetter } from '../chains.js';
import { describeLocation, InputError, UsageError, type InputLocation } from '../errors.js';
import type { EncodedAntibody, RecordLocation } from '../tokenizer/antibody.js';

/** The 20 standard amino acids, in the order of scan matrices and heatmap rows. */
export const AMINO_ACIDS = 'ACDEFGHIKLMNPQRSTVWY';
/** Residue letters in IgBert's vocabulary that are not standard amino acids (unknown, ambiguous, rare). */
export const NON_STANDARD_RESIDUES = 'XBZUO';


export interface ResiduePosition {
  /** H or L. */
  chain: ChainLetter;
  /** 1-based within the chain. */
  position: number;
  /** Index of the residue's token in EncodedAntibody.inputIds. */
  tokenIndex: number;
  /** The residue letter, or '*' for a masked residue. */
  residue: string;
}

/** An inclusive 1-based range of one chain; `end` undefined = to the end of the chain. */
export interface Region {
  chain: ChainLetter;
  start: number;
  end?: number;
}

/** Where a record is, for messages: the id is left out when it is only the record number standing in for one. */
export function recordLocation(encoded: EncodedAntibody, recordNumber: number): RecordLocation {
  return encoded.id === String(recordNumber) ? { record: recordNumber } : { record: recordNumber, id: encoded.id };
}

function chainSequence(encoded: EncodedAntibody, chain: ChainLetter): { sequence: string; start: number } {
  return chain === 'H'
    ? { sequence: encoded.heavy, start: encoded.heavyStart }
    : { sequence: encoded.light, start: encoded.lightStart };
}

/** Every residue, heavy then light (no special tokens, no separator). */
export function residuePositions(encoded: EncodedAntibody): ResiduePosition[] {
  const out: ResiduePosition[] = [];
  for (const chain of CHAIN_LETTERS) {
    const { sequence, start } = chainSequence(encoded, chain);
    for (let i = 0; i < sequence.length; i++) {
      out.push({ chain, position: i + 1, tokenIndex: start + i, residue: sequence[i] as string });
    }
  }
  return out;
}

/** The residue at a 1-based chain position; an InputError naming record, chain and position when it does not exist. */
export function residueAt(encoded: EncodedAntibody, chain: ChainLetter, position: number, where: RecordLocation): ResiduePosition {
  const { sequence, start } = chainSequence(encoded, chain);
  const location: InputLocation = { ...where, chain, position };
  if (sequence === '') {
    throw new InputError(`${describeLocation(location)}: this record has no ${chainField(chain)} chain.`, location);
  }
  if (!Number.isInteger(position) || position < 1 || position > sequence.length) {
    throw new InputError(
      `${describeLocation(location)} is out of range: the ${chainField(chain)} chain has ${sequence.length} residues (positions 1-${sequence.length}).`,
      location,
    );
  }
  return { chain, position, tokenIndex: start + position - 1, residue: sequence[position - 1] as string };
}

/** The residues of regions in the order given (duplicates removed); with no regions, every residue of the record. */
export function regionResidues(encoded: EncodedAntibody, regions: readonly Region[], where: RecordLocation): ResiduePosition[] {
  if (regions.length === 0) return residuePositions(encoded);
  const seen = new Set<number>();
  const out: ResiduePosition[] = [];
  for (const region of regions) {
    const length = chainSequence(encoded, region.chain).sequence.length;
    const end = region.end ?? length;
    // Check both ends first so that an out-of-range region names its own bound.
    residueAt(encoded, region.chain, region.start, where);
    residueAt(encoded, region.chain, end, where);
    for (let position = region.start; position <= end; position++) {
      const residue = residueAt(encoded, region.chain, position, where);
      if (!seen.has(residue.tokenIndex)) out.push(residue);
      seen.add(residue.tokenIndex);
    }
  }
  return out;
}

const REGION = /^([HL])(?::(\d+)(?:-(\d+))?)?$/i;

/**
 * Parses "H", "L", "H:95-102", "L:50" (comma-separated for several) into regions. A syntax error is a UsageError
 * naming the option, since regions are arguments, not input rows.
 */
export function parseRegions(text: string, option = 'region'): Region[] {
  const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (items.length === 0) throw new UsageError(`${option} is empty; write e.g. "H:95-102" or "H,L".`);
  return items.map((item) => {
    const match = REGION.exec(item);
    if (!match) {
      throw new UsageError(
        `${option}: ${JSON.stringify(item)} is not a region; write a chain (H or L), optionally with a 1-based ` +
          'position or inclusive range: "H", "L:50", "H:95-102".',
      );
    }
    const chain = (match[1] as string).toUpperCase() as ChainLetter;
    if (match[2] === undefined) return { chain, start: 1 };
    const start = Number(match[2]);
    const end = match[3] === undefined ? start : Number(match[3]);
    if (start < 1 || end < start) {
      throw new UsageError(`${option}: ${JSON.stringify(item)}: positions are 1-based and the range must not run backwards.`);
    }
    return { chain, start, end };
  });
}

/** Throws an InputError when a record contains '*': likelihoods and mutation effects need every residue known. */
export function requireNoMasks(encoded: EncodedAntibody, where: RecordLocation, task: string): void {
  const masked = residuePositions(encoded).find((r) => r.residue === '*');
  if (!masked) return;
  const location: InputLocation = { ...where, chain: masked.chain, position: masked.position, character: '*' };
  throw new InputError(
    `${describeLocation(location)}: '*' (a masked residue) cannot be ${task}: every residue must be known. ` +
      'Use igbert fill to predict masked residues.',
    location,
  );
}
