/**
 * ONNX Runtime sessions on onnxruntime-web: WebGPU when the browser offers an adapter, or WebAssembly. Weights reach
 * ONNX Runtime as external data: one blob, named in the graph's external-data locations. Which device runs is the
 * candidate list's choice (src/web/webEngines.ts); a device that cannot start throws here.
 */
import * as ort from 'onnxruntime-web';
import { RuntimeFailure } from '../../errors.js';
import { firstLine, OrtSession } from './ortSession.js';
import type { ModelSession, SessionCreateOptions, SessionFactory } from './session.js';

export type OrtWebDevice = 'webgpu' | 'wasm';

/** The external-data files a session needs: the path named in the graph and its bytes. */
export type ExternalData = { path: string; data: Uint8Array }[];

interface GpuLike {
  requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null>;
}

/** The browser's WebGPU adapter in words, or why there is none. */
export async function webGpuAdapter(): Promise<{ name: string } | { unavailable: string }> {
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  if (!gpu) return { unavailable: 'this browser has no WebGPU (navigator.gpu is missing; it needs a secure context and Chrome/Edge 113+)' };
  let adapter: Awaited<ReturnType<GpuLike['requestAdapter']>> = null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    return { unavailable: `WebGPU could not be started (${firstLine((error as Error).message)})` };
  }
  if (!adapter) return { unavailable: 'WebGPU is present but offered no GPU adapter (hardware acceleration off or GPU blocklisted)' };
  const info = adapter.info ?? {};
  return { name: [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed adapter' };
}

/** wasm threads: all cores when the page is cross-origin isolated (threads need SharedArrayBuffer), else 1. */
export function wasmThreads(wanted?: number): { threads: number; isolated: boolean } {
  const isolated = Boolean((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated);
  const cores = (globalThis.navigator as Navigator | undefined)?.hardwareConcurrency ?? 1;
  return { threads: isolated ? Math.max(1, wanted ?? cores) : 1, isolated };
}

export interface OrtWebOptions {
  /** Where onnxruntime-web's .wasm/.mjs files are served (a URL prefix ending in "/"). Default: next to the bundle. */
  wasmPaths?: string;
  /** wasm threads (see wasmThreads). */
  threads: number;
  /** The hardware in words ("WebGPU (adapter: …)", "WebAssembly (4 threads)"). */
  deviceName: string;
}

export class OrtWebSessionFactory implements SessionFactory {
  readonly runtime = `onnxruntime-web ${ort.env.versions.common}`;
  readonly deviceName: string;

  constructor(
    readonly device: OrtWebDevice,
    private readonly externalData: () => ExternalData,
    options: OrtWebOptions,
  ) {
    this.deviceName = options.deviceName;
    // onnxruntime-web's settings are global to the page; they must be set before its first session.
    if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
    ort.env.wasm.numThreads = options.threads;
  }

  /** wasm has the fused attention with key_padding_mask; WebGPU's lacks the mask. */
  get multiHeadAttention(): boolean {
    return this.device === 'wasm';
  }

  async create(model: Uint8Array, options: SessionCreateOptions): Promise<ModelSession> {
    try {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [this.device],
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        externalData: this.externalData(),
        ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
      });
      return new OrtSession(session, ort.Tensor);
    } catch (cause) {
      throw new RuntimeFailure(`ONNX Runtime could not create a ${this.device} session: ${firstLine((cause as Error).message)}`, { cause });
    }
  }
}
