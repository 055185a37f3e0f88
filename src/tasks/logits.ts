/** Masked-LM logits (or log-probabilities) for every token of each record, as BertForMaskedLM returns them. */
import type { AntibodyRecord, EncodedAntibody } from '../tokenizer/antibody.js';
import type { TaskModel } from './taskModel.js';

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
  model: TaskModel,
  encoded: readonly EncodedAntibody[],
  options: LogitsOptions = {},
): Promise<TokenLogits[]> {
  const V = model.config.vocab_size;
  const results: TokenLogits[] = new Array(encoded.length);
  const items = encoded.map((record) => {
    const every = Array.from(record.inputIds, (_, t) => t);
    return { tokens: record, request: options.logProbs ? { logProbs: every } : { logits: every } };
  });
  await model.forward(items, { layer: model.config.num_hidden_layers }, (index, output) => {
    const record = encoded[index] as EncodedAntibody;
    const values = options.logProbs ? output.logProbs : output.logits;
    if (!values) throw new Error('the engine returned no masked-LM output');
    results[index] = { id: record.id, inputIds: record.inputIds, values, vocabSize: V };
  });
  return results;
}

export async function maskedLogits(model: TaskModel, records: readonly AntibodyRecord[], options: LogitsOptions = {}): Promise<TokenLogits[]> {
  return logitsEncoded(model, model.encode(records), options);
}
