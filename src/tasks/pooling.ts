/**
 * Sequence embeddings from one record's hidden states. `mean` is the model card's recipe exactly: the mean over
 * tokens whose special_tokens_mask is 0 — which, as in transformers, includes the [SEP] written between the chains
 * (and any [MASK]). The other poolings are cleaner variants, documented in the README.
 */
import { chainLetter } from '../chains.js';
import { InputError, UsageError } from '../errors.js';
import type { EncodedAntibody } from '../tokenizer/antibody.js';

export const POOLINGS = ['mean', 'residues-mean', 'heavy-mean', 'light-mean', 'cls', 'pooler'] as const;
export type Pooling = (typeof POOLINGS)[number];

export function parsePooling(value: string): Pooling {
  if ((POOLINGS as readonly string[]).includes(value)) return value as Pooling;
  throw new UsageError(`unknown pooling ${JSON.stringify(value)}; choose one of ${POOLINGS.join(', ')}.`);
}

/** Token rows of one record's residues: heavy residues then light residues (no [CLS], no separator, no final [SEP]). */
export function residueRows(record: EncodedAntibody): number[] {
  const rows: number[] = [];
  for (let i = 0; i < record.heavy.length; i++) rows.push(record.heavyStart + i);
  for (let i = 0; i < record.light.length; i++) rows.push(record.lightStart + i);
  return rows;
}

/** Throws when the record lacks the chain a pooling averages (heavy-mean, light-mean): the only way one can fail. */
export function checkPooling(record: EncodedAntibody, pooling: Pooling, recordNumber: number): void {
  if (pooling !== 'heavy-mean' && pooling !== 'light-mean') return;
  const chain = pooling === 'heavy-mean' ? 'heavy' : 'light';
  if (record[chain].length === 0) {
    throw new InputError(
      `record ${recordNumber} (id ${JSON.stringify(record.id)}) has no ${chain} chain, so ${pooling} pooling is undefined; ` +
        `use --pooling mean or residues-mean, or give the ${chain} chain.`,
      { record: recordNumber, id: record.id, chain: chainLetter(chain) },
    );
  }
}

/** The token rows a pooling averages (or the single row for cls). Throws when the record lacks the chain asked for. */
export function poolingRows(record: EncodedAntibody, pooling: Exclude<Pooling, 'pooler'>, recordNumber: number): number[] {
  checkPooling(record, pooling, recordNumber);
  switch (pooling) {
    case 'mean': {
      const mask = record.specialTokensMask;
      const rows: number[] = [];
      for (let row = 0; row < mask.length; row++) if (mask[row] === 0) rows.push(row);
      return rows;
    }
    case 'residues-mean':
      return residueRows(record);
    case 'cls':
      return [0];
    case 'heavy-mean':
    case 'light-mean': {
      const chain = pooling === 'heavy-mean' ? 'heavy' : 'light';
      const start = chain === 'heavy' ? record.heavyStart : record.lightStart;
      return Array.from({ length: record[chain].length }, (_, i) => start + i);
    }
  }
}
