/** SessionFactory on onnxruntime-node's CPU execution provider. */
import * as ort from 'onnxruntime-node';
import { RuntimeFailure } from '../errors.js';
import type { BatchInputs, ModelSession, OutputTensor, SessionCreateOptions, SessionFactory } from './session.js';

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

export class OrtNodeSessionFactory implements SessionFactory {
  readonly description = `onnxruntime-node ${ort.env.versions.common} (cpu)`;
  readonly multiHeadAttention = true;

  async create(model: Uint8Array, options: SessionCreateOptions): Promise<ModelSession> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
      ...(options.externalDataFolder
        ? { extra: { session: { model_external_initializers_file_folder_path: options.externalDataFolder } } }
        : {}),
    };
    try {
      return new OrtNodeSession(await ort.InferenceSession.create(model, sessionOptions));
    } catch (cause) {
      throw new RuntimeFailure(`ONNX Runtime could not create a session for the model graph: ${(cause as Error).message}`, {
        cause,
      });
    }
  }
}
