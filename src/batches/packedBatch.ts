/**
 * A batch as every engine receives it: the sequences' token ids end to end (no padding), their lengths, and what
 * each sequence needs back. An engine that wants padding pads it itself (src/runtime/ort/paddedBatch.ts).
 */
import type { ForwardItem, ForwardOptions, SequenceRequest } from './requests.js';

export interface PackedBatch {
  /** Token ids of every sequence, concatenated: [tokens]. */
  readonly inputIds: Int32Array;
  readonly tokenTypeIds: Int32Array;
  /** Tokens of each sequence: [sequences]. */
  readonly lengths: Int32Array;
  /** Where each sequence starts in the packed arrays: [sequences + 1] (the last is the token count). */
  readonly offsets: Int32Array;
  readonly requests: readonly SequenceRequest[];
  readonly options: ForwardOptions;
}

export function packBatch(items: readonly ForwardItem[], options: ForwardOptions): PackedBatch {
  const offsets = new Int32Array(items.length + 1);
  items.forEach((item, i) => (offsets[i + 1] = (offsets[i] as number) + item.tokens.inputIds.length));
  const total = offsets[items.length] as number;
  const inputIds = new Int32Array(total);
  const tokenTypeIds = new Int32Array(total);
  const lengths = new Int32Array(items.length);
  items.forEach(({ tokens }, i) => {
    inputIds.set(tokens.inputIds, offsets[i]);
    tokenTypeIds.set(tokens.tokenTypeIds, offsets[i]);
    lengths[i] = tokens.inputIds.length;
  });
  return { inputIds, tokenTypeIds, lengths, offsets, requests: items.map((item) => item.request), options };
}
