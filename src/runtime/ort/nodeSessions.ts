/**
 * ONNX Runtime sessions on onnxruntime-node: its CPU execution provider, or its built-in WebGPU provider (Dawn;
 * Vulkan on Linux). A device that cannot start throws; falling back to another device is the candidate list's job
 * (src/runtime/candidates.ts).
 */
import { availableParallelism, cpus } from 'node:os';
import * as ort from 'onnxruntime-node';
import { RuntimeFailure } from '../../errors.js';
import { firstLine, OrtSession } from './ortSession.js';
import type { ModelSession, SessionCreateOptions, SessionFactory } from './session.js';

export type OrtNodeDevice = 'cpu' | 'webgpu';

export class OrtNodeSessionFactory implements SessionFactory {
  readonly runtime = `onnxruntime-node ${ort.env.versions.common}`;
  readonly deviceName: string;

  constructor(
    readonly device: OrtNodeDevice,
    threads?: number,
  ) {
    const cores = threads ?? availableParallelism();
    this.deviceName =
      device === 'cpu' ? `${cpus()[0]?.model.trim() ?? 'CPU'}, ${cores} thread${cores === 1 ? '' : 's'}` : 'WebGPU (Dawn)';
  }

  /** WebGPU's MultiHeadAttention lacks key_padding_mask, so graphs for it use standard attention. */
  get multiHeadAttention(): boolean {
    return this.device === 'cpu';
  }

  async create(model: Uint8Array, options: SessionCreateOptions): Promise<ModelSession> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [this.device],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
      ...(options.externalDataFolder
        ? { extra: { session: { model_external_initializers_file_folder_path: options.externalDataFolder } } }
        : {}),
    };
    try {
      return new OrtSession(await ort.InferenceSession.create(model, sessionOptions), ort.Tensor);
    } catch (cause) {
      throw new RuntimeFailure(`ONNX Runtime could not create a ${this.device} session: ${firstLine((cause as Error).message)}`, { cause });
    }
  }
}
