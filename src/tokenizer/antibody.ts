/**
 * Antibody records -> validated model inputs.
 *
 * The IgBert model card feeds a paired antibody as the text `' '.join(heavy) + ' [SEP] ' + ' '.join(light)`. We build
 * the same tokens directly from validated residues (no text round trip), and the tests prove that the result equals
 * `BertTokenizer.encode(modelCardText(...))`, which itself equals Hugging Face's. That includes one Hugging Face
 * quirk we keep on purpose: the middle [SEP] comes from the text, so its special_tokens_mask is 0; only [CLS] and
 * the final [SEP] are 1.
 *
 * Validation is strict where the raw tokenizer is lenient: Hugging Face turns "EVQL" (unspaced), "e" (lower case
 * with do_lower_case false), "-" and "." into [UNK] without a word. Here whitespace is removed and letters are
 * upper-cased (documented normalisation); any other character is an InputError naming record, chain and position.
 */
import { chainLetter, type Chain } from '../chains.js';
import { describeLocation, excerpt, InputError, type InputLocation } from '../errors.js';
import type { BertTokenizer } from './bertTokenizer.js';
import type { Vocabulary } from './vocabulary.js';

export type { Chain } from '../chains.js';

/** One antibody: a heavy chain, a light chain, or both. Residues as one-letter codes; '*' marks a masked residue. */
export interface AntibodyRecord {
  id?: string;
  heavy?: string | null;
  light?: string | null;
}

/** A 1-based record number and, when the record has one, its id: where errors point. */
export interface RecordLocation {
  record: number;
  id?: string;
}

export interface EncodedAntibody {
  /** record.id, or the record number as text when the record has no id. */
  id: string;
  /** The 1-based record number it was encoded as (where messages about it point). */
  record: number;
  /** Normalised chains ('' when absent). */
  heavy: string;
  light: string;
  /** [CLS] heavy [SEP] light [SEP], or [CLS] chain [SEP] for a single chain. */
  inputIds: Int32Array;
  /** All 0: the model card encodes the pair as one sequence. */
  tokenTypeIds: Int32Array;
  /** 1 for [CLS] and the final [SEP] only (Hugging Face gives the middle [SEP] 0). */
  specialTokensMask: Uint8Array;
  /** Token index of the first residue of each chain; -1 when the chain is absent. */
  heavyStart: number;
  lightStart: number;
  /** Token indices of residues written as '*' ([MASK]). */
  maskedTokenPositions: number[];
}

/** The character that stands for a masked residue in a chain. */
export const MASK_CHARACTER = '*';
const MASK_CODE = MASK_CHARACTER.charCodeAt(0);
/** IgBert's (and ProtBert's) residue tokens: the 20 standard amino acids plus X U B Z O. */
export const IGBERT_RESIDUES: ReadonlySet<string> = new Set('LAGVESIKRDTPNQFYMHCWXUBZO');
const GAP_CHARACTERS = new Set(['-', '.']);
const NON_ASCII_WHITESPACE = /\s/u;

/** The residue letters of a vocabulary: its single-token upper-case letters A-Z. */
export function residueAlphabet(vocabulary: Vocabulary): ReadonlySet<string> {
  const residues = new Set<string>();
  for (let code = 65; code <= 90; code += 1) {
    const letter = String.fromCharCode(code);
    if (vocabulary.has(letter)) residues.add(letter);
  }
  return residues;
}

// Every record is validated and tokenised with the same alphabet and vocabulary: what they say per character code is
// worked out once for each (the pipeline encodes 10^5-10^6 records).
const alphabets = new WeakMap<Vocabulary, ReadonlySet<string>>();
const normalizedCodes = new WeakMap<ReadonlySet<string>, Uint8Array>();
const residueIds = new WeakMap<Vocabulary, Int32Array>();

function cachedAlphabet(vocabulary: Vocabulary): ReadonlySet<string> {
  let residues = alphabets.get(vocabulary);
  if (!residues) alphabets.set(vocabulary, (residues = residueAlphabet(vocabulary)));
  return residues;
}

/**
 * By ASCII code, 1 for a character that `normalizeChain` keeps as it is: a residue of `residues` or the mask, neither
 * whitespace nor a lower-case letter (both of which it changes).
 */
function keptAsIs(residues: ReadonlySet<string>): Uint8Array {
  let codes = normalizedCodes.get(residues);
  if (!codes) {
    codes = new Uint8Array(128);
    for (let code = 0; code < 128; code++) {
      const char = String.fromCharCode(code);
      const changed = isWhitespace(char) || (char >= 'a' && char <= 'z');
      codes[code] = !changed && (char === MASK_CHARACTER || residues.has(char)) ? 1 : 0;
    }
    normalizedCodes.set(residues, codes);
  }
  return codes;
}

/** By ASCII code, the token id of each upper-case letter the vocabulary has as a token; -1 for the others. */
function letterIds(vocabulary: Vocabulary): Int32Array {
  let ids = residueIds.get(vocabulary);
  if (!ids) {
    ids = new Int32Array(128).fill(-1);
    for (let code = 65; code <= 90; code += 1) ids[code] = vocabulary.id(String.fromCharCode(code)) ?? -1;
    residueIds.set(vocabulary, ids);
  }
  return ids;
}

function isWhitespace(char: string): boolean {
  const code = char.charCodeAt(0);
  if (code < 128) return code === 32 || (code >= 9 && code <= 13);
  return NON_ASCII_WHITESPACE.test(char);
}

function invalidCharacter(char: string, location: InputLocation, residues: ReadonlySet<string>): InputError {
  const letters = [...residues].sort().join('');
  const upper = char.toUpperCase();
  let hint: string;
  if (GAP_CHARACTERS.has(char)) {
    hint = 'gaps are not residues: remove them from aligned sequences';
  } else if (upper.length === 1 && upper >= 'A' && upper <= 'Z') {
    hint = `${JSON.stringify(upper)} is not a residue in the model's vocabulary (${letters}); write X for an unknown residue`;
  } else {
    hint =
      `only amino-acid letters (${letters}, either case) and ${MASK_CHARACTER} for a masked residue are allowed; ` +
      'whitespace is ignored';
  }
  return new InputError(`${describeLocation(location)}: character ${excerpt(char)} is not allowed: ${hint}.`, location);
}

/**
 * Removes all whitespace and upper-cases; returns the chain as residue letters and '*'. Any other character is an
 * InputError whose location holds the record, id, chain, 1-based position in the normalised chain and the character.
 */
export function normalizeChain(
  sequence: string,
  chain: Chain,
  location: RecordLocation,
  residues: ReadonlySet<string> = IGBERT_RESIDUES,
): string {
  // Most chains are already upper-case residues: they are returned as they are, without building a copy.
  const kept = keptAsIs(residues);
  let asIs = true;
  for (let i = 0; i < sequence.length && asIs; i++) {
    const code = sequence.charCodeAt(i);
    asIs = code < 128 && kept[code] === 1;
  }
  if (asIs) return sequence;
  let normalized = '';
  for (const char of sequence) {
    if (isWhitespace(char)) continue;
    const residue = char >= 'a' && char <= 'z' ? char.toUpperCase() : char;
    if (residue !== MASK_CHARACTER && !residues.has(residue)) {
      // normalized holds ASCII only, so its length is the residue count.
      throw invalidCharacter(char, { ...location, chain: chainLetter(chain), position: normalized.length + 1, character: char }, residues);
    }
    normalized += residue;
  }
  return normalized;
}

function chainOf(
  value: unknown,
  chain: Chain,
  location: RecordLocation,
  residues: ReadonlySet<string>,
): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') {
    const where: InputLocation = { ...location, chain: chainLetter(chain) };
    throw new InputError(`${describeLocation(where)}: the chain must be text, found ${JSON.stringify(value)}.`, where);
  }
  return normalizeChain(value, chain, location, residues);
}

/**
 * The model-card text for normalised chains: residues separated by spaces, '*' written as the mask token, chains
 * joined by " [SEP] ". Pass `tokenizer.specialTokens` when the checkpoint renames them.
 */
export function modelCardText(
  heavy: string,
  light: string,
  specialTokens: { sep: string; mask: string } = { sep: '[SEP]', mask: '[MASK]' },
): string {
  const spaced = (chain: string): string =>
    Array.from(chain, (residue) => (residue === MASK_CHARACTER ? specialTokens.mask : residue)).join(' ');
  if (heavy !== '' && light !== '') return `${spaced(heavy)} ${specialTokens.sep} ${spaced(light)}`;
  return spaced(heavy !== '' ? heavy : light);
}

/**
 * Validates one record (1-based `recordNumber`) and builds its tokens. More than `maxPositions` tokens
 * (max_position_embeddings) is an InputError with code SEQUENCE_TOO_LONG: nothing is ever truncated.
 */
export function encodeAntibody(
  record: AntibodyRecord,
  recordNumber: number,
  tokenizer: BertTokenizer,
  maxPositions: number,
): EncodedAntibody {
  const id = record.id == null ? '' : String(record.id);
  const location: RecordLocation = id !== '' ? { record: recordNumber, id } : { record: recordNumber };
  const residues = cachedAlphabet(tokenizer.vocabulary);
  const heavy = chainOf(record.heavy, 'heavy', location, residues);
  const light = chainOf(record.light, 'light', location, residues);
  if (heavy === '' && light === '') {
    throw new InputError(
      `${describeLocation(location)} has neither a heavy nor a light chain (both are empty or missing); ` +
        'give at least one chain.',
      location,
    );
  }
  const specialCount = heavy !== '' && light !== '' ? 3 : 2;
  const length = heavy.length + light.length + specialCount;
  if (length > maxPositions) {
    throw new InputError(
      `${describeLocation(location)}: ${length} tokens (${heavy.length} heavy + ${light.length} light residues + ` +
        `${specialCount} special tokens) exceed the model's limit of ${maxPositions} (max_position_embeddings). ` +
        'igbert never truncates silently: shorten or split the sequence.',
      location,
      'SEQUENCE_TOO_LONG',
    );
  }

  const { cls, sep, mask } = tokenizer.specialIds;
  const inputIds = new Int32Array(length);
  const specialTokensMask = new Uint8Array(length);
  const maskedTokenPositions: number[] = [];
  let position = 0;
  const ids = letterIds(tokenizer.vocabulary);
  const pushChain = (chain: string): number => {
    if (chain === '') return -1;
    const start = position;
    // A normalised chain is ASCII: residue letters of the vocabulary and the mask.
    for (let i = 0; i < chain.length; i++) {
      const code = chain.charCodeAt(i);
      if (code === MASK_CODE) maskedTokenPositions.push(position);
      inputIds[position++] = code === MASK_CODE ? mask : (ids[code] as number);
    }
    return start;
  };
  inputIds[position++] = cls;
  const heavyStart = pushChain(heavy);
  if (heavy !== '' && light !== '') inputIds[position++] = sep;
  const lightStart = pushChain(light);
  inputIds[position++] = sep;
  specialTokensMask[0] = 1;
  specialTokensMask[length - 1] = 1;

  return {
    id: id !== '' ? id : String(recordNumber),
    record: recordNumber,
    heavy,
    light,
    inputIds,
    tokenTypeIds: new Int32Array(length),
    specialTokensMask,
    heavyStart,
    lightStart,
    maskedTokenPositions,
  };
}
