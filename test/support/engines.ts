/**
 * The engines the reference-parity tests run through the engine seam: ONNX Runtime on the CPU, and the CUDA engine's
 * TypeScript half with its programs run by the float64 interpreter (./programInterpreter.ts). The CUDA kernels
 * themselves are tested on a GPU (npm run test:cuda).
 */
import { IgBert, type IgBertModel } from '../../src/index.js';
import { loadWithProgramInterpreter } from './programInterpreter.js';

export interface EngineUnderTest {
  label: string;
  load(dir: string, maxBatchTokens?: number): Promise<IgBertModel>;
}

export const ENGINES_UNDER_TEST: readonly EngineUnderTest[] = [
  { label: 'ONNX Runtime', load: (dir, maxBatchTokens = 2048) => IgBert.load(dir, { batching: { maxBatchTokens }, device: 'cpu' }) },
  { label: 'CUDA engine program, CPU interpreter', load: (dir, maxBatchTokens = 2048) => loadWithProgramInterpreter(dir, maxBatchTokens) },
];
