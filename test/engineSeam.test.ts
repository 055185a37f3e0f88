/**
 * The engine seam's own logic: choosing a device from the ordered candidate list, and running items through an
 * engine (token-budget batches for its layout, batches in flight, out-of-memory splitting). The engines here are
 * test doubles that record what they were given; real engines are tested against Hugging Face (parity.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PackedBatch } from '../src/batches/packedBatch.js';
import type { ForwardItem, SequenceResult } from '../src/batches/requests.js';
import { InputError, RuntimeFailure } from '../src/errors.js';
import { selectEngine, type EngineCandidate } from '../src/runtime/candidates.js';
import { OUT_OF_MEMORY, type Device, type Engine, type EngineInfo } from '../src/runtime/engine.js';
import { MultiEngine } from '../src/runtime/multiEngine.js';
import { runForward } from '../src/runtime/runner.js';
import { packBatch } from '../src/batches/packedBatch.js';
import { join } from 'node:path';
import { embedEncoded, IgBertModel, openCheckpoint } from '../src/index.js';
import { CHECKPOINTS } from './helpers.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { hasVulkanLoader, nodeCandidates, webgpuObstacle, type WebGpuHost } from '../src/node/engines.js';
import { firstLine } from '../src/runtime/ort/ortSession.js';

function recordingEngine(device: Device, overrides: Partial<EngineInfo> = {}, run?: (batch: PackedBatch) => Promise<SequenceResult[]>): Engine & { batches: PackedBatch[] } {
  const batches: PackedBatch[] = [];
  return {
    batches,
    info: { runtime: 'test double', device, precision: 'fp32', layout: 'packed', batching: {}, concurrency: 1, ...overrides },
    async run(batch) {
      batches.push(batch);
      if (run) return run(batch);
      // Each sequence "returns" its first token id, so results can be traced back to their item.
      return batch.requests.map((_, s) => ({ means: [new Float32Array([batch.inputIds[batch.offsets[s] as number] as number])] }));
    },
    async prepare() {},
    async dispose() {},
  };
}

const candidate = (device: Device, outcome: 'ok' | 'absent' | 'unavailable' | 'throws'): EngineCandidate => ({
  device,
  async check() {
    if (outcome === 'absent') return { reason: `no ${device} here`, absent: true };
    if (outcome === 'unavailable') return { reason: `${device} is not set up` };
    return undefined;
  },
  async start() {
    if (outcome === 'throws') throw new Error(`${device} failed to start`);
    return recordingEngine(device);
  },
});

describe('device candidates', () => {
  test('auto takes the first that starts, skips absent devices silently, and says one line per present one that failed', async () => {
    const lines: string[] = [];
    const chosen = await selectEngine('auto', { cuda: candidate('cuda', 'absent'), webgpu: candidate('webgpu', 'throws'), cpu: candidate('cpu', 'ok') }, (l) => lines.push(l));
    assert.equal(chosen.engine.info.device, 'cpu');
    assert.deepEqual(chosen.passedOver, ['cuda: no cuda here', 'webgpu: webgpu failed to start']);
    assert.deepEqual(lines, ['webgpu is not available (webgpu failed to start); trying cpu.']);
  });

  test('auto says why a device that is present but not set up was passed over', async () => {
    const lines: string[] = [];
    const chosen = await selectEngine('auto', { cuda: candidate('cuda', 'unavailable'), cpu: candidate('cpu', 'ok') }, (l) => lines.push(l));
    assert.equal(chosen.engine.info.device, 'cpu');
    assert.deepEqual(lines, ['cuda is not available (cuda is not set up); trying cpu.']);
  });

  test('an explicit device is that device or an error saying why; webgpu falls back to cpu', async () => {
    await assert.rejects(
      selectEngine('cuda', { cuda: candidate('cuda', 'unavailable'), cpu: candidate('cpu', 'ok') }, () => {}),
      (error: unknown) => error instanceof RuntimeFailure && error.message === 'device cuda cannot run here: cuda is not set up',
    );
    const lines: string[] = [];
    const chosen = await selectEngine('webgpu', { webgpu: candidate('webgpu', 'absent'), cpu: candidate('cpu', 'ok') }, (l) => lines.push(l));
    assert.equal(chosen.engine.info.device, 'cpu');
    assert.deepEqual(lines, ['webgpu is not available (no webgpu here); trying cpu.'], 'asked for by name, even an absent device is reported');
  });

  test('when every candidate fails, one error lists each reason', async () => {
    await assert.rejects(
      selectEngine('auto', { cuda: candidate('cuda', 'unavailable'), cpu: candidate('cpu', 'throws') }, () => {}),
      (error: unknown) =>
        error instanceof RuntimeFailure &&
        error.message === 'no device could run the model (auto): cuda: cuda is not set up; cpu: cpu failed to start',
    );
  });
});

describe('WebGPU on Node says why it cannot start in one clean line (#13 item 14)', () => {
  const host = (over: Partial<WebGpuHost>): WebGpuHost => ({ platform: 'linux', gpuDevice: async () => true, vulkanLoader: async () => true, ...over });

  test('found before Dawn loads: no GPU device (absent: silent under auto), no Vulkan loader (says how to install it)', async () => {
    assert.deepEqual(await webgpuObstacle(host({ gpuDevice: async () => false })), { reason: 'this machine shows no GPU device', absent: true });
    const noVulkan = await webgpuObstacle(host({ vulkanLoader: async () => false }));
    assert.match(noVulkan!.reason, /its loader \(libvulkan\.so\.1\) is not installed; on Debian\/Ubuntu: apt install libvulkan1$/);
    assert.equal(noVulkan!.absent, undefined, 'a GPU without Vulkan is worth a line');
    assert.equal(await webgpuObstacle(host({})), undefined);
    assert.equal(await webgpuObstacle(host({ platform: 'darwin', gpuDevice: async () => false })), undefined, 'Metal/D3D12: no Linux checks');
  });

  test('the Vulkan loader is looked for on LD_LIBRARY_PATH', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'igbert-vulkan-'));
    writeFileSync(join(dir, 'libvulkan.so.1'), '');
    assert.equal(await hasVulkanLoader({ LD_LIBRARY_PATH: `/nowhere:${dir}` }), true);
  });

  test("ONNX Runtime's messages lose source paths, signatures and failed checks", () => {
    const adapter =
      '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters';
    assert.equal(firstLine(adapter), 'Failed to get a WebGPU adapter: No supported adapters');
    const arena =
      "[E:onnxruntime:, sequential_executor.cc:516 ExecuteKernel] Non-zero status code returned while running MatMul node. Name:'/m' Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for requested buffer of size 6442450944\n   at native code";
    assert.equal(firstLine(arena), "Non-zero status code returned while running MatMul node. Name:'/m' Status Message: Failed to allocate memory for requested buffer of size 6442450944");
    assert.equal(firstLine('Invalid input name: x (see the model)'), 'Invalid input name: x (see the model)', 'plain messages stay as they are');
  });

  test('a WebGPU session that cannot start (real ONNX Runtime, past the checks) fails with that clean line', async (t) => {
    const opened = await openCheckpoint(join(CHECKPOINTS, 'mlm-h64'));
    const webgpu = nodeCandidates(opened, {}, () => {}).webgpu!;
    let engine: Engine | undefined;
    try {
      engine = await webgpu.start();
    } catch (error) {
      const message = (error as Error).message;
      assert.doesNotMatch(message, /\.cc:\d|::|\n/, message);
      assert.match(message, /^ONNX Runtime could not create a webgpu session: \S/);
      return;
    }
    await engine.dispose();
    t.skip('WebGPU starts on this machine: there is no failure to look at');
  });
});

const item = (length: number, id: number, record = id + 1): ForwardItem => ({
  tokens: { inputIds: new Int32Array(length).fill(id), tokenTypeIds: new Int32Array(length) },
  request: { means: [[0]] },
  location: { record, id: `r${record}` },
});

describe('running items on an engine', () => {
  test('packed engines batch by total tokens, padded ones by longest x count; results come back by index', async () => {
    const items = [10, 30, 20, 40].map((length, i) => item(length, i));
    for (const [layout, expected] of [['packed', [[3, 1], [2, 0]]], ['padded', [[3], [1, 2], [0]]]] as const) {
      const engine = recordingEngine('cpu', { layout, batching: { maxBatchTokens: 70 } });
      const results: number[] = [];
      await runForward(engine, items, { layer: 1 }, (index, result) => (results[index] = result.means[0]?.[0] as number));
      assert.deepEqual(results, [0, 1, 2, 3]);
      const firstIds = engine.batches.map((b) => [...b.offsets.slice(0, -1)].map((o) => b.inputIds[o]));
      assert.deepEqual(firstIds, expected, layout);
    }
  });

  test('a batch that runs out of memory is split and retried; one sequence that cannot fit is an InputError naming its record', async () => {
    const engine = recordingEngine('cuda', { batching: { maxBatchTokens: 1000 } }, async (batch) => {
      if (batch.inputIds.length > 60) throw new RuntimeFailure('out of memory', { details: { reason: OUT_OF_MEMORY } });
      return batch.requests.map(() => ({ means: [new Float32Array(1)] }));
    });
    let done = 0;
    await runForward(engine, [20, 30, 25, 10].map((l, i) => item(l, i)), { layer: 1 }, () => done++);
    assert.equal(done, 4);
    assert.ok(engine.batches.slice(1).every((b) => b.inputIds.length <= 60 || b.lengths.length > 1));
    await assert.rejects(
      runForward(engine, [item(20, 0), item(90, 1, 7)], { layer: 1 }, () => {}),
      (error: unknown) =>
        error instanceof InputError && error.location.record === 7 && /record 7 \(id "r7"\): 90 tokens do not fit in the memory of cuda/.test(error.message),
    );
  });

  test('other engine failures propagate unchanged', async () => {
    const engine = recordingEngine('cpu', {}, async () => {
      throw new RuntimeFailure('kernel failed');
    });
    await assert.rejects(runForward(engine, [item(5, 0)], { layer: 1 }, () => {}), /kernel failed/);
  });

  test('an engine that takes two batches at once gets at most two in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const engine = recordingEngine('cuda', { concurrency: 2, batching: { maxBatchTokens: 10 } }, async (batch) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return batch.requests.map(() => ({ means: [new Float32Array(1)] }));
    });
    const batches: number[] = [];
    await runForward(engine, Array.from({ length: 6 }, (_, i) => item(10, i)), { layer: 1 }, () => {}, { onBatch: (d) => batches.push(d.tokens) });
    assert.equal(peak, 2);
    assert.deepEqual(batches, [10, 10, 10, 10, 10, 10], 'progress is reported per batch');
  });
});

describe('several engines as one (every GPU of a node)', () => {
  test('batches go to the least busy engine; results come back in input order and equal one engine\'s', async () => {
    const slow = recordingEngine('cuda', { deviceName: 'GPU 0', concurrency: 2 }, async (batch) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return batch.requests.map((_, s) => ({ means: [new Float32Array([batch.inputIds[batch.offsets[s] as number] as number])] }));
    });
    const fast = recordingEngine('cuda', { deviceName: 'GPU 1', concurrency: 2 });
    const group = new MultiEngine([slow, fast]);
    assert.equal(group.info.concurrency, 4);
    assert.equal(group.info.deviceName, '2 GPUs: GPU 0; GPU 1');
    const items = Array.from({ length: 12 }, (_, i) => item(10, i));
    const results: number[] = [];
    await runForward(group, items, { layer: 1 }, (index, result) => (results[index] = result.means[0]?.[0] as number), { batching: { maxBatchTokens: 10 } });
    assert.deepEqual(results, items.map((_, i) => i));
    const [a, b] = group.work();
    assert.equal((a?.batches ?? 0) + (b?.batches ?? 0), 12);
    assert.ok((b?.batches ?? 0) > (a?.batches ?? 0), 'the faster engine takes more batches');
  });

  test('an engine that fails mid-job is taken out, its batch runs on another, no row is lost, the failure is reported', async () => {
    let calls = 0;
    const failing = recordingEngine('cuda', { deviceName: 'GPU 0' }, async (batch) => {
      if (++calls > 2) throw new RuntimeFailure('an illegal memory access was encountered');
      return batch.requests.map((_, s) => ({ means: [new Float32Array([batch.inputIds[batch.offsets[s] as number] as number])] }));
    });
    const lines: string[] = [];
    const group = new MultiEngine([failing, recordingEngine('cuda', { deviceName: 'GPU 1' })], (line) => lines.push(line));
    const items = Array.from({ length: 10 }, (_, i) => item(10, i));
    const results: number[] = [];
    await runForward(group, items, { layer: 1 }, (index, result) => (results[index] = result.means[0]?.[0] as number), { batching: { maxBatchTokens: 10 } });
    assert.deepEqual(results, items.map((_, i) => i));
    assert.equal(lines.length, 1);
    assert.match(lines[0] as string, /^GPU 0 failed and is taken out of this job \(an illegal memory access was encountered\)/);
    assert.equal(group.work()[0]?.failed, 'an illegal memory access was encountered');
  });

  test('out of memory is the batch\'s problem: it reaches the runner (which splits), the engine stays in', async () => {
    const oom = recordingEngine('cuda', {}, async () => {
      throw new RuntimeFailure('out of memory', { details: { reason: OUT_OF_MEMORY } });
    });
    const group = new MultiEngine([oom, recordingEngine('cuda')]);
    await assert.rejects(group.run(packBatch([item(5, 0)], { layer: 1 })), /out of memory/);
    assert.equal(group.work()[0]?.failed, undefined);
  });
});

describe('tasks name the record a failed sequence came from', () => {
  test('a sequence that does not fit even alone is an InputError with its own record number, however records were batched', async () => {
    const opened = await openCheckpoint(join(CHECKPOINTS, 'mlm-h64'));
    const engine = recordingEngine('cuda', {}, async (batch) => {
      if (batch.lengths.some((length) => length > 40)) throw new RuntimeFailure('out of memory', { details: { reason: OUT_OF_MEMORY } });
      return batch.requests.map(() => ({ means: [new Float32Array(128)] }));
    });
    const model = new IgBertModel(opened.checkpoint, engine);
    // Records 5 and 9 of some input, encoded one by one as the CLI pipeline does.
    const encoded = [
      ...model.encode([{ id: 'short', heavy: 'EVQLV' }], 5),
      ...model.encode([{ id: 'long', heavy: 'EVQLVESGGGLVQPGGSLRLSCAASGFNIKDTYIHWVRQAPGKG' }], 9),
    ];
    await assert.rejects(
      embedEncoded(model, encoded),
      (error: unknown) => error instanceof InputError && error.location.record === 9 && error.location.id === 'long',
    );
  });
});
