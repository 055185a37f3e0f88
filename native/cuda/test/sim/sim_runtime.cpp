// The simulator's execution engine (fibers, barriers, warp collectives) and its runtime API (host memory as
// device memory, synchronous streams). See cuda_sim.h for the model and its limits.
#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cuda_sim.h"

#if defined(__SANITIZE_ADDRESS__)
#define SIM_ASAN 1
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

// Context switch between fibers: saves the callee-saved registers on the current stack, stores the stack pointer
// in *save, loads `next` and restores. (ucontext's swapcontext makes two signal-mask system calls per switch,
// which made the simulator 20x slower.) x86-64 System V only.
#if !defined(__x86_64__)
#error "the CUDA simulator's fiber switch is written for x86-64"
#endif
extern "C" void igb_sim_switch(void** save, void* next);
asm(R"(
  .text
  .globl igb_sim_switch
  .type igb_sim_switch, @function
igb_sim_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size igb_sim_switch, .-igb_sim_switch
)");

namespace sim {

thread_local ThreadState* g_current = nullptr;
thread_local dim3 g_blockIdx, g_blockDim, g_gridDim;

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "\n[cuda-sim] FATAL: %s\n", msg.c_str());
  std::abort();
}

constexpr size_t kStackBytes = 512 << 10;

enum class State { Ready, AtBlockBarrier, AtWarpBarrier, Done };
enum class WarpOp { None, Shuffle, Ldmatrix, Mma };

struct Fiber {
  void* sp = nullptr;  // saved stack pointer while switched out
  void* stack = nullptr;
  ThreadState ts;
  State state = State::Ready;
  WarpOp op = WarpOp::None;
  void* fakeStack = nullptr;
};

// Per-warp exchange slots for collectives.
struct WarpSlots {
  uint32_t u[32][6];
  const void* ptr[32];
  unsigned mask[32];
};

// One OS thread's block executor: fibers for one block at a time.
struct BlockRunner {
  std::vector<Fiber> fibers;
  std::vector<WarpSlots> warps;
  void* schedSp = nullptr;
  const std::function<void()>* body = nullptr;
  Fiber* running = nullptr;
  const void* schedStackBottom = nullptr;
  size_t schedStackSize = 0;
  std::vector<char> dynSmem;
  std::mt19937 rng{12345};

  ~BlockRunner() {
    for (auto& f : fibers) {
      if (!f.stack) continue;
#ifdef SIM_ASAN
      ASAN_UNPOISON_MEMORY_REGION(f.stack, kStackBytes);
#endif
      munmap(f.stack, kStackBytes);
    }
  }

  void ensure(size_t n) {
    if (fibers.size() < n) {
      const size_t old = fibers.size();
      fibers.resize(n);
      for (size_t i = old; i < n; ++i) {
        void* s = mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (s == MAP_FAILED) die("mmap of a fiber stack failed");
        fibers[i].stack = s;
      }
    }
    warps.resize((n + 31) / 32);
  }

  void switchTo(Fiber& f) {
    running = &f;
    g_current = &f.ts;
#ifdef SIM_ASAN
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, f.stack, kStackBytes);
#endif
    igb_sim_switch(&schedSp, f.sp);
#ifdef SIM_ASAN
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    running = nullptr;
  }

  // Called on a fiber: give control back to the scheduler in the given state.
  void yield(State s) {
    Fiber& f = *running;
    f.state = s;
#ifdef SIM_ASAN
    __sanitizer_start_switch_fiber(s == State::Done ? nullptr : &f.fakeStack, schedStackBottom, schedStackSize);
#endif
    igb_sim_switch(&f.sp, schedSp);
#ifdef SIM_ASAN
    __sanitizer_finish_switch_fiber(f.fakeStack, &schedStackBottom, &schedStackSize);
#endif
  }

  static void entry();

  void runBlock(unsigned nthreads) {
    ensure(nthreads);
    for (unsigned i = 0; i < nthreads; ++i) {
      Fiber& f = fibers[i];
      f.state = State::Ready;
      f.op = WarpOp::None;
      f.ts.tid = dim3(i % g_blockDim.x, (i / g_blockDim.x) % g_blockDim.y, i / (g_blockDim.x * g_blockDim.y));
      f.ts.lane = int(i % 32);
      f.ts.warp = int(i / 32);
      f.ts.npending = 0;
      f.ts.committed = 0;
#ifdef SIM_ASAN
      // A finished fiber never returns from its frames, so their redzones stay poisoned in ASan's shadow memory
      // (which normally the epilogues clear): clear it before the stack is reused.
      ASAN_UNPOISON_MEMORY_REGION(f.stack, kStackBytes);
#endif
      // A fresh stack that igb_sim_switch "returns" into entry() from: six zeroed callee-saved registers, then
      // entry's address, then a fake return address (entry never returns), the top 16-byte aligned.
      uintptr_t* top = reinterpret_cast<uintptr_t*>(static_cast<char*>(f.stack) + kStackBytes);
      top[-1] = 0;
      top[-2] = reinterpret_cast<uintptr_t>(&BlockRunner::entry);
      for (int r = 3; r <= 8; ++r) top[-r] = 0;
      f.sp = top - 8;
    }
    // Scheduling: one warp at a time. The chosen warp's ready lanes run (in a shuffled order) until each blocks
    // at a collective or __syncthreads; a warp whose lanes all wait at the same collective is released and runs
    // on. The same warp keeps going as long as it can — all the way to the next __syncthreads — before another
    // (picked at random) starts: a warp that reads shared memory other warps have not written yet, or overwrites
    // what they have not read yet, gets stale data and fails the test.
    const unsigned nwarps = (nthreads + 31) / 32;
    unsigned current = unsigned(rng() % nwarps);
    std::vector<unsigned> lanes, candidates;
    auto laneRange = [&](unsigned w) { return std::make_pair(w * 32, std::min(nthreads, w * 32 + 32)); };
    auto runnable = [&](unsigned w) {  // 0: no, 1: has ready lanes, 2: all lanes at one collective
      const auto [b, e] = laneRange(w);
      bool ready = false, all = true, any = false, anyDone = false;
      for (unsigned i = b; i < e; ++i) {
        ready = ready || fibers[i].state == State::Ready;
        all = all && (fibers[i].state == State::AtWarpBarrier || fibers[i].state == State::Done);
        any = any || fibers[i].state == State::AtWarpBarrier;
        anyDone = anyDone || fibers[i].state == State::Done;
      }
      if (ready) return 1;
      if (!all || !any) return 0;
      if (anyDone || e - b != 32) die("warp collective (full mask) while some lanes of warp " + std::to_string(w) + " have exited");
      for (unsigned i = b; i < e; ++i)
        if (fibers[i].op != fibers[b].op) die("lanes of warp " + std::to_string(w) + " are at different warp collectives");
      return 2;
    };
    for (;;) {
      candidates.clear();
      for (unsigned w = 0; w < nwarps; ++w)
        if (runnable(w)) candidates.push_back(w);
      if (candidates.empty()) {
        bool allDone = true, allAtBarrier = true;
        for (unsigned i = 0; i < nthreads; ++i) {
          allDone = allDone && fibers[i].state == State::Done;
          allAtBarrier = allAtBarrier && (fibers[i].state == State::AtBlockBarrier || fibers[i].state == State::Done);
        }
        if (allDone) return;
        if (allAtBarrier) {  // __syncthreads: every live thread arrived (exited threads do not count, as on sm_70+)
          for (unsigned i = 0; i < nthreads; ++i)
            if (fibers[i].state == State::AtBlockBarrier) fibers[i].state = State::Ready;
          current = unsigned(rng() % nwarps);
          continue;
        }
        std::string states;
        for (unsigned i = 0; i < nthreads; ++i) states += "0123"[int(fibers[i].state)];
        die("deadlock in block (" + std::to_string(g_blockIdx.x) + "," + std::to_string(g_blockIdx.y) +
            "): threads wait at different barriers (0 ready, 1 __syncthreads, 2 warp op, 3 exited): " + states);
      }
      if (std::find(candidates.begin(), candidates.end(), current) == candidates.end())
        current = candidates[rng() % candidates.size()];
      const auto [b, e] = laneRange(current);
      if (runnable(current) == 2)
        for (unsigned i = b; i < e; ++i) fibers[i].state = State::Ready;
      lanes.clear();
      for (unsigned i = b; i < e; ++i)
        if (fibers[i].state == State::Ready) lanes.push_back(i);
      std::shuffle(lanes.begin(), lanes.end(), rng);
      for (unsigned i : lanes) switchTo(fibers[i]);
    }
  }

  // Warp collective protocol: publish, wait for all 32 lanes, compute from everyone's slots, wait again so no
  // lane overwrites its slot before the others have read it.
  void warpBarrier(WarpOp op) {
    running->op = op;
    yield(State::AtWarpBarrier);
  }
};

thread_local BlockRunner* g_runner = nullptr;

void BlockRunner::entry() {
  BlockRunner* self = g_runner;
#ifdef SIM_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &self->schedStackBottom, &self->schedStackSize);
#endif
  (*self->body)();
  if (g_current->npending) die("a thread exited with cp.async copies it never waited for");
  self->yield(State::Done);
  die("a finished fiber was resumed");
}

struct SimError {
  cudaError_t e = cudaSuccess;
};
thread_local cudaError_t g_lastError = cudaSuccess;

}  // namespace

void setLastError(cudaError_t e) {
  if (g_lastError == cudaSuccess) g_lastError = e;
}

void syncthreads() {
  if (!g_runner || !g_runner->running) die("__syncthreads outside a kernel");
  g_runner->running->op = WarpOp::None;
  g_runner->yield(State::AtBlockBarrier);
}

void* dynamicShared() { return g_runner->dynSmem.data(); }

uint32_t shuffle(uint32_t value, int srcLaneOrMask, bool isXor, unsigned mask) {
  if (mask != 0xffffffffu) die("only full-mask shuffles are emulated");
  BlockRunner& r = *g_runner;
  WarpSlots& w = r.warps[size_t(g_current->warp)];
  const int lane = g_current->lane;
  w.u[lane][0] = value;
  r.warpBarrier(WarpOp::Shuffle);
  const int src = isXor ? (lane ^ srcLaneOrMask) : srcLaneOrMask;
  if (src < 0 || src > 31) die("shuffle source lane out of range");
  const uint32_t out = w.u[src][0];
  r.warpBarrier(WarpOp::Shuffle);
  return out;
}

void ldmatrixX4(uint32_t (&out)[4], const void* rowAddress, bool trans) {
  BlockRunner& r = *g_runner;
  WarpSlots& w = r.warps[size_t(g_current->warp)];
  const int lane = g_current->lane;
  if (reinterpret_cast<uintptr_t>(rowAddress) % 16 != 0) die("ldmatrix row address is not 16-byte aligned");
  w.ptr[lane] = rowAddress;
  r.warpBarrier(WarpOp::Ldmatrix);
  auto elem = [&](int matrix, int row, int col) {  // 16-bit element (row, col) of matrix `matrix`
    uint16_t v;
    std::memcpy(&v, static_cast<const char*>(w.ptr[matrix * 8 + row]) + col * 2, 2);
    return uint32_t(v);
  };
  for (int m = 0; m < 4; ++m) {
    if (!trans) out[m] = elem(m, lane / 4, 2 * (lane % 4)) | (elem(m, lane / 4, 2 * (lane % 4) + 1) << 16);
    else out[m] = elem(m, 2 * (lane % 4), lane / 4) | (elem(m, 2 * (lane % 4) + 1, lane / 4) << 16);
  }
  r.warpBarrier(WarpOp::Ldmatrix);
}

void mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1, bool bf16) {
  BlockRunner& r = *g_runner;
  WarpSlots& w = r.warps[size_t(g_current->warp)];
  const int lane = g_current->lane;
  for (int i = 0; i < 4; ++i) w.u[lane][i] = a[i];
  w.u[lane][4] = b0;
  w.u[lane][5] = b1;
  r.warpBarrier(WarpOp::Mma);
  auto half = [&](uint32_t word, int hi) {
    const unsigned short bits = static_cast<unsigned short>(hi ? word >> 16 : word & 0xffffu);
    return bf16 ? double(__bfloat162float(__ushort_as_bfloat16(bits))) : double(__half2float(__ushort_as_half(bits)));
  };
  // Rebuild A (16x16) and B (16x8) from the documented fragment layouts (g = lane/4, t = lane%4):
  //   A: reg0 (g, 2t..2t+1)  reg1 (g+8, 2t..)  reg2 (g, 2t+8..)  reg3 (g+8, 2t+8..)
  //   B: reg0 (k 2t..2t+1, n g)  reg1 (k 2t+8..2t+9, n g)
  double A[16][16], B[16][8];
  for (int l = 0; l < 32; ++l) {
    const int g = l / 4, t = l % 4;
    for (int h = 0; h < 2; ++h) {
      A[g][2 * t + h] = half(w.u[l][0], h);
      A[g + 8][2 * t + h] = half(w.u[l][1], h);
      A[g][2 * t + 8 + h] = half(w.u[l][2], h);
      A[g + 8][2 * t + 8 + h] = half(w.u[l][3], h);
      B[2 * t + h][g] = half(w.u[l][4], h);
      B[2 * t + 8 + h][g] = half(w.u[l][5], h);
    }
  }
  // This lane's D elements: d0,d1 = (g, 2t..2t+1), d2,d3 = (g+8, 2t..2t+1).
  const int g = lane / 4, t = lane % 4;
  for (int i = 0; i < 4; ++i) {
    const int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
    double acc = d[i];
    for (int k = 0; k < 16; ++k) acc += A[row][k] * B[k][col];
    d[i] = float(acc);
  }
  r.warpBarrier(WarpOp::Mma);
}

void cpAsync16(void* smem, const void* gmem, bool valid) {
  ThreadState& ts = *g_current;
  if (reinterpret_cast<uintptr_t>(smem) % 16 != 0 || (valid && reinterpret_cast<uintptr_t>(gmem) % 16 != 0))
    die("cp.async of 16 bytes needs 16-byte aligned addresses");
  if (ts.npending == 64) die("more than 64 cp.async copies outstanding in one thread");
  ts.pending[ts.npending++] = PendingCopy{smem, gmem, valid, ts.committed};
}

namespace {
// Performs the pending copies of groups before `group` (all of them: INT_MAX) and keeps the rest pending.
void completeCopiesBefore(int group) {
  ThreadState& ts = *g_current;
  int kept = 0;
  for (int i = 0; i < ts.npending; ++i) {
    const PendingCopy& c = ts.pending[i];
    if (c.group >= group) {
      ts.pending[kept++] = c;
      continue;
    }
    if (c.valid) std::memcpy(c.dst, c.src, 16);
    else std::memset(c.dst, 0, 16);
  }
  ts.npending = kept;
}
}  // namespace

void cpAsyncWaitAll() { completeCopiesBefore(INT_MAX); }

void cpAsyncCommit() { ++g_current->committed; }

void cpAsyncWaitGroup(int n) {
  if (n < 0) die("cp.async.wait_group needs n >= 0");
  completeCopiesBefore(g_current->committed - n);
}

namespace {
std::mutex g_attrMu;
std::map<const void*, int> g_maxDynamicShared;
}  // namespace

void setMaxDynamicShared(const void* kernel, int bytes) {
  std::lock_guard<std::mutex> lock(g_attrMu);
  g_maxDynamicShared[kernel] = bytes;
}

void runGrid(dim3 grid, dim3 block, size_t dynamicSmem, const std::function<void()>& body, const void* kernel) {
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  size_t smemLimit = 48 * 1024;  // more only after cudaFuncSetAttribute(MaxDynamicSharedMemorySize), as on a GPU
  if (kernel) {
    std::lock_guard<std::mutex> lock(g_attrMu);
    const auto it = g_maxDynamicShared.find(kernel);
    if (it != g_maxDynamicShared.end()) smemLimit = std::max<size_t>(smemLimit, size_t(it->second));
  }
  if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 ||
      grid.z > 65535 || dynamicSmem > smemLimit) {
    setLastError(cudaErrorInvalidConfiguration);
    return;
  }
  if (threads % 32 != 0) die("block size must be a multiple of 32 in the simulator");
  const uint64_t blocks = uint64_t(grid.x) * grid.y * grid.z;
  const unsigned workers = unsigned(std::min<uint64_t>(blocks, std::max(1u, std::thread::hardware_concurrency())));
  std::atomic<uint64_t> next{0};
  auto work = [&] {
    BlockRunner runner;
    runner.body = &body;
    runner.dynSmem.assign(dynamicSmem + 16, char(0xff));
    g_runner = &runner;
    g_blockDim = block;
    g_gridDim = grid;
    for (uint64_t b = next++; b < blocks; b = next++) {
      g_blockIdx = dim3(unsigned(b % grid.x), unsigned((b / grid.x) % grid.y), unsigned(b / (uint64_t(grid.x) * grid.y)));
      runner.runBlock(unsigned(threads));
    }
    g_runner = nullptr;
    g_current = nullptr;
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < workers; ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

}  // namespace sim

// ---------------------------------------------------------------------------------------------------------
// Runtime API

namespace {

struct Device {
  std::mutex mu;
  std::map<void*, size_t> allocations;
  size_t used = 0, poolCurrent = 0, poolHigh = 0;
  size_t total() const {
    const char* e = std::getenv("IGB_SIM_DEVICE_BYTES");
    return e ? size_t(std::strtoull(e, nullptr, 10)) : (size_t(4) << 30);
  }
};
Device& device() {
  static Device d;
  return d;
}
thread_local int g_device = 0;

cudaError_t fail(cudaError_t e) {
  sim::setLastError(e);
  return e;
}

cudaError_t allocate(void** p, size_t bytes, bool pool) {
  Device& d = device();
  std::lock_guard<std::mutex> lk(d.mu);
  const size_t rounded = (std::max<size_t>(bytes, 1) + 255) & ~size_t(255);
  if (d.used + rounded > d.total()) {
    *p = nullptr;
    return fail(cudaErrorMemoryAllocation);
  }
  void* q = std::aligned_alloc(256, rounded);
  if (!q) return fail(cudaErrorMemoryAllocation);
  std::memset(q, 0xff, rounded);  // NaN in every float format: reads of unwritten memory show up
  d.allocations[q] = rounded;
  d.used += rounded;
  if (pool) {
    d.poolCurrent += rounded;
    d.poolHigh = std::max(d.poolHigh, d.poolCurrent);
  }
  *p = q;
  return cudaSuccess;
}

cudaError_t release(void* p, bool pool) {
  if (!p) return cudaSuccess;
  Device& d = device();
  std::lock_guard<std::mutex> lk(d.mu);
  auto it = d.allocations.find(p);
  if (it == d.allocations.end()) {
    std::fprintf(stderr, "[cuda-sim] free of a pointer that is not an allocation\n");
    std::abort();
  }
  d.used -= it->second;
  if (pool) d.poolCurrent -= it->second;
  d.allocations.erase(it);
  std::free(p);
  return cudaSuccess;
}

using Clock = std::chrono::steady_clock;

}  // namespace

struct SimStream { int unused; };
struct SimEvent { Clock::time_point t; };
struct SimPool { int unused; };

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    default: return "cudaErrorUnknown";
  }
}
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    default: return "unknown error";
  }
}
cudaError_t cudaGetLastError() {
  const cudaError_t e = sim::g_lastError;
  sim::g_lastError = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return sim::g_lastError; }
cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) {
  if (d != 0) return fail(cudaErrorInvalidDevice);
  g_device = d;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* d) {
  *d = g_device;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice);
  if (attr == cudaDevAttrMaxSharedMemoryPerMultiprocessor) *value = 228 * 1024;
  else if (attr == cudaDevAttrMaxSharedMemoryPerBlockOptin) *value = 227 * 1024;
  else return fail(cudaErrorInvalidValue);
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int d) {
  if (d != 0) return fail(cudaErrorInvalidDevice);
  std::memset(p, 0, sizeof(*p));
  std::snprintf(p->name, sizeof(p->name), "igbert CUDA simulator (CPU)");
  p->major = 9;
  p->minor = 0;
  p->totalGlobalMem = device().total();
  p->multiProcessorCount = int(std::thread::hardware_concurrency());
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* freeBytes, size_t* totalBytes) {
  Device& d = device();
  std::lock_guard<std::mutex> lk(d.mu);
  *totalBytes = d.total();
  *freeBytes = d.total() - d.used;
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaMalloc(void** p, size_t bytes) { return allocate(p, bytes, false); }
cudaError_t cudaFree(void* p) { return release(p, false); }
cudaError_t cudaMallocFromPoolAsync(void** p, size_t bytes, cudaMemPool_t, cudaStream_t) { return allocate(p, bytes, true); }
cudaError_t cudaMallocAsync(void** p, size_t bytes, cudaStream_t) { return allocate(p, bytes, true); }
cudaError_t cudaFreeAsync(void* p, cudaStream_t) { return release(p, true); }
cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned) {
  *p = std::aligned_alloc(256, (std::max<size_t>(bytes, 1) + 255) & ~size_t(255));
  return *p ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}
cudaError_t cudaFreeHost(void* p) {
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  if (bytes) std::memcpy(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind k, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, k);
}
cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind, cudaStream_t) {
  if (width > dpitch || width > spitch) return fail(cudaErrorInvalidValue);
  for (size_t r = 0; r < height; ++r)
    std::memcpy(static_cast<char*>(dst) + r * dpitch, static_cast<const char*>(src) + r * spitch, width);
  return cudaSuccess;
}
cudaError_t cudaMemset(void* p, int v, size_t bytes) {
  std::memset(p, v, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int v, size_t bytes, cudaStream_t) { return cudaMemset(p, v, bytes); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = new SimStream{};
  return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t* s) { return cudaStreamCreateWithFlags(s, 0); }
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete s;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventCreate(cudaEvent_t* e) {
  *e = new SimEvent{Clock::now()};
  return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) { return cudaEventCreate(e); }
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
  e->t = Clock::now();
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
  *ms = std::chrono::duration<float, std::milli>(b->t - a->t).count();
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete e;
  return cudaSuccess;
}
cudaError_t cudaMemPoolCreate(cudaMemPool_t* pool, const cudaMemPoolProps*) {
  *pool = new SimPool{};
  return cudaSuccess;
}
cudaError_t cudaMemPoolDestroy(cudaMemPool_t pool) {
  delete pool;
  return cudaSuccess;
}
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t, cudaMemPoolAttr, void*) { return cudaSuccess; }
cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t, cudaMemPoolAttr attr, void* value) {
  Device& d = device();
  std::lock_guard<std::mutex> lk(d.mu);
  // The simulator frees immediately, so "reserved" is what is in use (the real pool keeps freed memory).
  *static_cast<uint64_t*>(value) = attr == cudaMemPoolAttrReservedMemHigh ? d.poolHigh : d.poolCurrent;
  return cudaSuccess;
}
