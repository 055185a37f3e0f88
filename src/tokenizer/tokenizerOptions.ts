/** The tokenizer's settings as data: what bertTokenizer.ts takes and _tokenizerConfig.ts reads from a checkpoint. */

export type SpecialTokenName = 'pad' | 'unk' | 'cls' | 'sep' | 'mask';

/** The settings of tokenizer_config.json, under camelCase names. Absent = Hugging Face's BertTokenizer default. */
export interface BertTokenizerOptions {
  /** Lower-case the text (default true, as BertTokenizer's; IgBert's tokenizer_config.json says false). */
  doLowerCase?: boolean;
  /** Strip accents; null or absent = follow doLowerCase. */
  stripAccents?: boolean | null;
  /** Put spaces around CJK ideographs (default true). */
  tokenizeChineseChars?: boolean;
  /** Special token texts (defaults [PAD] [UNK] [CLS] [SEP] [MASK]); each must be in the vocabulary. */
  specialTokens?: Partial<Record<SpecialTokenName, string>>;
  /** More tokens cut out of the raw text like special tokens (additional/extra_special_tokens, added tokens). */
  additionalSpecialTokens?: readonly string[];
  /** model_max_length when the checkpoint sets a real limit; informational (max_position_embeddings is the limit). */
  modelMaxLength?: number;
  /** Side that encodeBatch pads (default right). */
  paddingSide?: 'right' | 'left';
}
