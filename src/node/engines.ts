/**
 * Node's engine candidates, in the order src/runtime/candidates.ts tries them: the native CUDA engine, ONNX
 * Runtime's WebGPU execution provider, ONNX Runtime on the CPU. Each reads the checkpoint's weights its own way.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bertFromStore } from '../bert/fromStore.js';
import type { Bert } from '../bert/modeling.js';
import type { ConvertedFolder } from './convertedFolder.js';
import type { Param } from '../bert/ops.js';
import { CheckpointError } from '../errors.js';
import type { Checkpoint } from '../model.js';
import { cudaCandidate } from '../runtime/cuda/candidate.js';
import type { TensorData } from '../runtime/cuda/cudaEngine.js';
import { readTensorBytes } from '../weights/checkpointFiles.js';
import type { EngineCandidate } from '../runtime/candidates.js';
import type { Device, Engine, Precision } from '../runtime/engine.js';
import { bindNodeWeights, type NodeWeights } from '../runtime/ort/nodeWeights.js';
import { OrtNodeSessionFactory, type OrtNodeDevice } from '../runtime/ort/nodeSessions.js';
import { OrtEngine, type OrtEngineOptions } from '../runtime/ort/ortEngine.js';
import { WEIGHT_DTYPES, type WeightDType } from '../runtime/ort/conversion.js';
import type { SafetensorsFile } from '../weights/safetensors.js';
import type { WeightStore } from '../weights/weightStore.js';
import { pathExists } from '../io/pathExists.js';

/** A checkpoint opened on Node: the engine-neutral part and the files its weights are read from. */
export interface OpenedCheckpoint {
  /** The local folder (a Hub id resolves to its cache snapshot). */
  dir: string;
  files: SafetensorsFile[];
  store: WeightStore;
  checkpoint: Checkpoint;
}

export interface NodeEngineOptions {
  /** Precision; default: the engine's own (fp32 on ONNX Runtime, bf16 on CUDA). */
  dtype?: Precision;
  /** CPU threads for ONNX Runtime (default: all cores). */
  threads?: number;
  /** ONNX Runtime engine settings: attention variant, padded or packed batches. */
  ort?: Omit<OrtEngineOptions, 'threads'>;
  /** The CUDA engine's GPUs (indices among the visible ones; default: every visible GPU). */
  gpus?: readonly number[];
}

/** Whether this machine shows any GPU device node (Linux DRM render nodes or NVIDIA's devices). */
export async function hasGpuDevice(): Promise<boolean> {
  for (const path of ['/dev/dri/renderD128', '/dev/nvidia0', '/dev/nvidiactl']) {
    if (await pathExists(path)) return true;
  }
  return false;
}

const VULKAN_LOADER = 'libvulkan.so.1';
const LIBRARY_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/usr/local/lib'];

/**
 * Whether the Vulkan loader can be found the way the dynamic linker looks (LD_LIBRARY_PATH, the ld.so cache, the
 * usual folders). ONNX Runtime's WebGPU (Dawn) runs on Vulkan on Linux; without the loader Dawn prints a warning with
 * a C++ source path to stderr and finds no adapter.
 */
export async function hasVulkanLoader(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const dirs = [...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...LIBRARY_DIRS];
  for (const dir of dirs) {
    if (await pathExists(join(dir, VULKAN_LOADER))) return true;
  }
  try {
    return (await readFile('/etc/ld.so.cache')).includes(VULKAN_LOADER);
  } catch {
    return false;
  }
}

/** What this machine offers WebGPU, as the facts the check reads (separate so that every case can be tested). */
export interface WebGpuHost {
  platform: NodeJS.Platform;
  gpuDevice: () => Promise<boolean>;
  vulkanLoader: () => Promise<boolean>;
}

const THIS_HOST: WebGpuHost = { platform: process.platform, gpuDevice: hasGpuDevice, vulkanLoader: () => hasVulkanLoader() };

/** Why ONNX Runtime's WebGPU cannot start here, found before Dawn is loaded; undefined when it may. */
export async function webgpuObstacle(host: WebGpuHost = THIS_HOST): Promise<{ reason: string; absent?: boolean } | undefined> {
  if (host.platform !== 'linux') return undefined;
  if (!(await host.gpuDevice())) return { reason: 'this machine shows no GPU device', absent: true };
  if (!(await host.vulkanLoader())) {
    return { reason: `WebGPU runs on Vulkan here and its loader (${VULKAN_LOADER}) is not installed; on Debian/Ubuntu: apt install libvulkan1` };
  }
  return undefined;
}

/** The ONNX engine's weights for a precision: bound once, when the first ONNX candidate starts. */
export type OrtWeightsFor = (precision: WeightDType) => Promise<NodeWeights>;

function ortCandidate(
  device: OrtNodeDevice,
  bert: Bert,
  source: string,
  bind: OrtWeightsFor,
  options: NodeEngineOptions,
): EngineCandidate {
  const precision = options.dtype ?? 'fp32';
  return {
    device,
    async check() {
      if (!(WEIGHT_DTYPES as readonly string[]).includes(precision)) {
        return { reason: `ONNX Runtime runs ${WEIGHT_DTYPES.join(', ')}, not ${precision}` };
      }
      return device === 'webgpu' ? webgpuObstacle() : undefined;
    },
    async start(): Promise<Engine> {
      const bound = await bind(precision as WeightDType);
      const engine = new OrtEngine(
        { bert, source, precision, ...bound },
        new OrtNodeSessionFactory(device, options.threads),
        { ...options.ort, ...(options.threads ? { threads: options.threads } : {}) },
      );
      // WebGPU fails at session creation when no adapter can be had: find out now, while another device can step in.
      if (device === 'webgpu') {
        try {
          await engine.prepare({ hiddenStateLayer: bert.config.num_hidden_layers, logProbs: false, logits: false, pooler: false });
        } catch (error) {
          await engine.dispose();
          throw error;
        }
      }
      return engine;
    },
  };
}

/** A checkpoint tensor's values as stored, for engines that convert on the device. */
export async function storedTensor(opened: OpenedCheckpoint, param: Param): Promise<TensorData> {
  const info = opened.store.get(param.name, [...param.shape]);
  const bytes = await readTensorBytes(info);
  const { buffer, byteOffset, byteLength } = bytes;
  switch (info.dtype) {
    case 'F32':
      return { data: new Float32Array(buffer, byteOffset, byteLength / 4), type: 'f32' };
    case 'F16':
      return { data: new Uint16Array(buffer, byteOffset, byteLength / 2), type: 'f16' };
    case 'BF16':
      return { data: new Uint16Array(buffer, byteOffset, byteLength / 2), type: 'bf16' };
    default:
      throw new CheckpointError(`tensor ${info.name} in ${info.file} has dtype ${info.dtype}; weights must be F32, F16 or BF16.`);
  }
}

/** Every engine Node has, by device. */
export function nodeCandidates(
  opened: OpenedCheckpoint,
  options: NodeEngineOptions,
  log: (line: string) => void,
): Partial<Record<Device, EngineCandidate>> {
  const bert = bertFromStore(opened.checkpoint.config, opened.store);
  const bind: OrtWeightsFor = (precision) => bindNodeWeights(opened.checkpoint.config, opened.store, opened.files, precision, log);
  return {
    cuda: cudaCandidate(bert, (param) => storedTensor(opened, param), {
      log,
      ...(options.dtype ? { precision: options.dtype } : {}),
      ...(options.gpus ? { gpus: options.gpus } : {}),
    }),
    webgpu: ortCandidate('webgpu', bert, opened.dir, bind, options),
    cpu: ortCandidate('cpu', bert, opened.dir, bind, options),
  };
}

/**
 * The candidates for an \`igbert convert\` folder: ONNX Runtime over the converted weights in place. The CUDA engine
 * reads checkpoints (safetensors), not converted ONNX folders.
 */
export function convertedFolderCandidates(folder: ConvertedFolder, options: NodeEngineOptions): Partial<Record<Device, EngineCandidate>> {
  const source = folder.checkpoint.source;
  const bind: OrtWeightsFor = async (precision) => {
    if (precision !== folder.precision) throw new Error(`${source} holds ${folder.precision} weights, not ${precision}`);
    return folder.weights;
  };
  const only = { ...options, dtype: folder.precision };
  return {
    cuda: {
      device: 'cuda',
      check: async () => ({
        reason: `${source} is \`igbert convert\` (ONNX) output; the CUDA engine runs Hugging Face checkpoints (config.json + safetensors)`,
        absent: options.dtype === undefined,
      }),
      start: () => Promise.reject(new Error('unreachable')),
    },
    webgpu: ortCandidate('webgpu', folder.bert, source, bind, only),
    cpu: ortCandidate('cpu', folder.bert, source, bind, only),
  };
}
