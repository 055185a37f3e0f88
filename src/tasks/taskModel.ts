/**
 * What a task needs of a loaded model: its configuration and tokenizer, and `forward` over items that each say what
 * they need back (src/batches/requests.ts). IgBertModel (src/model.ts) implements it; tasks never see engines.
 */
import type { BatchListener } from '../batches/progress.js';
import type { ForwardItem, ForwardOptions, SequenceResult } from '../batches/requests.js';
import type { BertConfig } from '../config.js';
import type { AntibodyRecord, EncodedAntibody } from '../tokenizer/antibody.js';
import type { BertTokenizer } from '../tokenizer/bertTokenizer.js';

export interface TaskModel {
  readonly config: BertConfig;
  readonly tokenizer: BertTokenizer;
  /** Where the checkpoint came from (folder or Hub id), for messages. */
  readonly source: string;
  /** Validates and tokenises records (InputError naming record, chain, position, character). */
  encode(records: readonly AntibodyRecord[], firstRecordNumber?: number): EncodedAntibody[];
  /** A `layer` argument (hidden_states index, negative from the end) as 0..num_hidden_layers. */
  resolveLayer(layer: number | undefined): number;
  /** Runs the items in token-budget batches; `onResult` gets each item's result by its index, in batch order. */
  forward(
    items: readonly ForwardItem[],
    options: ForwardOptions,
    onResult: (index: number, result: SequenceResult) => void,
    onBatch?: BatchListener,
  ): Promise<void>;
}
