/**
 * The native CUDA engine's Node-API addon (native/cuda/, built by `npm run build:cuda`): its JS API, and loading it
 * lazily — the package installs and works without it, and only `--device cuda` (or "auto" on a GPU machine) asks
 * for it. native/cuda/README.md documents the C++ side.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CudaDeviceInfo {
  index: number;
  name: string;
  computeCapability: string;
  totalBytes: number;
  freeBytes: number;
  multiprocessors: number;
}

export interface CudaProbe {
  driverVersion: number;
  runtimeVersion: number;
  cublasLtVersion: number;
  devices: CudaDeviceInfo[];
}

export type NativeRows = 'tokens' | 'sequences' | 'headRows' | 'hiddenRows' | 'groups';

export type NativeTensor =
  | { rows: NativeRows; cols: number; dtype: 'compute' | 'f32' }
  | { viewOf: number; col: number; cols: number };

export type NativeOp =
  | { op: 'embeddings'; out: number; word: number; position: number; tokenType: number; lnWeight: number; lnBias: number; eps: number }
  /** `residual` (optional): out = input·Wᵀ + b + residual, in the GEMM (its C input); activation must be 'none'. */
  | { op: 'linear'; out: number; input: number; weights: number[]; biases: number[]; activation: 'none' | 'gelu' | 'tanh'; residual?: number }
  | { op: 'addLayerNorm'; out: number; input: number; residual: number; lnWeight: number; lnBias: number; eps: number }
  | { op: 'layerNorm'; out: number; input: number; lnWeight: number; lnBias: number; eps: number }
  | { op: 'attention'; out: number; q: number; k: number; v: number; heads: number }
  | { op: 'firstTokens'; out: number; input: number }
  | { op: 'gatherRows'; out: number; input: number; rows: 'headRows' | 'hiddenRows' }
  | { op: 'meanRows'; out: number; input: number }
  | { op: 'logSoftmax'; out: number; input: number };

export interface NativeProgram {
  tensors: NativeTensor[];
  ops: NativeOp[];
  outputs: { name: string; tensor: number }[];
}

export interface NativeBatch {
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  seqLengths: Int32Array;
  headRows?: Int32Array;
  hiddenRows?: Int32Array;
  groupOffsets?: Int32Array;
  groupRows?: Int32Array;
}

export type CudaDType = 'bf16' | 'fp16' | 'fp32';

export interface CudaContext {
  uploadWeight(data: Float32Array | Uint16Array, sourceType: 'f32' | 'f16' | 'bf16', rows: number, cols: number, kind: 'matrix' | 'vector'): number;
  compile(program: NativeProgram): number;
  run(program: number, batch: NativeBatch): Promise<Record<string, Float32Array>>;
  memory(): { weightBytes: number; poolBytes: number; peakPoolBytes: number; deviceFreeBytes: number; deviceTotalBytes: number };
  lastProfile(): Record<string, number>;
  dispose(): void;
}

export interface CudaAddon {
  probe(): CudaProbe;
  Context: new (options: { device: number; dtype: CudaDType; profile?: boolean }) => CudaContext;
}

/** The addon's path: $IGBERT_CUDA_ADDON, else native/cuda/build/igbert_cuda.node in this package. */
export function addonPath(): string {
  const override = process.env['IGBERT_CUDA_ADDON'];
  if (override) return resolve(override);
  // src/runtime/cuda/ (tsx) and dist/runtime/cuda/ (built) are both three folders below the package root.
  const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  return join(packageRoot, 'native', 'cuda', 'build', 'igbert_cuda.node');
}

/** Why the addon cannot be used, with what to do; `absent` when it was never built. */
export class AddonUnavailable extends Error {
  constructor(
    message: string,
    readonly absent: boolean,
  ) {
    super(message);
  }
}

let loaded: CudaAddon | undefined;

/** Loads the addon once; throws AddonUnavailable saying why and how to build it. */
export function loadCudaAddon(): CudaAddon {
  if (loaded) return loaded;
  const path = addonPath();
  if (!existsSync(path)) {
    throw new AddonUnavailable(
      `the CUDA engine is not built (no ${path}): run \`npm run build:cuda\` where nvcc (CUDA 12 or 13) is installed; see native/cuda/README.md`,
      true,
    );
  }
  try {
    loaded = createRequire(import.meta.url)(path) as CudaAddon;
  } catch (error) {
    throw new AddonUnavailable(
      `the CUDA engine at ${path} could not be loaded (${(error as Error).message.split('\n')[0]}); ` +
        'rebuild it with `npm run build:cuda` on this machine, and check that the CUDA libraries (libcublasLt) are on the library path',
      false,
    );
  }
  return loaded;
}
