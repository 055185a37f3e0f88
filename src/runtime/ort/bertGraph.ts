/**
 * The ONNX graph of a checkpoint: BERT's forward pass (src/bert/modeling.ts) run over ONNX operations, with only
 * the outputs asked for (a middle layer's graph stops after that layer).
 */
import type { Bert, BertOutputs } from '../../bert/modeling.js';
import type { OnnxGraphBuilder } from './onnxBuilder.js';
import { OnnxOps, type OnnxOpsOptions } from './onnxOps.js';
import type { WeightSource } from './weightSource.js';

export function buildBertGraph(bert: Bert, weights: WeightSource, outputs: BertOutputs, options: OnnxOpsOptions): OnnxGraphBuilder {
  const ops = new OnnxOps(bert.config, weights, options);
  bert.forward(ops, outputs);
  return ops.g;
}
