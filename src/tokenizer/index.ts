/** Tokenizer: vocab.txt, Hugging Face BertTokenizer semantics, and antibody records -> validated model inputs. */
export { Vocabulary } from './vocabulary.js';
export { BertTokenizer } from './bertTokenizer.js';
export type {
  BertTokenizerOptions,
  Encoding,
  ReadText,
  SpecialTokenIds,
  SpecialTokenName,
} from './bertTokenizer.js';
export {
  IGBERT_RESIDUES,
  MASK_CHARACTER,
  encodeAntibody,
  modelCardText,
  normalizeChain,
  residueAlphabet,
} from './antibody.js';
export type { AntibodyRecord, Chain, EncodedAntibody, RecordLocation } from './antibody.js';
