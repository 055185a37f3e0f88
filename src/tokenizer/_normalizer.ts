/**
 * BERT text normalisation and pre-tokenisation, as the Hugging Face `tokenizers` library does it (which is what
 * transformers 5's BertTokenizer runs): BertNormalizer (tokenizers/src/normalizers/bert.rs) then BertPreTokenizer
 * (tokenizers/src/pre_tokenizers/bert.rs). The character classes come from _unicodeTables.ts, measured on the real
 * library, because its Unicode tables are older than the JavaScript engine's (see that file).
 */
import {
  CHINESE_RANGES,
  CONTROL_RANGES,
  NFD_DECOMPOSABLE_RANGES,
  NONSPACING_MARK_RANGES,
  PUNCTUATION_RANGES,
  WHITESPACE_RANGES,
} from './_unicodeTables.js';

export interface NormalizerOptions {
  lowercase: boolean;
  stripAccents: boolean;
  handleChineseChars: boolean;
}

/** Whether `codePoint` falls in one of the sorted inclusive ranges [start0, end0, start1, end1, ...]. */
export function inRanges(ranges: readonly number[], codePoint: number): boolean {
  let low = 0;
  let high = ranges.length / 2 - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const start = ranges[2 * middle] as number;
    const end = ranges[2 * middle + 1] as number;
    if (codePoint < start) high = middle - 1;
    else if (codePoint > end) low = middle + 1;
    else return true;
  }
  return false;
}

const isWhitespace = (codePoint: number): boolean => inRanges(WHITESPACE_RANGES, codePoint);

/**
 * NFD as `tokenizers` computes it. A character that the engine decomposes but the library does not (its Unicode data
 * is older: e.g. U+11938, U+105C9) is kept whole; the library sees it as a starter, so canonical reordering never
 * crosses it and the text on either side can be decomposed separately.
 */
function decomposeLikeTokenizers(text: string): string {
  let out = '';
  let segmentStart = 0;
  let index = 0;
  for (const char of text) {
    const codePoint = char.codePointAt(0) as number;
    // Below U+00C0 nothing decomposes.
    if (codePoint >= 0xc0 && !inRanges(NFD_DECOMPOSABLE_RANGES, codePoint) && char.normalize('NFD') !== char) {
      out += text.slice(segmentStart, index).normalize('NFD') + char;
      segmentStart = index + char.length;
    }
    index += char.length;
  }
  return out + text.slice(segmentStart).normalize('NFD');
}

/**
 * BertNormalizer with clean_text on (transformers 5 always sets it), in the library's order: remove control
 * characters and map whitespace to ' ', pad CJK ideographs with spaces, strip accents (NFD, drop non-spacing marks),
 * lowercase. Lowercasing is per character, as Rust's `char::to_lowercase`: no final-sigma rule ("ΣΑΣ" -> "σασ").
 */
export function normalizeBertText(text: string, options: NormalizerOptions): string {
  let out = '';
  for (const char of text) {
    const codePoint = char.codePointAt(0) as number;
    // CONTROL_RANGES leaves out tab, LF and CR, which are whitespace here; the check order matters for U+000B,
    // U+000C and U+0085, which are both White_Space and control: they are removed.
    if (inRanges(CONTROL_RANGES, codePoint)) continue;
    if (isWhitespace(codePoint)) out += ' ';
    else if (options.handleChineseChars && inRanges(CHINESE_RANGES, codePoint)) out += ` ${char} `;
    else out += char;
  }
  if (options.stripAccents) {
    let stripped = '';
    for (const char of decomposeLikeTokenizers(out)) {
      if (!inRanges(NONSPACING_MARK_RANGES, char.codePointAt(0) as number)) stripped += char;
    }
    out = stripped;
  }
  if (options.lowercase) {
    let lowered = '';
    for (const char of out) lowered += char.toLowerCase();
    out = lowered;
  }
  return out;
}

/** BertPreTokenizer: split on whitespace (dropped), then make every punctuation character a word of its own. */
export function preTokenizeBert(text: string): string[] {
  const words: string[] = [];
  let word = '';
  for (const char of text) {
    const codePoint = char.codePointAt(0) as number;
    const whitespace = isWhitespace(codePoint);
    if (whitespace || inRanges(PUNCTUATION_RANGES, codePoint)) {
      if (word !== '') words.push(word);
      word = '';
      if (!whitespace) words.push(char);
    } else {
      word += char;
    }
  }
  if (word !== '') words.push(word);
  return words;
}
