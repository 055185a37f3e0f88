/**
 * SessionFactory on onnxruntime-web: WebGPU when the browser offers an adapter, else WebAssembly, and a record of
 * which one runs and why (the page shows it). The device is chosen once, before any graph is built, because the
 * graph depends on it: WebGPU's MultiHeadAttention lacks key_padding_mask, so WebGPU graphs use standard attention.
 * A WebGPU session that still fails to start falls back to wasm with the reason kept (standard attention runs
 * anywhere). Weights reach ONNX Runtime as external data: one blob, named in the graph's external-data locations.
 */
import * as ort from 'onnxruntime-web';
import { RuntimeFailure } from '../errors.js';
import { OrtSession } from '../runtime/ortSession.js';
import type { ModelSession, SessionCreateOptions, SessionFactory } from '../runtime/session.js';

export const WEB_DEVICES = ['auto', 'webgpu', 'wasm'] as const;
export type WebDevicePreference = (typeof WEB_DEVICES)[number];
export type WebDevice = 'webgpu' | 'wasm';

/** Which backend runs, and a sentence a person can read saying why. */
export interface BackendChoice {
  device: WebDevice;
  reason: string;
  /** wasm threads (1 unless the page is cross-origin isolated). */
  threads: number;
}

export interface OrtWebOptions {
  device?: WebDevicePreference;
  /** Where onnxruntime-web's .wasm/.mjs files are served (a URL prefix ending in "/"). Default: next to the bundle. */
  wasmPaths?: string;
  /** wasm threads; default: all cores when cross-origin isolated (threads need SharedArrayBuffer), else 1. */
  threads?: number;
  /** Receives one-line notes (fallbacks). */
  log?: (line: string) => void;
}

/** The external-data files a session needs: the path named in the graph and its bytes. */
export type ExternalData = { path: string; data: Uint8Array }[];

interface GpuLike {
  requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null>;
}

/** Picks the device: WebGPU if wanted and an adapter is offered, else wasm, with the reason in words. */
export async function chooseBackend(preference: WebDevicePreference, threadsWanted?: number): Promise<BackendChoice> {
  const isolated = Boolean((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated);
  const cores = (globalThis.navigator as Navigator | undefined)?.hardwareConcurrency ?? 1;
  const threads = isolated ? Math.max(1, threadsWanted ?? cores) : 1;
  const threadNote = isolated
    ? `${threads} thread${threads === 1 ? '' : 's'}`
    : '1 thread: the page is not cross-origin isolated (serve it with COOP/COEP headers for multi-threading)';
  const wasm = (why: string): BackendChoice => ({ device: 'wasm', reason: `WebAssembly (${threadNote}): ${why}`, threads });
  if (preference === 'wasm') return wasm('chosen in the settings');
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  if (!gpu) return wasm('this browser has no WebGPU (navigator.gpu is missing; it needs a secure context and Chrome/Edge 113+)');
  let adapter: Awaited<ReturnType<GpuLike['requestAdapter']>> = null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    return wasm(`WebGPU could not be started (${(error as Error).message})`);
  }
  if (!adapter) return wasm('WebGPU is present but offered no GPU adapter (hardware acceleration off or GPU blocklisted)');
  const info = adapter.info ?? {};
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
  return { device: 'webgpu', reason: `WebGPU (adapter: ${name}): ${preference === 'webgpu' ? 'chosen in the settings' : 'offered by this browser'}`, threads };
}


export class OrtWebSessionFactory implements SessionFactory {
  /** The backend sessions run on; a failed WebGPU session switches it to wasm, with the reason. */
  backend: BackendChoice;

  constructor(
    backend: BackendChoice,
    private readonly externalData: () => ExternalData,
    private readonly options: OrtWebOptions = {},
  ) {
    this.backend = backend;
    // onnxruntime-web's settings are global to the page; they must be set before its first session.
    if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
    ort.env.wasm.numThreads = backend.threads;
  }

  get description(): string {
    return `onnxruntime-web ${ort.env.versions.common} (${this.backend.device})`;
  }

  /** wasm has the fused attention with key_padding_mask; graphs built after a WebGPU fallback use it too. */
  get multiHeadAttention(): boolean {
    return this.backend.device === 'wasm';
  }

  async create(model: Uint8Array, options: SessionCreateOptions): Promise<ModelSession> {
    if (this.backend.device === 'webgpu') {
      try {
        return await this.createOn('webgpu', model, options);
      } catch (error) {
        const why = firstLine((error as Error).message);
        this.backend = { ...this.backend, device: 'wasm', reason: `WebAssembly: a WebGPU session could not be created (${why})` };
        this.options.log?.(`webgpu failed (${why}); running on wasm instead.`);
      }
    }
    return this.createOn('wasm', model, options);
  }

  private async createOn(device: WebDevice, model: Uint8Array, options: SessionCreateOptions): Promise<ModelSession> {
    try {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [device],
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        externalData: this.externalData(),
        ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
      });
      return new OrtSession(session, ort.Tensor);
    } catch (cause) {
      throw new RuntimeFailure(`ONNX Runtime could not create a ${device} session for the model graph: ${(cause as Error).message}`, {
        cause,
      });
    }
  }
}

function firstLine(message: string): string {
  const line = message.split('\n').find((l) => l.trim()) ?? message;
  return line.slice(0, 200);
}
