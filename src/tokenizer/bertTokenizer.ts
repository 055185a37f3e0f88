/**
 * BertTokenizer: what Hugging Face transformers 5 computes for
 * `BertTokenizer(text, add_special_tokens=True, return_special_tokens_mask=True)` and, for a list, `padding=True`.
 * transformers 5's BertTokenizer (models/bert/tokenization_bert.py) runs the `tokenizers` library, so that is the
 * behaviour reproduced here, stage by stage:
 *   1. special tokens written in the text are cut out first, on the raw text, case-sensitively and without needing
 *      spaces around them ("E[SEP]V" -> E [SEP] V; "[sep]" and "[ SEP ]" are not special). Leftmost-longest match.
 *   2. every other piece: BertNormalizer, BertPreTokenizer (_normalizer.ts), then WordPiece per word.
 *   3. [CLS] ... [SEP]. special_tokens_mask is 1 only for the [CLS]/[SEP] added here: a [SEP] or [MASK] written in
 *      the text gets 0 (fixture cases "E[SEP]V", "[MASK]").
 * Isomorphic: no Node imports; files are read through the `readText` callback of `fromFiles`.
 */
import { CheckpointError } from '../errors.js';
import { normalizeBertText, preTokenizeBert, type NormalizerOptions } from './_normalizer.js';
import { tokenizerOptionsFromFiles } from './_tokenizerConfig.js';
import type { BertTokenizerOptions, SpecialTokenName } from './tokenizerOptions.js';
import { Vocabulary } from './vocabulary.js';

export type { BertTokenizerOptions, SpecialTokenName } from './tokenizerOptions.js';
export type SpecialTokenIds = Readonly<Record<SpecialTokenName, number>>;

/** One encoded text, as Hugging Face returns it (lists of numbers, [CLS] ... [SEP]). */
export interface Encoding {
  inputIds: number[];
  attentionMask: number[];
  tokenTypeIds: number[];
  specialTokensMask: number[];
}

/** Reads a checkpoint file by name ("vocab.txt", ...); resolves undefined when the file does not exist. */
export type ReadText = (name: string) => Promise<string | undefined>;

const DEFAULT_SPECIAL_TOKENS: Readonly<Record<SpecialTokenName, string>> = {
  pad: '[PAD]',
  unk: '[UNK]',
  cls: '[CLS]',
  sep: '[SEP]',
  mask: '[MASK]',
};
/** WordPiece settings of BertTokenizer (fixed in transformers 5: not read from tokenizer_config.json). */
const MAX_INPUT_CHARS_PER_WORD = 100;
const CONTINUING_SUBWORD_PREFIX = '##';

export class BertTokenizer {
  readonly vocabulary: Vocabulary;
  readonly doLowerCase: boolean;
  readonly stripAccents: boolean;
  readonly tokenizeChineseChars: boolean;
  readonly specialTokens: Readonly<Record<SpecialTokenName, string>>;
  readonly specialIds: SpecialTokenIds;
  readonly additionalSpecialTokens: readonly string[];
  readonly modelMaxLength: number | undefined;
  readonly paddingSide: 'right' | 'left';
  private readonly normalizer: NormalizerOptions;
  /** Added tokens by first UTF-16 unit, longest first, for leftmost-longest matching. */
  private readonly addedByFirstUnit: ReadonlyMap<string, readonly { content: string; id: number }[]>;

  constructor(vocabulary: Vocabulary, options: BertTokenizerOptions = {}) {
    this.vocabulary = vocabulary;
    this.doLowerCase = options.doLowerCase ?? true;
    this.stripAccents = options.stripAccents ?? this.doLowerCase;
    this.tokenizeChineseChars = options.tokenizeChineseChars ?? true;
    this.normalizer = {
      lowercase: this.doLowerCase,
      stripAccents: this.stripAccents,
      handleChineseChars: this.tokenizeChineseChars,
    };
    this.specialTokens = Object.freeze({ ...DEFAULT_SPECIAL_TOKENS, ...options.specialTokens });
    const idOf = (token: string, what: string): number => {
      const id = vocabulary.id(token);
      if (id === undefined) {
        // transformers would append the token with id vocab_size, past the model's embedding matrix.
        throw new CheckpointError(
          `${what} ${JSON.stringify(token)} is not in ${vocabulary.source} (${vocabulary.size} tokens). ` +
            'Add it to the vocabulary or correct tokenizer_config.json / special_tokens_map.json.',
          { details: { file: vocabulary.source, token } },
        );
      }
      return id;
    };
    const specialIds = {} as Record<SpecialTokenName, number>;
    for (const name of Object.keys(DEFAULT_SPECIAL_TOKENS) as SpecialTokenName[]) {
      specialIds[name] = idOf(this.specialTokens[name], `${name}_token`);
    }
    this.specialIds = Object.freeze(specialIds);
    this.additionalSpecialTokens = Object.freeze([...(options.additionalSpecialTokens ?? [])]);
    this.modelMaxLength = options.modelMaxLength;
    this.paddingSide = options.paddingSide ?? 'right';

    const added = new Map<string, { content: string; id: number }[]>();
    const contents = new Set([...Object.values(this.specialTokens), ...this.additionalSpecialTokens]);
    for (const content of contents) {
      if (content === '') continue;
      const entry = { content, id: idOf(content, 'special token') };
      const first = content[0] as string;
      added.set(first, [...(added.get(first) ?? []), entry].sort((a, b) => b.content.length - a.content.length));
    }
    this.addedByFirstUnit = added;
  }

  /**
   * Builds the tokenizer of a checkpoint folder: vocab.txt (required), tokenizer_config.json and
   * special_tokens_map.json (optional; see _tokenizerConfig.ts for how they combine). `source` names the folder in
   * error messages.
   */
  static async fromFiles(readText: ReadText, source?: string): Promise<BertTokenizer> {
    const name = (file: string): string => (source ? `${source}/${file}` : file);
    const [vocabText, configText, mapText] = await Promise.all([
      readText('vocab.txt'),
      readText('tokenizer_config.json'),
      readText('special_tokens_map.json'),
    ]);
    if (vocabText === undefined) {
      throw new CheckpointError(
        `${name('vocab.txt')} is missing. igbert builds the tokenizer from vocab.txt (one token per line); copy it ` +
          'from the model repository (e.g. Exscientia/IgBert) into the checkpoint folder.',
        { details: { file: name('vocab.txt') } },
      );
    }
    const vocabulary = Vocabulary.fromText(vocabText, name('vocab.txt'));
    const options = tokenizerOptionsFromFiles(
      configText,
      mapText,
      name('tokenizer_config.json'),
      name('special_tokens_map.json'),
    );
    return new BertTokenizer(vocabulary, options);
  }

  /** Tokens of `text` without [CLS]/[SEP], like Hugging Face `tokenizer.tokenize(text)`. */
  tokenize(text: string): string[] {
    return this.textIds(text).map((id) => this.vocabulary.token(id) as string);
  }

  /** `tokenizer(text, add_special_tokens=True, return_special_tokens_mask=True)`. */
  encode(text: string): Encoding {
    const inputIds = [this.specialIds.cls, ...this.textIds(text), this.specialIds.sep];
    const specialTokensMask = inputIds.map(() => 0);
    specialTokensMask[0] = 1;
    specialTokensMask[inputIds.length - 1] = 1;
    return {
      inputIds,
      attentionMask: inputIds.map(() => 1),
      tokenTypeIds: inputIds.map(() => 0),
      specialTokensMask,
    };
  }

  /**
   * `tokenizer(texts, padding=True, return_special_tokens_mask=True)`: every encoding padded to the longest with
   * [PAD], attention 0, token type 0 and special_tokens_mask 1 (Hugging Face counts padding as special).
   */
  encodeBatch(texts: readonly string[]): Encoding[] {
    const encodings = texts.map((text) => this.encode(text));
    const length = encodings.reduce((longest, encoding) => Math.max(longest, encoding.inputIds.length), 0);
    return encodings.map((encoding) => {
      const padding = length - encoding.inputIds.length;
      const pad = (values: number[], value: number): number[] => {
        const fill = new Array<number>(padding).fill(value);
        return this.paddingSide === 'left' ? [...fill, ...values] : [...values, ...fill];
      };
      return {
        inputIds: pad(encoding.inputIds, this.specialIds.pad),
        attentionMask: pad(encoding.attentionMask, 0),
        tokenTypeIds: pad(encoding.tokenTypeIds, 0),
        specialTokensMask: pad(encoding.specialTokensMask, 1),
      };
    });
  }

  /** Ids of `text`: special tokens cut out of the raw text, everything between them normalised and WordPiece'd. */
  private textIds(text: string): number[] {
    const ids: number[] = [];
    let pieceStart = 0;
    for (let index = 0; index < text.length; ) {
      const candidates = this.addedByFirstUnit.get(text[index] as string);
      const match = candidates?.find((candidate) => text.startsWith(candidate.content, index));
      if (match === undefined) {
        index += 1;
        continue;
      }
      this.pushPieceIds(text.slice(pieceStart, index), ids);
      ids.push(match.id);
      index += match.content.length;
      pieceStart = index;
    }
    this.pushPieceIds(text.slice(pieceStart), ids);
    return ids;
  }

  private pushPieceIds(piece: string, ids: number[]): void {
    if (piece === '') return;
    for (const word of preTokenizeBert(normalizeBertText(piece, this.normalizer))) this.pushWordPieceIds(word, ids);
  }

  /**
   * WordPiece, greedy longest-match-first: the first piece of a word is looked up as is, later pieces with "##".
   * A word with no complete split, or longer than 100 characters (code points), is a single [UNK].
   */
  private pushWordPieceIds(word: string, ids: number[]): void {
    const chars = Array.from(word);
    if (chars.length > MAX_INPUT_CHARS_PER_WORD) {
      ids.push(this.specialIds.unk);
      return;
    }
    const pieces: number[] = [];
    for (let start = 0; start < chars.length; ) {
      let end = chars.length;
      let id: number | undefined;
      for (; end > start; end -= 1) {
        const piece = chars.slice(start, end).join('');
        id = this.vocabulary.id(start > 0 ? CONTINUING_SUBWORD_PREFIX + piece : piece);
        if (id !== undefined) break;
      }
      if (id === undefined) {
        ids.push(this.specialIds.unk);
        return;
      }
      pieces.push(id);
      start = end;
    }
    ids.push(...pieces);
  }
}
