/**
 * Mutation effects from the masked-LM head, as differences of natural-log probabilities (full-vocabulary
 * log-softmax), following ESM's conventions:
 *   masked-marginal  all sites of a mutation set masked together in one pass; score = sum over sites of
 *                    log p(mutant) - log p(wild type)   (ESM "masked-marginals", the default)
 *   wt-marginal      the same sum read from one unmasked pass of the wild type
 * Deep mutational scans (every amino acid at every position) are in scan.ts.
 *
 * Mutations are written "H:S30A" (chain H or L, wild-type letter, 1-based position within the chain, mutant letter);
 * a set joins mutations with ",", several sets are separated by ";".
 */
import type { TaskModel } from './taskModel.js';
import { describeLocation, InputError, UsageError, type InputLocation } from '../errors.js';
import type { ChainLetter } from '../chains.js';
import { residueAlphabet, type AntibodyRecord, type EncodedAntibody, type RecordLocation } from '../tokenizer/antibody.js';
import { runItemPasses } from './_masking.js';
import { recordLocation, requireNoMasks, residueAt } from './positions.js';

export const MUTATION_METHODS = ['masked-marginal', 'wt-marginal'] as const;
export type MutationMethod = (typeof MUTATION_METHODS)[number];

export interface Mutation {
  /** H or L. */
  chain: ChainLetter;
  /** 1-based within the chain. */
  position: number;
  wildType: string;
  mutant: string;
}

export interface MutationScore {
  id: string;
  method: MutationMethod;
  /** The set in canonical text form, e.g. "H:S30A,L:Y49F". */
  mutations: string;
  /** Sum over sites of log p(mutant) - log p(wild type). */
  score: number;
  /** The same difference for each site, in the order of the set. */
  siteScores: number[];
}

export interface MutateOptions {
  /** Default "masked-marginal". */
  method?: MutationMethod;
  /** Mutation sets for every record that has none of its own: text ("H:S30A,L:Y49F;H:S30G") or parsed sets. */
  mutations?: string | readonly (readonly Mutation[])[];
}

/** A record with its own mutation sets (text or parsed); they take precedence over MutateOptions.mutations. */
export type MutationRecord = AntibodyRecord & { mutations?: string | readonly (readonly Mutation[])[] };

const MUTATION = /^([HL]):([A-Z*])(\d+)([A-Z*])$/i;

export function checkMutationMethod(method: string): asserts method is MutationMethod {
  if (!(MUTATION_METHODS as readonly string[]).includes(method)) {
    throw new UsageError(`mutation method must be one of ${MUTATION_METHODS.join(', ')}; got ${JSON.stringify(method)}.`);
  }
}

export function formatMutation(m: Mutation): string {
  return `${m.chain}:${m.wildType}${m.position}${m.mutant}`;
}

export const formatMutationSet = (set: readonly Mutation[]): string => set.map(formatMutation).join(',');

/**
 * Parses "H:S30A,L:Y49F;H:S30G" (sets separated by ";", mutations by ",", spaces ignored). Syntax errors are
 * InputErrors naming `where` (the record) and the offending item.
 */
export function parseMutationSets(text: string, where?: RecordLocation): Mutation[][] {
  const prefix = where ? `${describeLocation(where)}: ` : '';
  const fail = (message: string): never => {
    throw new InputError(`${prefix}${message}`, where ?? {});
  };
  const sets = text.split(';').map((set) => set.split(',').map((item) => item.replace(/\s+/g, '')).filter((item) => item !== ''));
  const nonEmpty = sets.filter((set) => set.length > 0);
  if (nonEmpty.length === 0) fail(`no mutations in ${JSON.stringify(text)}; write e.g. "H:S30A,L:Y49F" (several sets separated by ";").`);
  return nonEmpty.map((set) =>
    set.map((item) => {
      const match = MUTATION.exec(item);
      if (!match) {
        return fail(
          `${JSON.stringify(item)} is not a mutation; write chain:wild-type letter, 1-based position, mutant letter, ` +
            'e.g. "H:S30A" (serine 30 of the heavy chain to alanine).',
        );
      }
      return {
        chain: (match[1] as string).toUpperCase() as ChainLetter,
        position: Number(match[3]),
        wildType: (match[2] as string).toUpperCase(),
        mutant: (match[4] as string).toUpperCase(),
      };
    }),
  );
}

interface Site {
  tokenIndex: number;
  wildTypeId: number;
  mutantId: number;
}

/** One record with its mutation sets checked against its sequence, ready to score. */
export interface PreparedMutations {
  encoded: EncodedAntibody;
  sets: { text: string; sites: Site[] }[];
}

/**
 * Checks every mutation against the record: the position exists, the wild-type letter is the residue there, the
 * mutant is a residue of the vocabulary, no site appears twice in a set. Errors are InputErrors naming record,
 * chain and position.
 */
export function prepareMutations(
  model: TaskModel,
  encoded: EncodedAntibody,
  sets: readonly (readonly Mutation[])[],
  recordNumber: number,
): PreparedMutations {
  const where = recordLocation(encoded, recordNumber);
  requireNoMasks(encoded, where, 'mutated');
  if (sets.length === 0) throw new InputError(`${describeLocation(where)}: no mutation sets given.`, where);
  const residues = residueAlphabet(model.tokenizer.vocabulary);
  const vocabId = (letter: string): number => model.tokenizer.vocabulary.id(letter) as number;
  return {
    encoded,
    sets: sets.map((set) => {
      if (set.length === 0) throw new InputError(`${describeLocation(where)}: a mutation set is empty.`, where);
      const seen = new Set<number>();
      const sites = set.map((mutation) => {
        const location: InputLocation = { ...where, chain: mutation.chain, position: mutation.position };
        const at = residueAt(encoded, mutation.chain, mutation.position, where);
        const text = formatMutation(mutation);
        if (at.residue !== mutation.wildType) {
          throw new InputError(
            `${describeLocation(location)}: ${text} says the wild type is ${mutation.wildType}, but the sequence has ` +
              `${at.residue} there. Positions are 1-based within the chain; check the numbering.`,
            { ...location, character: at.residue },
          );
        }
        if (!residues.has(mutation.mutant)) {
          throw new InputError(
            `${describeLocation(location)}: ${text}: mutant ${JSON.stringify(mutation.mutant)} is not a residue of the model's vocabulary.`,
            location,
          );
        }
        if (seen.has(at.tokenIndex)) {
          throw new InputError(`${describeLocation(location)}: ${text}: the set lists this position twice.`, location);
        }
        seen.add(at.tokenIndex);
        return { tokenIndex: at.tokenIndex, wildTypeId: vocabId(mutation.wildType), mutantId: vocabId(mutation.mutant) };
      });
      return { text: formatMutationSet(set), sites };
    }),
  };
}

/** Scores prepared mutation sets; one result per (record, set), records in input order, sets in their order. */
export async function mutateEncoded(
  model: TaskModel,
  prepared: readonly PreparedMutations[],
  method: MutationMethod = 'masked-marginal',
): Promise<MutationScore[]> {
  checkMutationMethod(method);
  const siteScores = prepared.map(({ sets }) => sets.map(({ sites }) => new Array<number>(sites.length).fill(0)));
  const itemMasks = prepared.map(({ sets }) => sets.map(({ sites }) => sites.map((site) => site.tokenIndex)));
  // masked-marginal: one pass per set with all its sites masked; wt-marginal: one unmasked pass per record.
  await runItemPasses(model, prepared.map((p) => p.encoded), itemMasks, method === 'masked-marginal', (record, set, logProbsAt) => {
    const sites = (prepared[record] as PreparedMutations).sets[set]?.sites as Site[];
    sites.forEach(({ tokenIndex, wildTypeId, mutantId }, i) => {
      const row = logProbsAt(tokenIndex);
      (siteScores[record]?.[set] as number[])[i] = (row[mutantId] as number) - (row[wildTypeId] as number);
    });
  });
  return prepared.flatMap(({ encoded, sets }, record) =>
    sets.map(({ text }, set) => {
      const scores = siteScores[record]?.[set] as number[];
      return { id: encoded.id, method, mutations: text, score: scores.reduce((a, b) => a + b, 0), siteScores: scores };
    }),
  );
}

/** Validates, tokenises and scores the mutation sets of each record (its own, else `options.mutations`). */
export async function mutate(model: TaskModel, records: readonly MutationRecord[], options: MutateOptions = {}): Promise<MutationScore[]> {
  const encoded = model.encode(records);
  const prepared = encoded.map((item, i) => {
    const where = recordLocation(item, i + 1);
    const given = records[i]?.mutations ?? options.mutations;
    if (given === undefined) {
      throw new InputError(`${describeLocation(where)} has no mutations; pass them on the record or in options.mutations.`, where);
    }
    return prepareMutations(model, item, typeof given === 'string' ? parseMutationSets(given, where) : given, i + 1);
  });
  return mutateEncoded(model, prepared, options.method);
}
