/**
 * Antibody likelihoods from the masked-LM head. Every term is a natural-log probability from the log-softmax over the
 * full vocabulary, as Hugging Face, AbLang2 and ESM report them:
 *   pll          exact pseudo-log-likelihood: term i = log p(x_i | x with residue i alone masked); one pass per residue
 *   wt-marginal  term i = log p(x_i | x unmasked); one pass per record
 * logLikelihood = sum of terms (the pseudo-log-likelihood for method pll; for wt-marginal the sum of wild-type
 * marginals, which is not one), meanLogLikelihood = their mean, perplexity = exp(-meanLogLikelihood). Terms run over
 * residues, heavy then light; [CLS], the [SEP] between the chains and the final [SEP] are not scored.
 */
import type { TaskModel } from './taskModel.js';
import { UsageError } from '../errors.js';
import type { AntibodyRecord, EncodedAntibody } from '../tokenizer/antibody.js';
import { runItemPasses } from './_masking.js';
import { recordLocation, requireNoMasks, residuePositions, type ResiduePosition } from './positions.js';

export const SCORE_METHODS = ['pll', 'wt-marginal'] as const;
export type ScoreMethod = (typeof SCORE_METHODS)[number];

export interface ScoreOptions {
  /** Default "pll". */
  method?: ScoreMethod;
  /** Also return the term of every residue (heavy then light). */
  perResidue?: boolean;
}

export interface ScoreResult {
  id: string;
  method: ScoreMethod;
  /** Sum of the per-residue terms: the pseudo-log-likelihood for method "pll". */
  logLikelihood: number;
  /** Mean of the per-residue terms. */
  meanLogLikelihood: number;
  /** exp(-meanLogLikelihood). */
  perplexity: number;
  /** Sum over the heavy (light) residues; null when the record has no such chain. */
  heavyLogLikelihood: number | null;
  lightLogLikelihood: number | null;
  /** With perResidue: log p of each residue, heavy then light. */
  perResidue?: Float32Array;
  /** With perResidue: the chain, 1-based position and letter of each term. */
  residues?: ResiduePosition[];
  /** @deprecated Renamed `logLikelihood` (a pseudo-log-likelihood only for method "pll"); removed in 0.3.0. */
  readonly pll: number;
  /** @deprecated Renamed `meanLogLikelihood`; removed in 0.3.0. */
  readonly pllMean: number;
  /** @deprecated Renamed `heavyLogLikelihood`; removed in 0.3.0. */
  readonly heavyPll: number | null;
  /** @deprecated Renamed `lightLogLikelihood`; removed in 0.3.0. */
  readonly lightPll: number | null;
}

/** The names of 0.1, kept one more version as getters that are not enumerable: absent from JSON and Object.keys. */
const DEPRECATED_NAMES = { pll: 'logLikelihood', pllMean: 'meanLogLikelihood', heavyPll: 'heavyLogLikelihood', lightPll: 'lightLogLikelihood' } as const;
type DeprecatedName = keyof typeof DEPRECATED_NAMES;

function withDeprecatedNames(result: Omit<ScoreResult, DeprecatedName>): ScoreResult {
  for (const [old, current] of Object.entries(DEPRECATED_NAMES)) {
    Object.defineProperty(result, old, { get: () => result[current], enumerable: false });
  }
  return result as ScoreResult;
}

/** Throws an InputError for records that cannot be scored (a '*' residue). */
export function checkScorable(encoded: EncodedAntibody, recordNumber: number): void {
  requireNoMasks(encoded, recordLocation(encoded, recordNumber), 'scored');
}

/** Per-residue log-probability terms of each record (heavy then light), by the chosen method. */
export async function residueTerms(model: TaskModel, encoded: readonly EncodedAntibody[], method: ScoreMethod): Promise<Float32Array[]> {
  if (!SCORE_METHODS.includes(method)) {
    throw new UsageError(`score method must be one of ${SCORE_METHODS.join(', ')}; got ${JSON.stringify(method)}.`);
  }
  const tokens = encoded.map((record) => residuePositions(record).map((r) => r.tokenIndex));
  const terms = tokens.map((t) => new Float32Array(t.length));
  const itemMasks = tokens.map((t) => t.map((tokenIndex) => [tokenIndex]));
  await runItemPasses(model, encoded, itemMasks, method === 'pll', (record, term, logProbsAt) => {
    const tokenIndex = tokens[record]?.[term] as number;
    const trueId = encoded[record]?.inputIds[tokenIndex] as number;
    (terms[record] as Float32Array)[term] = logProbsAt(tokenIndex)[trueId] as number;
  });
  return terms;
}

/** Scores already-encoded records (without '*'); results in input order. */
export async function scoreEncoded(
  model: TaskModel,
  encoded: readonly EncodedAntibody[],
  options: ScoreOptions = {},
): Promise<ScoreResult[]> {
  const method = options.method ?? 'pll';
  encoded.forEach((record) => checkScorable(record, record.record));
  const terms = await residueTerms(model, encoded, method);
  return encoded.map((record, i) => {
    const values = terms[i] as Float32Array;
    // Sums in float64 so that long sequences lose nothing beyond the float32 terms themselves.
    let heavy = 0;
    let light = 0;
    for (let k = 0; k < values.length; k++) {
      if (k < record.heavy.length) heavy += values[k] as number;
      else light += values[k] as number;
    }
    const logLikelihood = heavy + light;
    const meanLogLikelihood = logLikelihood / values.length;
    return withDeprecatedNames({
      id: record.id,
      method,
      logLikelihood,
      meanLogLikelihood,
      perplexity: Math.exp(-meanLogLikelihood),
      heavyLogLikelihood: record.heavy !== '' ? heavy : null,
      lightLogLikelihood: record.light !== '' ? light : null,
      ...(options.perResidue ? { perResidue: values, residues: residuePositions(record) } : {}),
    });
  });
}

/** Validates, tokenises and scores antibody records. */
export async function score(model: TaskModel, records: readonly AntibodyRecord[], options: ScoreOptions = {}): Promise<ScoreResult[]> {
  return scoreEncoded(model, model.encode(records), options);
}
