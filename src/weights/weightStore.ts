/**
 * WeightStore: the tensors of a checkpoint, looked up by Hugging Face module path with pushed name prefixes, like
 * candle's VarBuilder (`store.scope('encoder').scope('layer.3').get('attention.self.query.weight', [h, h])`).
 *
 * Paths are written as in BertModel (`embeddings.…`, `encoder.…`, `pooler.…`) plus the BertForMaskedLM head
 * (`cls.predictions.…`). One path matches every spelling transformers loads into that parameter:
 *   - the BertForMaskedLM backbone prefix: `bert.encoder.…` or bare `encoder.…` (BertModel checkpoints);
 *   - legacy LayerNorm names: `LayerNorm.gamma` / `LayerNorm.beta` for `.weight` / `.bias`
 *     (transformers' `_fix_state_dict_key_on_load`).
 * Two spellings of one parameter both present is an error, never a silent choice.
 */
import type { BertConfig } from '../config.js';
import { CheckpointError, UsageError } from '../errors.js';
import type { SafetensorsFile, TensorInfo } from './safetensors.js';

const BACKBONE_PREFIX = 'bert.';
const ENCODER_LAYER = /(?:^|\.)encoder\.layer\.(\d+)\./;
const HEAD_PREFIX = 'cls.';
const LEGACY_LAYER_NORM: readonly [RegExp, string][] = [
  [/LayerNorm\.weight$/, 'LayerNorm.gamma'],
  [/LayerNorm\.bias$/, 'LayerNorm.beta'],
];

/**
 * What the MLM decoder (`cls.predictions.decoder`, an nn.Linear) computes with, resolved as transformers 5.x loads
 * it (modeling_utils `tie_weights`, BertForMaskedLM `_tied_weights_keys`): a stored decoder weight or bias is used
 * as stored; an absent one is tied to its source (word embeddings, `cls.predictions.bias`) when tie_word_embeddings
 * allows. With tie_word_embeddings false nothing is tied in 5.x, so `cls.predictions.bias` is then unused when
 * `cls.predictions.decoder.bias` is stored.
 */
export interface MlmDecoderTensors {
  /** [vocab_size, hidden_size]. */
  readonly weight: TensorInfo;
  /** The module path get() resolves to `weight`: 'cls.predictions.decoder.weight' or 'embeddings.word_embeddings.weight'. */
  readonly weightPath: string;
  /** Whether `weight` is the word-embedding matrix itself. */
  readonly tiedToWordEmbeddings: boolean;
  /** [vocab_size]. */
  readonly bias: TensorInfo;
  /** 'cls.predictions.decoder.bias' or 'cls.predictions.bias'. */
  readonly biasPath: string;
  /**
   * Stored decoder tensors whose tie source is stored too (tie_word_embeddings true). transformers 5 ties them only
   * when the values are equal, and otherwise keeps `tensor` with a warning; transformers 4 always used `tiedTo`.
   * The loader should compare the values and warn when they differ.
   */
  readonly aliases: readonly { readonly tensor: TensorInfo; readonly tiedTo: TensorInfo }[];
}

interface TensorIndex {
  readonly byName: ReadonlyMap<string, TensorInfo>;
  readonly files: readonly string[];
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function quoteList(names: readonly string[]): string {
  return names.map((n) => JSON.stringify(n)).join(', ');
}

/** The config.json keys that decide how the MLM decoder is tied and what shape it has. */
export type DecoderConfig = Pick<BertConfig, 'tie_word_embeddings' | 'vocab_size' | 'hidden_size'>;

function buildIndex(tensors: Iterable<TensorInfo>, files: Iterable<string>): TensorIndex {
  const byName = new Map<string, TensorInfo>();
  const seenFiles = new Set<string>(files);
  for (const tensor of tensors) {
    const other = byName.get(tensor.name);
    if (other) {
      throw new CheckpointError(
        `Tensor ${JSON.stringify(tensor.name)} is stored twice, in ${other.file} and in ${tensor.file}; ` +
          'the checkpoint is inconsistent. Download it again or re-save it with save_pretrained.',
        { details: { tensor: tensor.name, files: [other.file, tensor.file] } },
      );
    }
    byName.set(tensor.name, tensor);
    seenFiles.add(tensor.file);
  }
  return { byName, files: [...seenFiles] };
}

export class WeightStore {
  // Not readonly: scope() and fromTensors() re-point a fresh instance at a shared index.
  #index: TensorIndex;
  #prefix = '';
  readonly #config: DecoderConfig | undefined;

  /**
   * All tensors of a checkpoint's files (a name stored in two files is an error). `config` is needed only for the
   * MLM decoder (mlmDecoder(), decoderWeightPath, decoderBiasPath).
   */
  constructor(files: readonly SafetensorsFile[], config?: DecoderConfig) {
    this.#index = buildIndex(files.flatMap((f) => [...f.tensors.values()]), files.map((f) => f.file));
    this.#config = config;
  }

  /** A store over loose tensors (tests, or tensors gathered from elsewhere). */
  static fromTensors(tensors: Iterable<TensorInfo>, config?: DecoderConfig): WeightStore {
    const store = new WeightStore([], config);
    store.#index = buildIndex(tensors, []);
    return store;
  }

  /** Pushed module path: '' at the root, else ending in '.' (e.g. 'encoder.layer.3.'). */
  get prefix(): string {
    return this.#prefix;
  }

  /** A view whose paths are relative to `name` below this one, e.g. scope('encoder').scope('layer.3'). */
  scope(name: string): WeightStore {
    if (name === '' || name.startsWith('.') || name.endsWith('.')) {
      throw new UsageError(`WeightStore.scope: ${JSON.stringify(name)} is not a module name.`);
    }
    return this.#view(`${this.#prefix}${name}.`);
  }

  /** Number of tensors in the checkpoint. */
  get size(): number {
    return this.#index.byName.size;
  }

  /** Every tensor name in the checkpoint, file by file in data order. */
  keys(): string[] {
    return [...this.#index.byName.keys()];
  }

  /** Every tensor in the checkpoint, file by file in data order. */
  allTensors(): TensorInfo[] {
    return [...this.#index.byName.values()];
  }

  /** Every key `path` (relative to this scope) may be stored under, in the order they are tried. */
  candidates(path: string): string[] {
    const full = this.prefix + path;
    const bases = full.startsWith(HEAD_PREFIX) ? [full] : [BACKBONE_PREFIX + full, full];
    return bases.flatMap((base) => [
      base,
      ...LEGACY_LAYER_NORM.filter(([pattern]) => pattern.test(base)).map(([pattern, legacy]) => base.replace(pattern, legacy)),
    ]);
  }

  #resolve(path: string): TensorInfo | undefined {
    const tried = this.candidates(path);
    const found = tried.flatMap((name) => this.#index.byName.get(name) ?? []);
    if (found.length > 1) {
      throw new CheckpointError(
        `The checkpoint stores ${this.prefix + path} twice, as ${quoteList(found.map((t) => t.name))}; transformers would ` +
          'silently keep one. Remove the duplicate (re-save the model with save_pretrained) so there is no doubt which is meant.',
        { details: { path: this.prefix + path, tensors: found.map((t) => t.name) } },
      );
    }
    return found[0];
  }

  has(path: string): boolean {
    return this.#resolve(path) !== undefined;
  }

  /** The tensor behind `path`, checked against `shape`; missing or misshapen is a CheckpointError naming the path. */
  get(path: string, shape: readonly number[]): TensorInfo {
    const tensor = this.getOptional(path, shape);
    if (tensor) return tensor;
    const tried = this.candidates(path);
    throw new CheckpointError(
      `Missing tensor ${this.prefix + path}: none of ${quoteList(tried)} is in ${this.#where()}. ` +
        `${this.#missingHint(this.prefix + path)} It holds ${this.#keysSample(6)}.`,
      { details: { path: this.prefix + path, tried } },
    );
  }

  /** Like get, but undefined when the tensor is absent (a present tensor must still have the right shape). */
  getOptional(path: string, shape: readonly number[]): TensorInfo | undefined {
    const tensor = this.#resolve(path);
    if (!tensor) return undefined;
    const matches = tensor.shape.length === shape.length && tensor.shape.every((dim, i) => dim === shape[i]);
    if (!matches) {
      const spelled = tensor.name === this.prefix + path ? '' : ` (for ${this.prefix + path})`;
      throw new CheckpointError(
        `Tensor ${JSON.stringify(tensor.name)}${spelled} in ${tensor.file} has shape ${formatShape(tensor.shape)}, ` +
          `expected ${formatShape(shape)}. config.json does not match these weights: check hidden_size, ` +
          'intermediate_size, vocab_size, max_position_embeddings and type_vocab_size.',
        { details: { path: this.prefix + path, tensor: tensor.name, expected: [...shape], found: [...tensor.shape] } },
      );
    }
    return tensor;
  }

  /** Whether the checkpoint has BertModel's pooler (`pooler.dense`), which BertForMaskedLM checkpoints lack. */
  get hasPooler(): boolean {
    return this.#root().has('pooler.dense.weight');
  }

  /** Whether the checkpoint has the masked-language-model head (`cls.predictions.transform`). */
  get hasMlmHead(): boolean {
    return this.#root().has('cls.predictions.transform.dense.weight');
  }

  /** The tensors the MLM decoder computes with (see MlmDecoderTensors); `config` defaults to the constructor's. */
  mlmDecoder(config: DecoderConfig | undefined = this.#config): MlmDecoderTensors {
    if (!config) {
      throw new UsageError('WeightStore.mlmDecoder needs the config (pass it here or to the WeightStore constructor).');
    }
    const root = this.#root();
    if (!root.hasMlmHead) {
      throw new CheckpointError(
        `The checkpoint has no masked-language-model head (no cls.predictions.* tensors in ${this.#where()}); it ` +
          'looks saved from BertModel. Likelihoods, mutation scans and infilling need BertForMaskedLM weights such as ' +
          'Exscientia/IgBert; embeddings work without the head.',
        { details: { files: this.#index.files } },
      );
    }
    const tie = config.tie_word_embeddings;
    const aliases: { tensor: TensorInfo; tiedTo: TensorInfo }[] = [];
    const matrix = [config.vocab_size, config.hidden_size];
    const wordsPath = 'embeddings.word_embeddings.weight';
    const decoderWeightPath = 'cls.predictions.decoder.weight';
    const storedWeight = root.getOptional(decoderWeightPath, matrix);
    let weight = storedWeight;
    if (tie) {
      const words = root.get(wordsPath, matrix);
      if (storedWeight) aliases.push({ tensor: storedWeight, tiedTo: words });
      weight ??= words;
    }
    if (!weight) {
      throw new CheckpointError(
        'config.json sets "tie_word_embeddings": false, so the MLM decoder needs its own weight, but ' +
          `${decoderWeightPath} is not in ${this.#where()}. If the decoder shares the word embeddings, ` +
          'set "tie_word_embeddings": true; otherwise the checkpoint is incomplete.',
        { details: { path: decoderWeightPath } },
      );
    }
    const headBiasPath = 'cls.predictions.bias';
    const decoderBiasPath = 'cls.predictions.decoder.bias';
    const storedBias = root.getOptional(decoderBiasPath, [config.vocab_size]);
    const headBias = root.getOptional(headBiasPath, [config.vocab_size]);
    // Untied, transformers 5 would zero-initialise a missing decoder.bias (with a warning); 4.x always tied it to
    // cls.predictions.bias, which is what such a checkpoint was saved to mean.
    const bias = storedBias ?? headBias;
    if (!bias) {
      throw new CheckpointError(
        `Missing the MLM output bias: neither "${decoderBiasPath}" nor "${headBiasPath}" is in ` +
          `${this.#where()}. The checkpoint is incomplete; download it again. ${this.describe()}`,
        { details: { tried: [decoderBiasPath, headBiasPath] } },
      );
    }
    if (tie && storedBias && headBias) aliases.push({ tensor: storedBias, tiedTo: headBias });
    return {
      weight,
      weightPath: weight === storedWeight ? decoderWeightPath : wordsPath,
      tiedToWordEmbeddings: weight !== storedWeight,
      bias,
      biasPath: bias === storedBias ? decoderBiasPath : headBiasPath,
      aliases,
    };
  }

  /**
   * mlmDecoder().weightPath, for graph builders that bind weights by path. Without an MLM head it is the tied
   * default, so a loader may read it unconditionally; binding it then fails with the missing-tensor error.
   */
  get decoderWeightPath(): string {
    return this.hasMlmHead ? this.mlmDecoder().weightPath : 'embeddings.word_embeddings.weight';
  }

  /** mlmDecoder().biasPath (or the usual 'cls.predictions.bias' when there is no MLM head, as above). */
  get decoderBiasPath(): string {
    return this.hasMlmHead ? this.mlmDecoder().biasPath : 'cls.predictions.bias';
  }

  /**
   * Checkpoint keys that none of `used` accounts for, in file order, so the loader can warn about them.
   * A TensorInfo counts by its key; a string is a path relative to this scope, resolved like get().
   */
  unusedKeys(used: Iterable<TensorInfo | string>): string[] {
    const accounted = new Set<string>();
    for (const item of used) {
      if (typeof item === 'string') {
        for (const name of this.candidates(item)) accounted.add(name);
      } else {
        accounted.add(item.name);
      }
    }
    return this.keys().filter((name) => !accounted.has(name));
  }

  /** A one-line summary for error messages: how many tensors, where, and what their keys look like. */
  describe(limit = 6): string {
    return `${this.#where().replace(/^t/, 'T')} holds ${this.#keysSample(limit)}.`;
  }

  #keysSample(limit: number): string {
    const names = this.keys();
    if (names.length === 0) return 'no tensors';
    const shown = names.slice(0, limit).map((n) => JSON.stringify(n));
    const more = names.length > limit ? ` and ${names.length - limit} more` : '';
    return `${names.length} tensors; keys look like: ${shown.join(', ')}${more}`;
  }

  #missingHint(fullPath: string): string {
    const keys = this.keys();
    if (!keys.some((k) => /^(bert\.)?(embeddings|encoder)\./.test(k))) return 'Is this a BERT checkpoint?';
    if (ENCODER_LAYER.test(fullPath)) {
      const layers = new Set(keys.map((k) => ENCODER_LAYER.exec(k)?.[1]).filter((n) => n !== undefined));
      return `The checkpoint has ${layers.size} encoder layers; does num_hidden_layers in config.json match?`;
    }
    return 'Does config.json match these weights (architectures, model_type)?';
  }

  #view(prefix: string): WeightStore {
    const view = new WeightStore([], this.#config);
    view.#index = this.#index;
    view.#prefix = prefix;
    return view;
  }

  #root(): WeightStore {
    return this.#prefix === '' ? this : this.#view('');
  }

  /** "the checkpoint (model.safetensors)", naming its files for messages. */
  #where(): string {
    const files = this.#index.files;
    if (files.length === 0) return 'the checkpoint';
    if (files.length <= 2) return `the checkpoint (${files.join(' and ')})`;
    return `the checkpoint (${files[0]} and ${files.length - 1} more shards)`;
  }
}
