/**
 * The CUDA engine as a device candidate (src/runtime/candidates.ts): a cheap check (addon built and loadable, a GPU
 * visible, a precision it runs), then start: upload the weights and compile nothing yet (programs are compiled on
 * first use, or by prepare()).
 */
import { access } from 'node:fs/promises';
import type { Bert } from '../../bert/modeling.js';
import type { Param } from '../../bert/ops.js';
import type { EngineCandidate, Unavailable } from '../candidates.js';
import type { Engine, Precision } from '../engine.js';
import { MultiEngine } from '../multiEngine.js';
import { AddonUnavailable, loadCudaAddon, type CudaDeviceInfo, type CudaDType, type CudaProbe } from './addon.js';
import { CudaEngine, type TensorData } from './cudaEngine.js';

export const CUDA_PRECISIONS = ['bf16', 'fp16', 'fp32'] as const satisfies readonly CudaDType[];

/** Whether this machine shows an NVIDIA driver's device nodes (then a failure to start CUDA deserves a line). */
async function nvidiaPresent(): Promise<boolean> {
  return access('/dev/nvidiactl').then(
    () => true,
    () => false,
  );
}

/** "13.0" from CUDA's 13000; "13.1.2" from cuBLASLt's 130102. */
export function cudaVersion(version: number, library = false): string {
  if (library) return `${Math.floor(version / 10000)}.${Math.floor(version / 100) % 100}.${version % 100}`;
  return `${Math.floor(version / 1000)}.${Math.floor(version / 10) % 100}`;
}

export interface CudaCandidateOptions {
  precision?: Precision;
  /** GPUs to run on (indices among the visible ones; one may repeat, for two engines on one GPU). Default: all. */
  gpus?: readonly number[];
  /** One-line notes (a GPU taken out of a job). */
  log?: (line: string) => void;
}

/** Probes CUDA, or says why it cannot run here. */
export async function probeCuda(): Promise<CudaProbe | Unavailable> {
  let addon;
  try {
    addon = loadCudaAddon();
  } catch (error) {
    const absent = error instanceof AddonUnavailable && error.absent && !(await nvidiaPresent());
    return { reason: (error as Error).message, absent };
  }
  try {
    const probe = addon.probe();
    if (probe.devices.length === 0) return { reason: 'CUDA sees no GPU (check CUDA_VISIBLE_DEVICES)', absent: !(await nvidiaPresent()) };
    return probe;
  } catch (error) {
    return { reason: `CUDA cannot start: ${(error as Error).message}`, absent: !(await nvidiaPresent()) };
  }
}

export function cudaCandidate(bert: Bert, read: (param: Param) => Promise<TensorData>, options: CudaCandidateOptions = {}): EngineCandidate {
  const precision = options.precision ?? 'bf16';
  const chosen = (probe: CudaProbe): readonly number[] => options.gpus ?? probe.devices.map((d) => d.index);
  return {
    device: 'cuda',
    async check() {
      const probe = await probeCuda();
      if ('reason' in probe) return probe;
      if (!(CUDA_PRECISIONS as readonly string[]).includes(precision)) {
        return { reason: `the CUDA engine runs ${CUDA_PRECISIONS.join(', ')}, not ${precision}` };
      }
      const missing = chosen(probe).filter((gpu) => !probe.devices[gpu]);
      if (missing.length > 0) return { reason: `GPU ${missing.join(', ')} does not exist (${probe.devices.length} visible: 0-${probe.devices.length - 1})` };
      return undefined;
    },
    async start(): Promise<Engine> {
      const addon = loadCudaAddon();
      const probe = addon.probe();
      const runtime = `igbert-cuda (CUDA runtime ${cudaVersion(probe.runtimeVersion)}, driver ${cudaVersion(probe.driverVersion)}, cuBLASLt ${cudaVersion(probe.cublasLtVersion, true)})`;
      const targets = chosen(probe).map((gpu) => {
        const device = probe.devices[gpu] as CudaDeviceInfo;
        return {
          context: new addon.Context({ device: gpu, dtype: precision as CudaDType }),
          info: { runtime, device: 'cuda' as const, deviceName: `${device.name}, GPU ${device.index}`, precision },
        };
      });
      const engines = await CudaEngine.createMany(bert, targets, read);
      return engines.length === 1 ? (engines[0] as CudaEngine) : new MultiEngine(engines, options.log);
    },
  };
}
