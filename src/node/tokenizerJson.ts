/**
 * tokenizer.json — the Hugging Face `tokenizers` format that transformers.js and the tokenizers library load — for a
 * BertTokenizer: what transformers 5 saves for the same vocab.txt and tokenizer_config.json (BertNormalizer,
 * BertPreTokenizer, WordPiece, "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B [SEP]"). Compared with Hugging Face's own, per
 * tokenizer configuration, in test/convertedFolder.test.ts. Nothing here needs Node: it could serve the browser too.
 */
import type { BertTokenizer } from '../tokenizer/bertTokenizer.js';

/** WordPiece settings transformers 5 fixes for BertTokenizer (as src/tokenizer/bertTokenizer.ts does). */
const CONTINUING_SUBWORD_PREFIX = '##';
const MAX_INPUT_CHARS_PER_WORD = 100;

export function bertTokenizerJson(tokenizer: BertTokenizer): Record<string, unknown> {
  const { vocabulary, specialTokens } = tokenizer;
  const idOf = (token: string): number => vocabulary.id(token) as number; // BertTokenizer checked every special token
  const added = [...new Set([...Object.values(specialTokens), ...tokenizer.additionalSpecialTokens])]
    .filter((content) => content !== '')
    .map((content) => ({ id: idOf(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
    .sort((a, b) => a.id - b.id);
  const token = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  const { cls, sep, unk } = specialTokens;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: tokenizer.tokenizeChineseChars,
      // null = "as lowercase", which is what tokenizer_config.json's null or absent strip_accents means.
      strip_accents: tokenizer.stripAccents === tokenizer.doLowerCase ? null : tokenizer.stripAccents,
      lowercase: tokenizer.doLowerCase,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [token(cls, 0), sequence('A', 0), token(sep, 0)],
      pair: [token(cls, 0), sequence('A', 0), token(sep, 0), sequence('B', 1), token(sep, 1)],
      special_tokens: Object.fromEntries([cls, sep].map((content) => [content, { id: content, ids: [idOf(content)], tokens: [content] }])),
    },
    decoder: { type: 'WordPiece', prefix: CONTINUING_SUBWORD_PREFIX, cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: unk,
      continuing_subword_prefix: CONTINUING_SUBWORD_PREFIX,
      max_input_chars_per_word: MAX_INPUT_CHARS_PER_WORD,
      vocab: Object.fromEntries(vocabulary.tokens.map((content, id) => [content, id])),
    },
  };
}
