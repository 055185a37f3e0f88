/**
 * A WordPiece vocabulary: vocab.txt, one token per line, id = line index (0-based).
 *
 * Read the way transformers 5 reads it: BertTokenizer hands vocab.txt to the `tokenizers` WordPiece model, which
 * splits lines on "\n" and trims trailing whitespace from each (Rust `trim_end`, so "\r", spaces and tabs at the end
 * of a line go). That is not what the legacy `load_vocab` in tokenization_bert.py does (`rstrip("\n")` only), but
 * `load_vocab` is no longer called by transformers 5. Leading whitespace is kept; a blank line is the token "".
 * Where Hugging Face is silent about a broken file (a repeated token keeps the later id and leaves the earlier id
 * without a token) we refuse it instead.
 */
import { CheckpointError } from '../errors.js';

/** Rust `char::is_whitespace` (the Unicode White_Space property), which `str::trim_end` removes. */
const TRAILING_WHITESPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/u;

export class Vocabulary {
  /** Tokens in id order. */
  readonly tokens: readonly string[];
  /** Names the file in error messages. */
  readonly source: string;
  private readonly ids: ReadonlyMap<string, number>;

  constructor(tokens: readonly string[], source = 'vocabulary') {
    if (tokens.length === 0) {
      throw new CheckpointError(
        `${source} holds no tokens. A BERT vocab.txt has one token per line ([PAD], [UNK], [CLS], [SEP], [MASK], ` +
          'then the residues); re-download it with the checkpoint.',
        { details: { file: source } },
      );
    }
    const ids = new Map<string, number>();
    tokens.forEach((token, id) => {
      const earlier = ids.get(token);
      if (earlier !== undefined) {
        throw new CheckpointError(
          `${source} line ${id + 1}: token ${JSON.stringify(token)} already appears on line ${earlier + 1} ` +
            '(after trailing whitespace is trimmed, as transformers does). transformers would silently keep the later ' +
            `id and leave id ${earlier} without a token; make every line a distinct token.`,
          { details: { file: source, line: id + 1, token, firstLine: earlier + 1 } },
        );
      }
      ids.set(token, id);
    });
    this.tokens = Object.freeze([...tokens]);
    this.source = source;
    this.ids = ids;
  }

  /** Parses vocab.txt text. `source` names the file in error messages. */
  static fromText(text: string, source = 'vocab.txt'): Vocabulary {
    if (text.startsWith('\uFEFF')) {
      // transformers would read the first token as "\uFEFF[PAD]" and then append [PAD] at a new id.
      throw new CheckpointError(
        `${source} starts with a byte-order mark (U+FEFF), which transformers would keep as part of the first token. ` +
          'Save the file as UTF-8 without BOM.',
        { details: { file: source, line: 1 } },
      );
    }
    const lines = text.split('\n');
    // A final newline ends the last line; it does not start an empty one (Rust `BufRead::lines`).
    if (lines[lines.length - 1] === '') lines.pop();
    return new Vocabulary(
      lines.map((line) => line.replace(TRAILING_WHITESPACE, '')),
      source,
    );
  }

  get size(): number {
    return this.tokens.length;
  }

  /** The id of a token, or undefined when it is not in the vocabulary. */
  id(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** The token with this id, or undefined when the id is out of range. */
  token(id: number): string | undefined {
    return Number.isInteger(id) ? this.tokens[id] : undefined;
  }

  has(token: string): boolean {
    return this.ids.has(token);
  }
}
