/**
 * The engines the reference-parity tests run through the engine seam: ONNX Runtime on the CPU; the CUDA engine's
 * TypeScript half with its programs run by the float64 interpreter (./programInterpreter.ts); and, where the CUDA
 * engine is built and a GPU is visible, the CUDA engine itself in fp32 (true fp32, no TF32), held to the same
 * tolerances. Without a GPU that entry is absent and test/cuda.test.ts says why.
 */
import { IgBert, type IgBertModel } from '../../src/index.js';
import { probeCuda } from '../../src/runtime/cuda/candidate.js';
import { loadWithProgramInterpreter } from './programInterpreter.js';

export interface EngineUnderTest {
  label: string;
  load(dir: string, maxBatchTokens?: number): Promise<IgBertModel>;
}

const cuda = await probeCuda();
/** Why the CUDA engine is not tested here, or undefined when it is. */
export const CUDA_UNAVAILABLE: string | undefined = 'reason' in cuda ? cuda.reason : undefined;

export const ENGINES_UNDER_TEST: readonly EngineUnderTest[] = [
  { label: 'ONNX Runtime', load: (dir, maxBatchTokens = 2048) => IgBert.load(dir, { batching: { maxBatchTokens }, device: 'cpu' }) },
  { label: 'CUDA engine program, CPU interpreter', load: (dir, maxBatchTokens = 2048) => loadWithProgramInterpreter(dir, maxBatchTokens) },
  ...(CUDA_UNAVAILABLE
    ? []
    : [{ label: 'CUDA engine, fp32', load: (dir: string, maxBatchTokens = 2048) => IgBert.load(dir, { batching: { maxBatchTokens }, device: 'cuda', dtype: 'fp32' }) }]),
];
