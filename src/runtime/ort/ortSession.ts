/**
 * A ModelSession over an ONNX Runtime InferenceSession — the same for onnxruntime-node and onnxruntime-web, which
 * share onnxruntime-common's API; each passes its own Tensor class. Isomorphic: types only from onnxruntime-common.
 */
import type { InferenceSession, Tensor, TensorConstructor } from 'onnxruntime-common';
import { RuntimeFailure } from '../../errors.js';
import { OUT_OF_MEMORY } from '../engine.js';
import type { IntInput, ModelSession, OutputTensor } from './session.js';

/** ONNX Runtime's words for a failed allocation (CPU arena, WebGPU buffers, wasm heap). */
const ALLOCATION_FAILURE = /bad_alloc|failed to allocate|out of memory|allocation failed|Cannot allocate|could not allocate/i;

export class OrtSession implements ModelSession {
  constructor(
    private readonly session: InferenceSession,
    private readonly TensorClass: TensorConstructor,
  ) {}

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(inputs: Record<string, IntInput>): Promise<Record<string, OutputTensor>> {
    const feeds: Record<string, Tensor> = {};
    for (const [name, { data, dims }] of Object.entries(inputs)) {
      feeds[name] = new this.TensorClass('int64', BigInt64Array.from(data, BigInt), dims);
    }
    let results: InferenceSession.OnnxValueMapType;
    try {
      results = await this.session.run(feeds);
    } catch (cause) {
      const shape = (inputs['input_ids']?.dims ?? []).join('x');
      const message = firstLine((cause as Error).message);
      const outOfMemory = ALLOCATION_FAILURE.test(message);
      throw new RuntimeFailure(`ONNX Runtime failed on a batch of ${shape} tokens: ${message}`, {
        cause,
        ...(outOfMemory ? { details: { reason: OUT_OF_MEMORY } } : {}),
      });
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

/**
 * ONNX Runtime's message without its log prefix ("[E:onnxruntime:, sequential_executor.cc:516 ExecuteKernel] "),
 * without the C++ source lines that follow and without a source location with its function signature and failed
 * check ("/onnxruntime_src/…/webgpu_context.cc:136 onnxruntime::…::Initialize(…)::<lambda()> status == Success was
 * false. "), so one clean sentence reaches the user.
 */
export function firstLine(message: string): string {
  const line = message.split('\n').find((l) => l.trim()) ?? message;
  const text = line.replace(/^.*?\] /, '').replace(/\s+/g, ' ').trim();
  const located = /(?:^|\s)\S+\.(?:cc|cpp|cu|h|hpp|mm):\d+ /.exec(text);
  if (!located) return text;
  let rest = withoutSignature(text.slice(located.index + located[0].length));
  const check = rest.indexOf(' was false. ');
  if (check >= 0) rest = rest.slice(check + ' was false. '.length);
  return [text.slice(0, located.index).trim(), rest.trim()].filter(Boolean).join(' ');
}

/** Drops a leading C++ function signature ("void* ns::Class::f(const T&, int)::<lambda()> ") from a message. */
function withoutSignature(text: string): string {
  const name = /^(?:[\w:<>]+[*&]*\s+)?[\w:~]+(?=\()/.exec(text);
  if (!name) return text;
  let depth = 0;
  let end = name[0].length;
  for (; end < text.length; end++) {
    if (text[end] === '(') depth++;
    else if (text[end] === ')' && --depth === 0) break;
  }
  const tail = /^(?:::<[^>]*>)*\s*/.exec(text.slice(end + 1))![0];
  return text.slice(end + 1 + tail.length);
}
