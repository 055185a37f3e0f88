// Benchmark harness, not an engine: a stand-in for native/cuda's addon that does no GPU work and answers every run
// with zeros of the right shapes, so that `IGBERT_CUDA_ADDON=scripts/bench/host-only-cuda-addon.cjs igbert embed
// --device cuda ...` measures the host pipeline alone (reading, tokenising, batching, packing, writing) at the batch
// sizes the CUDA engine uses. Never used by tests or by the package.
//
// IGBERT_HOST_ONLY_GPU_TOKENS_PER_S=N makes it stand in for a GPU of that speed as well: batches run one after
// another on a virtual device, each answered when it would have finished (its tokens / N seconds after the one before
// it, or after it was given, whichever is later). Against such a device the wall clock shows what of the host's work
// is not hidden behind the GPU's (a GPU that drains between chunks, a host slower than the GPU); at exit a line on
// stderr says how long the virtual GPU sat idle between batches.
'use strict';
const tokensPerSecond = Number(process.env.IGBERT_HOST_ONLY_GPU_TOKENS_PER_S) || 0;
const device = { busyMs: 0, idleMs: 0, gaps: 0 };
if (tokensPerSecond > 0) {
  process.on('exit', () => {
    const seconds = (ms) => (ms / 1000).toFixed(2);
    process.stderr.write(
      `host-only addon: virtual GPU busy ${seconds(device.busyMs)} s, idle between batches ${seconds(device.idleMs)} s ` +
        `(${device.gaps} gaps over 5 ms)\n`,
    );
  });
}
class Context {
  constructor() {
    this.programs = [];
    this.busyUntil = 0;
  }
  uploadWeight() {
    return 0;
  }
  compile(program) {
    return this.programs.push(program) - 1;
  }
  async run(id, batch) {
    const program = this.programs[id];
    const rows = (spec) => {
      switch (spec.rows) {
        case 'tokens': return batch.inputIds.length;
        case 'sequences': return batch.seqLengths.length;
        case 'headRows': return batch.headRows ? batch.headRows.length : 0;
        case 'hiddenRows': return batch.hiddenRows ? batch.hiddenRows.length : 0;
        default: return batch.groupOffsets ? batch.groupOffsets.length - 1 : 0;
      }
    };
    const out = {};
    for (const { name, tensor } of program.outputs) {
      const spec = program.tensors[tensor];
      out[name] = new Float32Array(rows(spec) * spec.cols);
    }
    if (tokensPerSecond > 0) {
      const now = performance.now();
      if (this.busyUntil > 0 && now > this.busyUntil) {
        device.idleMs += now - this.busyUntil;
        if (now - this.busyUntil > 5) device.gaps++;
      }
      const runMs = (1000 * batch.inputIds.length) / tokensPerSecond;
      device.busyMs += runMs;
      this.busyUntil = Math.max(now, this.busyUntil) + runMs;
      await new Promise((resolve) => setTimeout(resolve, this.busyUntil - now));
    }
    return out;
  }
  memory() {
    return { weightBytes: 0, poolBytes: 0, peakPoolBytes: 0, deviceFreeBytes: 0, deviceTotalBytes: 0 };
  }
  lastProfile() {
    return {};
  }
  dispose() {}
}
module.exports = {
  probe: () => ({
    driverVersion: 0,
    runtimeVersion: 0,
    cublasLtVersion: 0,
    devices: [{ index: 0, name: 'no GPU (host-only harness)', computeCapability: '0.0', totalBytes: 0, freeBytes: 0, multiprocessors: 0 }],
  }),
  Context,
};
