/**
 * Sequence and residue embeddings from the last (or a chosen) hidden state, as the IgBert model card computes them.
 */
import type { IgBertModel } from '../model.js';
import { UsageError } from '../errors.js';
import type { AntibodyRecord, EncodedAntibody } from '../tokenizer/antibody.js';
import { meanOfRows, poolingRows, residueRows, type Pooling } from './pooling.js';

export interface EmbedOptions {
  /** Default "mean" (the model card's recipe, separator included). */
  pooling?: Pooling;
  /** hidden_states index: 0 = embedding output, num_hidden_layers (default) = last layer, negative from the end. */
  layer?: number;
  /** Also return one row per residue (heavy then light; no special tokens, no separator). */
  residues?: boolean;
}

export interface EmbeddingResult {
  id: string;
  embedding: Float32Array;
  /** Present with `residues: true`: one Float32Array of hidden_size per residue. */
  residueEmbeddings?: Float32Array[];
}

/** Embeds already-encoded records; results in input order. `firstRecordNumber` numbers records in messages. */
export async function embedEncoded(
  model: IgBertModel,
  encoded: readonly EncodedAntibody[],
  options: EmbedOptions = {},
  firstRecordNumber = 1,
): Promise<EmbeddingResult[]> {
  const pooling = options.pooling ?? 'mean';
  const layer = model.resolveLayer(options.layer);
  const H = model.config.hidden_size;
  if (pooling === 'pooler' && options.layer !== undefined && layer !== model.config.num_hidden_layers) {
    throw new UsageError('pooling "pooler" is defined on the last layer only; drop --layer or choose another pooling.');
  }
  // Check every record against the pooling before any compute, so a bad record fails fast.
  const rowsByRecord = encoded.map((record, i) =>
    pooling === 'pooler' ? [] : poolingRows(record, pooling, firstRecordNumber + i),
  );
  const results: EmbeddingResult[] = new Array(encoded.length);
  await model.forward(
    encoded,
    { hiddenStateLayer: layer, pooler: pooling === 'pooler' },
    (indices, tensors, paddedLength) => {
      const hidden = tensors['hidden_state'];
      if (!hidden) throw new Error('graph did not return hidden_state');
      indices.forEach((index, row) => {
        const record = encoded[index] as EncodedAntibody;
        const offset = row * paddedLength * H;
        const embedding =
          pooling === 'pooler'
            ? (tensors['pooler_output'] as { data: Float32Array }).data.slice(row * H, (row + 1) * H)
            : meanOfRows(hidden.data, offset, H, rowsByRecord[index] as number[]);
        const result: EmbeddingResult = { id: record.id, embedding };
        if (options.residues) {
          result.residueEmbeddings = residueRows(record).map((r) => hidden.data.slice(offset + r * H, offset + (r + 1) * H));
        }
        results[index] = result;
      });
    },
  );
  return results;
}

/** Validates, tokenises and embeds antibody records. */
export async function embed(model: IgBertModel, records: readonly AntibodyRecord[], options: EmbedOptions = {}): Promise<EmbeddingResult[]> {
  return embedEncoded(model, model.encode(records), options);
}
