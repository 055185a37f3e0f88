/**
 * BertConfig: the keys of a Hugging Face `config.json`, unchanged, parsed and validated once.
 * Anything the model math depends on is read here; values we do not implement exactly are refused
 * (never approximated). Upstream: transformers/models/bert/configuration_bert.py.
 */
import { CheckpointError, UnsupportedError } from './errors.js';

export interface BertConfig {
  model_type: 'bert';
  architectures: string[];
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: 'gelu';
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  pad_token_id: number;
  position_embedding_type: 'absolute';
  /** Whether the MLM decoder shares the word-embedding matrix (transformers' default: true). */
  tie_word_embeddings: boolean;
}

/** Activations that mean exact (erf) GELU in transformers' ACT2FN. */
const EXACT_GELU = new Set(['gelu']);

function requirePositiveInteger(raw: Record<string, unknown>, key: string, source: string): number {
  const value = raw[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new CheckpointError(
      `${source}: "${key}" must be a positive integer, found ${JSON.stringify(value)}. ` +
        'Fix config.json or re-export the checkpoint with transformers.',
      { details: { key, value } },
    );
  }
  return value;
}

function optionalNumber(raw: Record<string, unknown>, key: string, fallback: number, source: string): number {
  const value = raw[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new CheckpointError(`${source}: "${key}" must be a number, found ${JSON.stringify(value)}.`, {
      details: { key, value },
    });
  }
  return value;
}

/** Parses and validates config.json text. `source` names the file in error messages. */
export function parseBertConfig(text: string, source = 'config.json'): BertConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new CheckpointError(`${source} is not valid JSON (${(cause as Error).message}).`, { cause });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CheckpointError(`${source} must hold a JSON object.`);
  }
  const obj = raw as Record<string, unknown>;
  const modelType = obj['model_type'];
  if (modelType !== 'bert') {
    throw new UnsupportedError(
      `${source}: model_type is ${JSON.stringify(modelType)}; igbert runs BERT checkpoints only (model_type "bert"), ` +
        'such as Exscientia/IgBert, Exscientia/IgBert_unpaired or Rostlab/prot_bert.',
      { details: { key: 'model_type', value: modelType } },
    );
  }
  const hiddenAct = obj['hidden_act'] ?? 'gelu';
  if (typeof hiddenAct !== 'string' || !EXACT_GELU.has(hiddenAct)) {
    throw new UnsupportedError(
      `${source}: hidden_act ${JSON.stringify(hiddenAct)} is not supported; igbert implements exact erf GELU ("gelu") ` +
        'only and will not approximate another activation.',
      { details: { key: 'hidden_act', value: hiddenAct } },
    );
  }
  const positionType = obj['position_embedding_type'] ?? 'absolute';
  if (positionType !== 'absolute') {
    throw new UnsupportedError(
      `${source}: position_embedding_type ${JSON.stringify(positionType)} is not supported; only "absolute" is.`,
      { details: { key: 'position_embedding_type', value: positionType } },
    );
  }
  if (obj['is_decoder'] === true || obj['add_cross_attention'] === true) {
    throw new UnsupportedError(`${source}: decoder / cross-attention BERT variants are not supported.`);
  }
  const hiddenSize = requirePositiveInteger(obj, 'hidden_size', source);
  const heads = requirePositiveInteger(obj, 'num_attention_heads', source);
  if (hiddenSize % heads !== 0) {
    throw new CheckpointError(
      `${source}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${heads}.`,
      { details: { hidden_size: hiddenSize, num_attention_heads: heads } },
    );
  }
  const architectures = Array.isArray(obj['architectures'])
    ? (obj['architectures'] as unknown[]).filter((a): a is string => typeof a === 'string')
    : [];
  const layerNormEps = optionalNumber(obj, 'layer_norm_eps', 1e-12, source);
  if (layerNormEps <= 0) throw new CheckpointError(`${source}: layer_norm_eps must be > 0, found ${layerNormEps}.`);
  const padTokenId = optionalNumber(obj, 'pad_token_id', 0, source);
  const vocabSize = requirePositiveInteger(obj, 'vocab_size', source);
  if (!Number.isInteger(padTokenId) || padTokenId < 0 || padTokenId >= vocabSize) {
    throw new CheckpointError(`${source}: pad_token_id ${padTokenId} is outside the vocabulary (size ${vocabSize}).`);
  }
  return {
    model_type: 'bert',
    architectures,
    vocab_size: vocabSize,
    hidden_size: hiddenSize,
    num_hidden_layers: requirePositiveInteger(obj, 'num_hidden_layers', source),
    num_attention_heads: heads,
    intermediate_size: requirePositiveInteger(obj, 'intermediate_size', source),
    hidden_act: 'gelu',
    hidden_dropout_prob: optionalNumber(obj, 'hidden_dropout_prob', 0.1, source),
    attention_probs_dropout_prob: optionalNumber(obj, 'attention_probs_dropout_prob', 0.1, source),
    max_position_embeddings: requirePositiveInteger(obj, 'max_position_embeddings', source),
    type_vocab_size: requirePositiveInteger(obj, 'type_vocab_size', source),
    initializer_range: optionalNumber(obj, 'initializer_range', 0.02, source),
    layer_norm_eps: layerNormEps,
    pad_token_id: padTokenId,
    position_embedding_type: 'absolute',
    tie_word_embeddings: obj['tie_word_embeddings'] === undefined ? true : obj['tie_word_embeddings'] === true,
  };
}

/** IgBert's configuration (Exscientia/IgBert config.json), used by `igbert init --preset igbert`. */
export const IGBERT_CONFIG: BertConfig = {
  model_type: 'bert',
  architectures: ['BertForMaskedLM'],
  vocab_size: 30,
  hidden_size: 1024,
  num_hidden_layers: 30,
  num_attention_heads: 16,
  intermediate_size: 4096,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.0,
  attention_probs_dropout_prob: 0.0,
  max_position_embeddings: 40000,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  tie_word_embeddings: true,
};

/** A small configuration with IgBert's vocabulary and head size 64, for tests and examples. */
export const TINY_CONFIG: BertConfig = {
  ...IGBERT_CONFIG,
  hidden_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 256,
  max_position_embeddings: 512,
};
