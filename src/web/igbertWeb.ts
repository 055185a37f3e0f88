/**
 * IgBert in the browser: the same model and tasks as on Node (embed, score, mutate, scan, fill), loaded from a URL
 * or picked files, run by the ONNX Runtime engine on onnxruntime-web: WebGPU, or WebAssembly — chosen from the same
 * ordered candidate list as on Node (src/runtime/candidates.ts).
 *
 * The engine shares one graph between every last-layer task (each onnxruntime-web session copies the weights into
 * its own memory — the wasm heap, at most 4 GiB, or GPU buffers), and it is created here, so the first task starts
 * at once and load time and first-result time are measured apart.
 */
import { IgBertModel, type ModelOptions } from '../model.js';
import { selectEngine, type EngineCandidate } from '../runtime/candidates.js';
import type { Device, Engine } from '../runtime/engine.js';
import { OrtEngine, type OrtEngineOptions } from '../runtime/ort/ortEngine.js';
import { OrtWebSessionFactory, wasmThreads, webGpuAdapter, type OrtWebDevice } from '../runtime/ort/webSessions.js';
import type { WeightDType } from '../runtime/ort/conversion.js';
import { loadWebCheckpoint, WEIGHTS_BLOB, type LoadProgress, type WebCheckpoint } from './loadCheckpoint.js';
import { localFiles, urlFiles, type ModelFiles } from './modelFiles.js';

/** What the page may ask for: "auto" (WebGPU when the browser offers an adapter, else wasm), or one of them. */
export const WEB_DEVICES = ['auto', 'webgpu', 'wasm'] as const;
export type WebDevicePreference = (typeof WEB_DEVICES)[number];

/** A URL of a Hugging Face-format folder, files the user picked (a folder or loose files), or a custom ModelFiles. */
export type ModelSource = string | URL | FileList | readonly File[] | ModelFiles;

export interface WebLoadOptions extends ModelOptions {
  /** Weight precision: fp32 (exact), fp16 (half the download) or int8 (quarter; fastest on wasm). Default fp32. */
  dtype?: WeightDType;
  /** "auto" (default): WebGPU when the browser offers an adapter, else wasm. */
  device?: WebDevicePreference;
  /** wasm threads; default: all cores when the page is cross-origin isolated, else 1. */
  threads?: number;
  /** Where onnxruntime-web's .wasm/.mjs files are served (URL prefix ending in "/"). */
  wasmPaths?: string;
  /** Keep the converted model in the browser's Cache API storage (default true). */
  cache?: boolean;
  /** ONNX Runtime engine settings: attention variant, padded or packed batches. */
  ort?: Omit<OrtEngineOptions, 'threads'>;
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

function webCandidate(device: OrtWebDevice, loaded: WebCheckpoint, options: WebLoadOptions): EngineCandidate {
  const { threads, isolated } = wasmThreads(options.threads);
  return {
    device,
    async check() {
      if (device !== 'webgpu') return undefined;
      const adapter = await webGpuAdapter();
      return 'unavailable' in adapter ? { reason: adapter.unavailable } : undefined;
    },
    async start(): Promise<Engine> {
      const adapter = device === 'webgpu' ? await webGpuAdapter() : undefined;
      const deviceName =
        adapter && 'name' in adapter
          ? `WebGPU (adapter: ${adapter.name})`
          : `WebAssembly (${threads} thread${threads === 1 ? '' : 's'}${isolated ? '' : '; the page is not cross-origin isolated: serve it with COOP/COEP headers for more'})`;
      // The blob stays referenced: a graph for another output selection (a middle layer) needs it again.
      const factory = new OrtWebSessionFactory(device, () => [{ path: WEIGHTS_BLOB, data: loaded.weights }], {
        threads,
        deviceName,
        ...(options.wasmPaths ? { wasmPaths: options.wasmPaths } : {}),
      });
      const engine = new OrtEngine(
        { bert: loaded.bert, source: loaded.checkpoint.source, weights: loaded.weightSource, precision: loaded.dtype },
        factory,
        options.ort ?? {},
      );
      try {
        await engine.prepare({ hiddenStateLayer: loaded.checkpoint.config.num_hidden_layers, logProbs: false, logits: false, pooler: false });
      } catch (error) {
        await engine.dispose();
        throw error;
      }
      return engine;
    },
  };
}

export class IgBert extends IgBertModel {
  private constructor(
    loaded: WebCheckpoint,
    engine: Engine,
    options: ModelOptions,
    passedOver: readonly string[],
    /** How the weights were obtained (cache, download, conversion), in words. */
    readonly loadNotes: readonly string[],
  ) {
    super(loaded.checkpoint, engine, options, passedOver);
  }

  /** Loads a checkpoint and starts the engine, so the first task starts at once. */
  static async load(source: ModelSource, options: WebLoadOptions = {}): Promise<IgBert> {
    const progress = options.onProgress ?? (() => {});
    const loaded = await loadWebCheckpoint(modelFiles(source, options.fetch), {
      dtype: options.dtype ?? 'fp32',
      cache: options.cache ?? true,
      onProgress: progress,
    });
    const candidates: Partial<Record<Device, EngineCandidate>> = {
      webgpu: webCandidate('webgpu', loaded, options),
      wasm: webCandidate('wasm', loaded, options),
    };
    progress({ stage: 'session', message: 'starting ONNX Runtime' });
    const log = (line: string): void => progress({ stage: 'session', message: line });
    const { engine, passedOver } = await selectEngine(options.device ?? 'auto', candidates, log);
    const model = new IgBert(loaded, engine, options, passedOver, loaded.notes);
    progress({ stage: 'ready', message: `ready: ${engine.info.deviceName ?? engine.info.device}` });
    return model;
  }
}
