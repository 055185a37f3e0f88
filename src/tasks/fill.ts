/**
 * Infilling: predict the residues written '*' (and those of --mask regions) from the masked-LM head.
 *   strategy greedy    the most probable allowed residue
 *            sample    drawn from softmax(log p / temperature) over the allowed residues (optionally the top k),
 *                      with a seeded generator: the same seed and input give the same designs
 *   order    parallel    every mask is filled from one pass
 *            confidence  the mask whose best allowed residue is most probable is filled first, then the model is
 *                        run again on the partly filled sequence, until no mask is left
 * Allowed residues are the 20 standard amino acids (optionally also X B Z U O). Every log-probability reported is the
 * natural log from the full-vocabulary log-softmax; a design's logprob sums, over its masks, the log-probability of
 * the chosen residue in the pass that chose it. Unmasked residues are never changed.
 */
import type { TaskModel } from './taskModel.js';
import { describeLocation, InputError, UsageError } from '../errors.js';
import { SeededRandom } from '../init/random.js';
import { chainOrNull, type ChainLetter } from '../chains.js';
import type { AntibodyRecord, EncodedAntibody } from '../tokenizer/antibody.js';
import { letterIds, runMaskedPasses, type MaskedPass } from './_masking.js';
import { AMINO_ACIDS, NON_STANDARD_RESIDUES, parseRegions, recordLocation, regionResidues, residuePositions, type Region } from './positions.js';

export const FILL_STRATEGIES = ['greedy', 'sample'] as const;
export type FillStrategy = (typeof FILL_STRATEGIES)[number];
export const FILL_ORDERS = ['parallel', 'confidence'] as const;
export type FillOrder = (typeof FILL_ORDERS)[number];

export interface FillOptions {
  /** Default "greedy". */
  strategy?: FillStrategy;
  /** Default "parallel". */
  order?: FillOrder;
  /** sample only: divides the log-probabilities before the softmax; default 1. */
  temperature?: number;
  /** sample only: draw from the k most probable allowed residues; default 0 = all. */
  topK?: number;
  /** sample only: default 0. */
  seed?: number;
  /** Designs per record; default 1 (greedy allows only 1: it is deterministic). */
  num?: number;
  /** Also allow X B Z U O as predictions. */
  allowNonStandard?: boolean;
  /** Extra residues to mask in every record ("H:95-102" or parsed regions). */
  mask?: string | readonly Region[];
  /** Candidates listed per masked position (best first); default all allowed residues. */
  candidates?: number;
}

export interface FillCandidate {
  residue: string;
  /** Full-vocabulary log p in the first pass (every mask in place). */
  logprob: number;
}

export interface FillPosition {
  /** H or L. */
  chain: ChainLetter;
  position: number;
  candidates: FillCandidate[];
}

export interface FillDesign {
  /** null when the record has no such chain. */
  heavy: string | null;
  light: string | null;
  logprob: number;
}

export interface FillResult {
  id: string;
  /** Best first (highest logprob); sampled designs may repeat. */
  designs: FillDesign[];
  positions: FillPosition[];
}

export interface PreparedFill {
  /** The record with the --mask regions written as '*' too. */
  encoded: EncodedAntibody;
  masked: { chain: ChainLetter; position: number; tokenIndex: number }[];
}

/** Applies mask regions and finds every masked residue; a record with none is an InputError. */
export function prepareFill(model: TaskModel, encoded: EncodedAntibody, regions: readonly Region[], recordNumber: number): PreparedFill {
  const where = recordLocation(encoded, recordNumber);
  let record = encoded;
  if (regions.length > 0) {
    const heavy = encoded.heavy.split('');
    const light = encoded.light.split('');
    const inputIds = encoded.inputIds.slice();
    for (const residue of regionResidues(encoded, regions, where)) {
      (residue.chain === 'H' ? heavy : light)[residue.position - 1] = '*';
      inputIds[residue.tokenIndex] = model.tokenizer.specialIds.mask;
    }
    record = { ...encoded, heavy: heavy.join(''), light: light.join(''), inputIds };
  }
  const masked = residuePositions(record).filter((r) => r.residue === '*');
  if (masked.length === 0) {
    throw new InputError(
      `${describeLocation(where)} has no residues to fill: write '*' for each residue to predict, or pass a mask region such as H:95-102.`,
      where,
    );
  }
  return { encoded: { ...record, maskedTokenPositions: masked.map((r) => r.tokenIndex) }, masked };
}

interface ResolvedFillOptions {
  strategy: FillStrategy;
  order: FillOrder;
  temperature: number;
  topK: number;
  seed: number;
  num: number;
  candidates: number;
}

export function resolveFillOptions(options: FillOptions): ResolvedFillOptions {
  const strategy = options.strategy ?? 'greedy';
  const order = options.order ?? 'parallel';
  if (!FILL_STRATEGIES.includes(strategy)) throw new UsageError(`strategy must be one of ${FILL_STRATEGIES.join(', ')}.`);
  if (!FILL_ORDERS.includes(order)) throw new UsageError(`order must be one of ${FILL_ORDERS.join(', ')}.`);
  const num = options.num ?? 1;
  if (!Number.isInteger(num) || num < 1) throw new UsageError(`num must be a positive integer, got ${num}.`);
  if (strategy === 'greedy') {
    if (num > 1) throw new UsageError('greedy filling gives one design; use strategy "sample" for several.');
    if (options.temperature !== undefined || options.topK !== undefined) {
      throw new UsageError('temperature and top-k apply to strategy "sample" only; greedy always takes the most probable residue.');
    }
  }
  const temperature = options.temperature ?? 1;
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new UsageError(`temperature must be a positive number, got ${temperature}.`);
  const topK = options.topK ?? 0;
  if (!Number.isInteger(topK) || topK < 0) throw new UsageError(`top-k must be a non-negative integer (0 = all), got ${topK}.`);
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new UsageError(`seed must be an integer, got ${seed}.`);
  const candidates = options.candidates ?? Infinity;
  if (!(candidates >= 1)) throw new UsageError(`candidates must be at least 1, got ${candidates}.`);
  return { strategy, order, temperature, topK, seed, num, candidates };
}

/** FNV-1a over the text: a design's generator depends on the seed, the input and the design number only. */
function designSeed(seed: number, record: EncodedAntibody, design: number): number {
  let hash = 0x811c9dc5;
  for (const char of `${seed}|${record.heavy}|${record.light}|${design}`) {
    hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  }
  return hash;
}

/** Index (into `logProbs`, the allowed residues) of the chosen residue. */
function choose(logProbs: Float32Array, options: ResolvedFillOptions, random: SeededRandom): number {
  let best = 0;
  for (let i = 1; i < logProbs.length; i++) if ((logProbs[i] as number) > (logProbs[best] as number)) best = i;
  if (options.strategy === 'greedy') return best;
  let order = [...logProbs.keys()].sort((a, b) => (logProbs[b] as number) - (logProbs[a] as number) || a - b);
  if (options.topK > 0) order = order.slice(0, options.topK);
  const max = logProbs[best] as number;
  const weights = order.map((i) => Math.exp(((logProbs[i] as number) - max) / options.temperature));
  let u = random.uniform() * weights.reduce((a, b) => a + b, 0);
  for (const [k, i] of order.entries()) {
    u -= weights[k] as number;
    if (u <= 0) return i;
  }
  return order[order.length - 1] as number;
}

/** A design in progress: its current input ids, the masks still open and the residues chosen so far. */
interface DesignState {
  record: number;
  inputIds: Int32Array;
  open: number[];
  chosen: Map<number, string>;
  logprob: number;
  random: SeededRandom;
}

export async function fillEncoded(model: TaskModel, prepared: readonly PreparedFill[], options: FillOptions = {}): Promise<FillResult[]> {
  const resolved = resolveFillOptions(options);
  const allowed = letterIds(model, AMINO_ACIDS + (options.allowNonStandard ? NON_STANDARD_RESIDUES : ''));
  const allowedLogProbs = (row: Float32Array): Float32Array => Float32Array.from(allowed, ({ id }) => row[id] as number);

  const positions: FillPosition[][] = prepared.map(({ masked }) => masked.map(({ chain, position }) => ({ chain, position, candidates: [] })));
  const states: DesignState[] = prepared.flatMap(({ encoded, masked }, record) =>
    Array.from({ length: resolved.num }, (_, design) => ({
      record,
      inputIds: encoded.inputIds.slice(),
      open: masked.map((m) => m.tokenIndex),
      chosen: new Map<number, string>(),
      logprob: 0,
      random: new SeededRandom(designSeed(resolved.seed, encoded, design)),
    })),
  );

  let firstPass = true;
  for (;;) {
    const active = states.filter((s) => s.open.length > 0);
    if (active.length === 0) break;
    // Designs with the same filled-in sequence share one pass (at the first step, all designs of a record).
    const passes: MaskedPass[] = [];
    const statesOfPass: DesignState[][] = [];
    const passOfKey = new Map<string, number>();
    for (const state of active) {
      const key = `${state.record}:${state.inputIds.join(',')}`;
      let pass = passOfKey.get(key);
      if (pass === undefined) {
        pass = passes.length;
        passOfKey.set(key, pass);
        const { encoded, masked } = prepared[state.record] as PreparedFill;
        passes.push({ source: { ...encoded, inputIds: state.inputIds }, masked: [], reads: masked.map((m) => m.tokenIndex) });
        statesOfPass.push([]);
      }
      (statesOfPass[pass] as DesignState[]).push(state);
    }
    const isFirstPass = firstPass;
    await runMaskedPasses(model, passes, (pass, logProbsAt) => {
      const group = statesOfPass[pass] as DesignState[];
      const record = (group[0] as DesignState).record;
      if (isFirstPass) {
        (prepared[record] as PreparedFill).masked.forEach(({ tokenIndex }, k) => {
          const row = logProbsAt(tokenIndex);
          (positions[record]?.[k] as FillPosition).candidates = allowed
            .map(({ letter, id }) => ({ residue: letter, logprob: row[id] as number }))
            .sort((a, b) => b.logprob - a.logprob)
            .slice(0, resolved.candidates);
        });
      }
      for (const state of group) {
        // parallel: every open mask now; confidence: only the one whose best allowed residue is most probable.
        let targets = state.open;
        if (resolved.order === 'confidence') {
          let best = state.open[0] as number;
          let bestConfidence = -Infinity;
          for (const tokenIndex of state.open) {
            const confidence = Math.max(...allowedLogProbs(logProbsAt(tokenIndex)));
            if (confidence > bestConfidence) [best, bestConfidence] = [tokenIndex, confidence];
          }
          targets = [best];
        }
        for (const tokenIndex of targets) {
          const row = logProbsAt(tokenIndex);
          const pick = allowed[choose(allowedLogProbs(row), resolved, state.random)] as { letter: string; id: number };
          state.inputIds[tokenIndex] = pick.id;
          state.chosen.set(tokenIndex, pick.letter);
          state.logprob += row[pick.id] as number;
        }
        state.open = state.open.filter((t) => !targets.includes(t));
      }
    });
    firstPass = false;
  }

  return prepared.map(({ encoded }, record) => {
    const designs = states
      .filter((s) => s.record === record)
      .map((state) => {
        const letters = residuePositions(encoded).map((r) => (r.residue === '*' ? (state.chosen.get(r.tokenIndex) as string) : r.residue));
        return {
          heavy: chainOrNull(letters.slice(0, encoded.heavy.length).join('')),
          light: chainOrNull(letters.slice(encoded.heavy.length).join('')),
          logprob: state.logprob,
        };
      })
      .sort((a, b) => b.logprob - a.logprob);
    return { id: encoded.id, designs, positions: positions[record] as FillPosition[] };
  });
}

/** Validates, tokenises and fills antibody records ('*' residues and options.mask regions). */
export async function fill(model: TaskModel, records: readonly AntibodyRecord[], options: FillOptions = {}): Promise<FillResult[]> {
  resolveFillOptions(options);
  const regions = typeof options.mask === 'string' ? parseRegions(options.mask, 'mask') : (options.mask ?? []);
  const prepared = model.encode(records).map((encoded, i) => prepareFill(model, encoded, regions, i + 1));
  return fillEncoded(model, prepared, options);
}
