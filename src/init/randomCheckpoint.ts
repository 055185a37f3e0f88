/**
 * `igbert init --random`: a Hugging Face format BertForMaskedLM checkpoint with random weights, drawn as transformers'
 * BertPreTrainedModel._init_weights does (normal(0, initializer_range) for Linear and Embedding weights, zero biases,
 * LayerNorm weight 1 and bias 0, zero padding row), with IgBert's vocabulary and tokenizer files.
 * Tensors are generated and written one at a time (src/cli/commands/init.ts), so the IgBert preset (1.68 GB) never
 * sits in memory (peak RSS 0.26 GB).
 */
import type { BertConfig } from '../config.js';
import { SeededRandom } from './random.js';

export const IGBERT_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...'LAGVESIKRDTPNQFYMHCWXUBZO'];

export type TensorInit = 'normal' | 'zeros' | 'ones' | 'embedding';

export interface TensorPlan {
  name: string;
  shape: number[];
  init: TensorInit;
}

/** Every tensor of a BertForMaskedLM state dict (decoder weight omitted: tied to the word embeddings). */
export function bertForMaskedLmPlan(config: BertConfig): TensorPlan[] {
  const H = config.hidden_size;
  const I = config.intermediate_size;
  const plan: TensorPlan[] = [];
  const linear = (prefix: string, out: number, inp: number): void => {
    plan.push({ name: `${prefix}.weight`, shape: [out, inp], init: 'normal' }, { name: `${prefix}.bias`, shape: [out], init: 'zeros' });
  };
  const layerNorm = (prefix: string): void => {
    plan.push({ name: `${prefix}.weight`, shape: [H], init: 'ones' }, { name: `${prefix}.bias`, shape: [H], init: 'zeros' });
  };
  plan.push(
    { name: 'bert.embeddings.word_embeddings.weight', shape: [config.vocab_size, H], init: 'embedding' },
    { name: 'bert.embeddings.position_embeddings.weight', shape: [config.max_position_embeddings, H], init: 'normal' },
    { name: 'bert.embeddings.token_type_embeddings.weight', shape: [config.type_vocab_size, H], init: 'normal' },
  );
  layerNorm('bert.embeddings.LayerNorm');
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const p = `bert.encoder.layer.${i}`;
    linear(`${p}.attention.self.query`, H, H);
    linear(`${p}.attention.self.key`, H, H);
    linear(`${p}.attention.self.value`, H, H);
    linear(`${p}.attention.output.dense`, H, H);
    layerNorm(`${p}.attention.output.LayerNorm`);
    linear(`${p}.intermediate.dense`, I, H);
    linear(`${p}.output.dense`, H, I);
    layerNorm(`${p}.output.LayerNorm`);
  }
  linear('cls.predictions.transform.dense', H, H);
  layerNorm('cls.predictions.transform.LayerNorm');
  plan.push({ name: 'cls.predictions.bias', shape: [config.vocab_size], init: 'zeros' });
  return plan;
}

/** Fills one tensor's values, drawing from `random` in row-major order. */
export function generateTensor(plan: TensorPlan, config: BertConfig, random: SeededRandom): Float32Array {
  const size = plan.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  switch (plan.init) {
    case 'zeros':
      break;
    case 'ones':
      data.fill(1);
      break;
    case 'normal':
    case 'embedding':
      for (let i = 0; i < size; i++) data[i] = random.normal() * config.initializer_range;
      if (plan.init === 'embedding') {
        const width = plan.shape[1] as number;
        data.fill(0, config.pad_token_id * width, (config.pad_token_id + 1) * width);
      }
      break;
  }
  return data;
}

/** config.json as transformers writes it for BertForMaskedLM. */
export function configJson(config: BertConfig): string {
  const json = {
    architectures: ['BertForMaskedLM'],
    attention_probs_dropout_prob: config.attention_probs_dropout_prob,
    classifier_dropout: null,
    hidden_act: config.hidden_act,
    hidden_dropout_prob: config.hidden_dropout_prob,
    hidden_size: config.hidden_size,
    initializer_range: config.initializer_range,
    intermediate_size: config.intermediate_size,
    layer_norm_eps: config.layer_norm_eps,
    max_position_embeddings: config.max_position_embeddings,
    model_type: 'bert',
    num_attention_heads: config.num_attention_heads,
    num_hidden_layers: config.num_hidden_layers,
    pad_token_id: config.pad_token_id,
    position_embedding_type: 'absolute',
    tie_word_embeddings: true,
    type_vocab_size: config.type_vocab_size,
    vocab_size: config.vocab_size,
  };
  return JSON.stringify(json, null, 2) + '\n';
}

/** Tokenizer files matching IgBert's (BertTokenizer, do_lower_case false). */
export function tokenizerFiles(): Record<string, string> {
  const special = { cls_token: '[CLS]', mask_token: '[MASK]', pad_token: '[PAD]', sep_token: '[SEP]', unk_token: '[UNK]' };
  return {
    'vocab.txt': IGBERT_VOCAB.join('\n') + '\n',
    'tokenizer_config.json':
      JSON.stringify(
        { ...special, do_lower_case: false, strip_accents: null, tokenize_chinese_chars: true, tokenizer_class: 'BertTokenizer' },
        null,
        2,
      ) + '\n',
    'special_tokens_map.json': JSON.stringify(special, null, 2) + '\n',
  };
}
