/**
 * What tasks ask of a forward pass, per sequence, and what comes back — the contract between src/tasks/ and the
 * engines (src/runtime/). Tasks say which token rows they need (a mean over residues, some hidden states, the
 * masked-LM log-probabilities at a few positions), so an engine returns only those: on a GPU nothing else is copied
 * back, and the MLM head runs only where it is read. Token indices count from 0 at the sequence's [CLS].
 */
import type { InputLocation } from '../errors.js';

/** The token ids of one sequence, as the tokenizer made them ([CLS] ... [SEP], no padding). */
export interface TokenSequence {
  readonly inputIds: Int32Array;
  readonly tokenTypeIds: Int32Array;
}

/** What one sequence needs back. Hidden states are those of the batch's layer (ForwardOptions.layer). */
export interface SequenceRequest {
  /** One mean hidden state per group of token rows (the model card's mean, a chain's residues, [CLS] alone). */
  readonly means?: readonly (readonly number[])[];
  /** The hidden states of these token rows. */
  readonly rows?: readonly number[];
  /** Masked-LM log-probabilities (natural-log softmax over the vocabulary) at these token rows. */
  readonly logProbs?: readonly number[];
  /** Raw masked-LM logits at these token rows. */
  readonly logits?: readonly number[];
  /** BertPooler output (dense + tanh on [CLS]); last layer only. */
  readonly pooler?: boolean;
}

export interface SequenceResult {
  /** One Float32Array(hidden_size) per requested group, in order. */
  means: Float32Array[];
  /** Row-major [rows.length, hidden_size]. */
  rows?: Float32Array;
  /** Row-major [logProbs.length, vocab_size]. */
  logProbs?: Float32Array;
  /** Row-major [logits.length, vocab_size]. */
  logits?: Float32Array;
  /** Float32Array(hidden_size). */
  pooler?: Float32Array;
}

export interface ForwardItem {
  readonly tokens: TokenSequence;
  readonly request: SequenceRequest;
  /** The record this item comes from, for messages (a sequence too large for memory is reported there). */
  readonly location?: InputLocation;
}

export interface ForwardOptions {
  /** hidden_states index for `means` and `rows`: 0 = embedding output, num_hidden_layers = last layer. */
  layer: number;
}

/** What a batch needs computed, over all of its sequences' requests. */
export interface BatchNeeds {
  /** hidden_states index whose rows are read (means or rows), or undefined when none are. */
  hiddenStateLayer?: number;
  logProbs: boolean;
  logits: boolean;
  pooler: boolean;
}

export function batchNeeds(requests: readonly SequenceRequest[], options: ForwardOptions): BatchNeeds {
  const hidden = requests.some((r) => (r.means?.length ?? 0) > 0 || (r.rows?.length ?? 0) > 0);
  return {
    ...(hidden ? { hiddenStateLayer: options.layer } : {}),
    logProbs: requests.some((r) => (r.logProbs?.length ?? 0) > 0),
    logits: requests.some((r) => (r.logits?.length ?? 0) > 0),
    pooler: requests.some((r) => r.pooler === true),
  };
}
