/** Masked-LM logits (or log-probabilities) for every token of each record, as BertForMaskedLM returns them. */
import type { IgBertModel } from '../model.js';
import type { AntibodyRecord, EncodedAntibody } from '../tokenizer/antibody.js';

export interface TokenLogits {
  id: string;
  /** Token ids of the record ([CLS] ... [SEP]), unpadded. */
  inputIds: Int32Array;
  /** Row-major [inputIds.length, vocabSize]. */
  values: Float32Array;
  vocabSize: number;
}

export interface LogitsOptions {
  /** Return log-softmax over the vocabulary (natural log) instead of raw logits. */
  logProbs?: boolean;
}

export async function logitsEncoded(
  model: IgBertModel,
  encoded: readonly EncodedAntibody[],
  options: LogitsOptions = {},
): Promise<TokenLogits[]> {
  const V = model.config.vocab_size;
  const name = options.logProbs ? 'log_probs' : 'logits';
  const results: TokenLogits[] = new Array(encoded.length);
  await model.forward(encoded, options.logProbs ? { logProbs: true } : { logits: true }, (indices, tensors, paddedLength) => {
    const data = (tensors[name] as { data: Float32Array }).data;
    indices.forEach((index, row) => {
      const record = encoded[index] as EncodedAntibody;
      const start = row * paddedLength * V;
      results[index] = {
        id: record.id,
        inputIds: record.inputIds,
        values: data.slice(start, start + record.inputIds.length * V),
        vocabSize: V,
      };
    });
  });
  return results;
}

export async function maskedLogits(model: IgBertModel, records: readonly AntibodyRecord[], options: LogitsOptions = {}): Promise<TokenLogits[]> {
  return logitsEncoded(model, model.encode(records), options);
}
