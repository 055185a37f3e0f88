/** The network a checkpoint's weight store holds, as BERT's description: which heads it has, where its decoder lives. */
import type { BertConfig } from '../config.js';
import type { WeightStore } from '../weights/weightStore.js';
import { Bert } from './modeling.js';

export function bertFromStore(config: BertConfig, store: WeightStore): Bert {
  return new Bert(config, {
    pooler: store.hasPooler,
    ...(store.hasMlmHead ? { mlm: { weight: store.decoderWeightPath, bias: store.decoderBiasPath } } : {}),
  });
}
