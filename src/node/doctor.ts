/**
 * What this machine offers igbert (`igbert doctor`): CPU and memory, ONNX Runtime, a GPU for WebGPU, the CUDA
 * engine (built? loadable? which GPUs, driver, cuBLASLt) — and which device `--device auto` would pick, by the same
 * checks the candidate list runs (no weights are read).
 */
import { availableParallelism, cpus, platform, release, totalmem } from 'node:os';
import * as ort from 'onnxruntime-node';
import { DEVICE_ORDER } from '../runtime/candidates.js';
import type { Device } from '../runtime/engine.js';
import { addonPath, type CudaDeviceInfo } from '../runtime/cuda/addon.js';
import { cudaVersion, probeCuda } from '../runtime/cuda/candidate.js';
import { PRODUCER } from '../version.js';
import { webgpuObstacle } from './engines.js';

export interface DeviceReport {
  device: Device;
  /** Whether the candidate's checks pass here (starting it may still fail, e.g. out of memory). */
  usable: boolean;
  detail: string;
}

export interface DoctorReport {
  igbert: string;
  node: string;
  os: string;
  cpu: { model: string; threads: number; memoryBytes: number };
  onnxruntime: string;
  devices: DeviceReport[];
  cuda: { addon: string; driver?: string; runtime?: string; cublasLt?: string; gpus: CudaDeviceInfo[] };
  /** The first device `--device auto` tries whose checks pass (if it then fails to start, the next one runs). */
  auto: Device;
}

export async function doctor(): Promise<DoctorReport> {
  const probe = await probeCuda();
  const cudaOk = !('reason' in probe);
  const webgpu = await webgpuObstacle();
  const threads = availableParallelism();
  const devices: DeviceReport[] = [
    {
      device: 'cuda',
      usable: cudaOk,
      detail: cudaOk
        ? probe.devices.map((d) => `GPU ${d.index}: ${d.name} (compute ${d.computeCapability}, ${(d.totalBytes / 2 ** 30).toFixed(0)} GiB, ${(d.freeBytes / 2 ** 30).toFixed(0)} GiB free)`).join('; ')
        : probe.reason,
    },
    {
      device: 'webgpu',
      usable: webgpu === undefined,
      detail: webgpu
        ? webgpu.reason
        : 'no obstacle found (a GPU device and, on Linux, the Vulkan loader); ONNX Runtime WebGPU may start — try --device webgpu',
    },
    { device: 'cpu', usable: true, detail: `ONNX Runtime CPU, ${threads} threads (fp32, fp16, int8)` },
  ];
  const usable = new Set(devices.filter((d) => d.usable).map((d) => d.device));
  return {
    igbert: PRODUCER.version,
    node: process.version,
    os: `${platform()} ${release()}`,
    cpu: { model: cpus()[0]?.model.trim() ?? 'unknown', threads, memoryBytes: totalmem() },
    onnxruntime: `onnxruntime-node ${ort.env.versions.common}`,
    devices,
    cuda: {
      addon: addonPath(),
      ...(cudaOk
        ? {
            driver: cudaVersion(probe.driverVersion),
            runtime: cudaVersion(probe.runtimeVersion),
            cublasLt: cudaVersion(probe.cublasLtVersion, true),
          }
        : {}),
      gpus: cudaOk ? probe.devices : [],
    },
    auto: DEVICE_ORDER.auto.find((device) => usable.has(device)) ?? 'cpu',
  };
}
