/**
 * A ModelSession over an ONNX Runtime InferenceSession — the same for onnxruntime-node and onnxruntime-web, which
 * share onnxruntime-common's API; each passes its own Tensor class. Isomorphic: types only from onnxruntime-common.
 */
import type { InferenceSession, Tensor, TensorConstructor } from 'onnxruntime-common';
import { RuntimeFailure } from '../errors.js';
import type { BatchInputs, ModelSession, OutputTensor } from './session.js';

export class OrtSession implements ModelSession {
  constructor(
    private readonly session: InferenceSession,
    private readonly TensorClass: TensorConstructor,
  ) {}

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(inputs: BatchInputs): Promise<Record<string, OutputTensor>> {
    const dims = [inputs.batchSize, inputs.sequenceLength];
    // The graph takes int64 ids and masks, as Hugging Face's ONNX exports do.
    const int64 = (values: Int32Array): Tensor => new this.TensorClass('int64', BigInt64Array.from(values, BigInt), dims);
    let results: InferenceSession.OnnxValueMapType;
    try {
      results = await this.session.run({
        input_ids: int64(inputs.inputIds),
        attention_mask: int64(inputs.attentionMask),
        token_type_ids: int64(inputs.tokenTypeIds),
      });
    } catch (cause) {
      throw new RuntimeFailure(`ONNX Runtime failed on a batch of ${dims.join('x')} tokens: ${(cause as Error).message}`, { cause });
    }
    const out: Record<string, OutputTensor> = {};
    for (const name of this.session.outputNames) {
      const tensor = results[name] as Tensor;
      out[name] = { data: tensor.data as Float32Array, dims: tensor.dims };
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
