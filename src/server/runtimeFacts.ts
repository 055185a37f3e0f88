/** What the server reports about how the model runs (/info, the start-up log). */
import type { IgBertModel } from '../model.js';

export interface RuntimeFacts {
  /** The device sessions run on, after any fallback. */
  device: string;
  /** Weight precision: fp32, fp16 or int8. */
  dtype: string;
  /** The runtime and its version, e.g. "onnxruntime-node 1.30.0 (cpu)". */
  runtime: string;
}

// engine seam: replaced when the Engine interface lands (the engine will carry these facts as data). Until then the
// device is read from the end of the runtime's description, "onnxruntime-node 1.x (cpu)", here and nowhere else.
export function runtimeFacts(model: IgBertModel): RuntimeFacts {
  return { device: /\((\w+)\)$/.exec(model.runtime)?.[1] ?? 'cpu', dtype: model.checkpoint.dtype, runtime: model.runtime };
}
