/**
 * IgBert in the browser: the same model and tasks as on Node (embed, score, mutate, scan, fill), loaded from a URL
 * or picked files, run by onnxruntime-web on WebGPU or WebAssembly.
 *
 * One session serves every task: each onnxruntime-web session copies the weights into its own memory (the wasm
 * heap, at most 4 GiB, or GPU buffers), so where Node builds one graph per output selection, the browser widens the
 * usual requests (last hidden state, log-probabilities) to one graph that returns both. The MLM head it adds to an
 * embedding run is one dense layer and a vocabulary of 30: noise next to the encoder.
 */
import type { BertGraphOutputs } from '../graph/bert.js';
import { IgBertModel, type ModelOptions } from '../model.js';
import type { OutputTensor } from '../runtime/session.js';
import type { EncodedAntibody } from '../tokenizer/antibody.js';
import type { WeightDType } from '../weights/conversion.js';
import { loadWebCheckpoint, WEIGHTS_BLOB, type LoadProgress } from './loadCheckpoint.js';
import { localFiles, urlFiles, type ModelFiles } from './modelFiles.js';
import { chooseBackend, OrtWebSessionFactory, type BackendChoice, type WebDevicePreference } from './ortWeb.js';

/** A URL of a Hugging Face-format folder, files the user picked (a folder or loose files), or a custom ModelFiles. */
export type ModelSource = string | URL | FileList | readonly File[] | ModelFiles;

export interface WebLoadOptions extends ModelOptions {
  /** Weight precision: fp32 (exact), fp16 (half the download) or int8 (quarter; fastest on wasm). Default fp32. */
  dtype?: WeightDType;
  /** "auto" (default): WebGPU when the browser offers an adapter, else wasm. */
  device?: WebDevicePreference;
  /** Where onnxruntime-web's .wasm/.mjs files are served (URL prefix ending in "/"). */
  wasmPaths?: string;
  /** Keep the converted model in the browser's Cache API storage (default true). */
  cache?: boolean;
  /** Download, conversion and session progress. */
  onProgress?: (progress: LoadProgress) => void;
  /** For tests and custom transports. */
  fetch?: typeof fetch;
}

function modelFiles(source: ModelSource, fetchImpl?: typeof fetch): ModelFiles {
  if (typeof source === 'string' || source instanceof URL) return urlFiles(source, fetchImpl);
  if (typeof (source as ModelFiles).bytes === 'function') return source as ModelFiles;
  return localFiles(Array.from(source as ArrayLike<File>));
}

export class IgBert extends IgBertModel {
  private constructor(
    checkpoint: IgBertModel['checkpoint'],
    private readonly webFactory: OrtWebSessionFactory,
    options: ModelOptions,
    /** How the weights were obtained (cache, download, conversion), in words. */
    readonly loadNotes: readonly string[],
  ) {
    super(checkpoint, webFactory, options);
  }

  /** Loads a checkpoint; the ONNX Runtime session is created here, so the first task starts at once. */
  static async load(source: ModelSource, options: WebLoadOptions = {}): Promise<IgBert> {
    const progress = options.onProgress ?? (() => {});
    const backend = await chooseBackend(options.device ?? 'auto', options.threads);
    const loaded = await loadWebCheckpoint(modelFiles(source, options.fetch), {
      dtype: options.dtype ?? 'fp32',
      cache: options.cache ?? true,
      onProgress: progress,
    });
    // The blob stays referenced: a session for another output selection (a middle layer) needs it again.
    const factory = new OrtWebSessionFactory(backend, () => [{ path: WEIGHTS_BLOB, data: loaded.weights }], {
      ...(options.wasmPaths ? { wasmPaths: options.wasmPaths } : {}),
      log: (line) => progress({ stage: 'session', message: line }),
    });
    const model = new IgBert(loaded.binding, factory, options, loaded.notes);
    progress({ stage: 'session', message: `starting ONNX Runtime on ${backend.device === 'webgpu' ? 'WebGPU' : 'WebAssembly'}` });
    await model.warm();
    progress({ stage: 'ready', message: `ready: ${model.backend.reason}` });
    return model;
  }

  /** Which backend runs (WebGPU or wasm) and why, in words for the page. */
  get backend(): BackendChoice {
    return this.webFactory.backend;
  }

  /** The one output selection every usual task is served from. */
  get sharedOutputs(): BertGraphOutputs {
    return { hiddenStateLayer: this.config.num_hidden_layers, ...(this.checkpoint.hasMlmHead ? { logProbs: true } : {}) };
  }

  private covers(outputs: BertGraphOutputs): boolean {
    const shared = this.sharedOutputs;
    return (
      !outputs.pooler &&
      !outputs.logits &&
      (outputs.hiddenStateLayer === undefined || outputs.hiddenStateLayer === shared.hiddenStateLayer) &&
      (!outputs.logProbs || shared.logProbs === true)
    );
  }

  /** Creates the shared session now (one tiny run), so load time and first-result time are measured apart. */
  async warm(): Promise<void> {
    const probe = this.encode([{ id: 'warm-up', heavy: 'EVQ', light: '' }]);
    await this.forward(probe, this.sharedOutputs, () => {});
  }

  override forward(
    items: readonly EncodedAntibody[],
    outputs: BertGraphOutputs,
    onBatch: (indices: readonly number[], tensors: Record<string, OutputTensor>, paddedLength: number) => void,
  ): Promise<void> {
    return super.forward(items, this.covers(outputs) ? this.sharedOutputs : outputs, onBatch);
  }
}
