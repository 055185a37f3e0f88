/**
 * SessionFactory on onnxruntime-node: the CPU execution provider, or its built-in WebGPU provider (Dawn; Vulkan on
 * Linux) with a one-line fallback to CPU when no adapter can be had.
 */
import * as ort from 'onnxruntime-node';
import { RuntimeFailure } from '../errors.js';
import type { BatchInputs, ModelSession, OutputTensor, SessionCreateOptions, SessionFactory } from './session.js';

export const DEVICES = ['cpu', 'webgpu'] as const;
export type Device = (typeof DEVICES)[number];

class OrtNodeSession implements ModelSession {
  constructor(private readonly session: ort.InferenceSession) {}

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(inputs: BatchInputs): Promise<Record<string, OutputTensor>> {
    const dims = [inputs.batchSize, inputs.sequenceLength];
    const int64 = (values: Int32Array): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);
    const feeds = {
      input_ids: int64(inputs.inputIds),
      attention_mask: int64(inputs.attentionMask),
      token_type_ids: int64(inputs.tokenTypeIds),
    };
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = await this.session.run(feeds);
    } catch (cause) {
      throw new RuntimeFailure(`ONNX Runtime failed on a batch of ${dims.join('x')} tokens: ${(cause as Error).message}`, {
        cause,
      });
    }
    const out: Record<string, OutputTensor> = {};
    for (const name of this.session.outputNames) {
      const tensor = results[name] as ort.Tensor;
      out[name] = { data: tensor.data as Float32Array, dims: tensor.dims };
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

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
      return new OrtNodeSession(await ort.InferenceSession.create(model, sessionOptions));
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
