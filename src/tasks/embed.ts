/**
 * Sequence and residue embeddings from the last (or a chosen) hidden state, as the IgBert model card computes them.
 */
import type { BatchListener } from '../batches/progress.js';
import type { ForwardItem } from '../batches/requests.js';
import { UsageError } from '../errors.js';
import type { AntibodyRecord, EncodedAntibody } from '../tokenizer/antibody.js';
import { poolingRows, residueRows, type Pooling } from './pooling.js';
import type { TaskModel } from './taskModel.js';

export interface EmbedOptions {
  /** Default "mean" (the model card's recipe, separator included). */
  pooling?: Pooling;
  /** hidden_states index: 0 = embedding output, num_hidden_layers (default) = last layer, negative from the end. */
  layer?: number;
  /** Also return one row per residue (heavy then light; no special tokens, no separator). */
  residues?: boolean;
  /** Called after each batch (progress). */
  onBatch?: BatchListener;
}

export interface EmbeddingResult {
  id: string;
  embedding: Float32Array;
  /** Present with `residues: true`: one Float32Array of hidden_size per residue. */
  residueEmbeddings?: Float32Array[];
}

/** Embeds already-encoded records; results in input order. Messages name each record by its number (encoded.record). */
export async function embedEncoded(
  model: TaskModel,
  encoded: readonly EncodedAntibody[],
  options: EmbedOptions = {},
): Promise<EmbeddingResult[]> {
  const pooling = options.pooling ?? 'mean';
  const layer = model.resolveLayer(options.layer);
  const H = model.config.hidden_size;
  if (pooling === 'pooler' && options.layer !== undefined && layer !== model.config.num_hidden_layers) {
    throw new UsageError('pooling "pooler" is defined on the last layer only; drop --layer or choose another pooling.');
  }
  // Every record is checked against the pooling before any compute, so a bad record fails fast.
  const items: ForwardItem[] = encoded.map((record) => ({
    tokens: record,
    location: { record: record.record, id: record.id },
    request: {
      ...(pooling === 'pooler' ? { pooler: true } : { means: [poolingRows(record, pooling, record.record)] }),
      ...(options.residues ? { rows: residueRows(record) } : {}),
    },
  }));
  const results: EmbeddingResult[] = new Array(encoded.length);
  await model.forward(
    items,
    { layer },
    (index, output) => {
      const embedding = pooling === 'pooler' ? output.pooler : output.means[0];
      if (!embedding) throw new Error(`the engine returned no ${pooling} embedding`);
      const result: EmbeddingResult = { id: (encoded[index] as EncodedAntibody).id, embedding };
      if (options.residues) {
        const rows = output.rows ?? new Float32Array(0);
        result.residueEmbeddings = Array.from({ length: rows.length / H }, (_, r) => rows.slice(r * H, (r + 1) * H));
      }
      results[index] = result;
    },
    options.onBatch,
  );
  return results;
}

/** Validates, tokenises and embeds antibody records. */
export async function embed(model: TaskModel, records: readonly AntibodyRecord[], options: EmbedOptions = {}): Promise<EmbeddingResult[]> {
  return embedEncoded(model, model.encode(records), options);
}
