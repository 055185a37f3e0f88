/**
 * SessionFactory on onnxruntime-node: the CPU execution provider, or its built-in WebGPU provider (Dawn; Vulkan on
 * Linux) with a one-line fallback to CPU when no adapter can be had.
 */
import * as ort from 'onnxruntime-node';
import { RuntimeFailure } from '../errors.js';
import { OrtSession } from './ortSession.js';
import type { ModelSession, SessionCreateOptions, SessionFactory } from './session.js';

export const DEVICES = ['cpu', 'webgpu'] as const;
export type Device = (typeof DEVICES)[number];


export interface OrtNodeOptions {
  /** Preferred device; "webgpu" falls back to "cpu" with one log line when it cannot start. Default "cpu". */
  device?: Device;
  /** Receives one-line notes (fallbacks). Default: stderr. */
  log?: (line: string) => void;
}

export class OrtNodeSessionFactory implements SessionFactory {
  readonly device: Device;
  private readonly log: (line: string) => void;
  /** The device sessions actually run on (after any fallback). */
  activeDevice: Device;

  constructor(options: OrtNodeOptions = {}) {
    this.device = options.device ?? 'cpu';
    this.activeDevice = this.device;
    this.log = options.log ?? ((line) => process.stderr.write(`igbert: ${line}\n`));
  }

  get description(): string {
    return `onnxruntime-node ${ort.env.versions.common} (${this.activeDevice})`;
  }

  /** WebGPU's MultiHeadAttention lacks key_padding_mask, so graphs for it use standard attention. */
  get multiHeadAttention(): boolean {
    return this.device === 'cpu';
  }

  async create(model: Uint8Array, options: SessionCreateOptions): Promise<ModelSession> {
    if (this.activeDevice === 'webgpu') {
      try {
        return await this.createOn('webgpu', model, options);
      } catch (error) {
        this.activeDevice = 'cpu';
        this.log(`webgpu is not available (${firstLine((error as Error).message)}); running on cpu instead.`);
      }
    }
    return this.createOn('cpu', model, options);
  }

  private async createOn(device: Device, model: Uint8Array, options: SessionCreateOptions): Promise<ModelSession> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [device],
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
      throw new RuntimeFailure(`ONNX Runtime could not create a ${device} session for the model graph: ${(cause as Error).message}`, {
        cause,
      });
    }
  }
}

function firstLine(message: string): string {
  const line = message.split('\n').find((l) => l.trim()) ?? message;
  return line.replace(/^.*?\] /, '').slice(0, 200);
}
