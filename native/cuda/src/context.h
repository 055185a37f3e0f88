// The engine behind one JS Context: one device, one dtype, one CUDA stream, one cuBLASLt handle, the uploaded
// weights, the compiled programs and the per-run memory (a stream-ordered pool for device tensors, a pool of
// pinned host buffers for inputs and outputs). Usable from C++ directly (the tests) and through the Node-API
// binding (addon.cpp), which calls run() on libuv worker threads.
//
// Thread safety: uploadWeight/compile/run/memory may be called from any thread. The launch phase of a run
// (and uploads and compiles) hold the context mutex; a run releases it before waiting for the GPU, so several
// runs can be queued on the stream while earlier ones execute.
#pragma once
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "program.h"
#include "types.h"

namespace igb {

enum class SourceType { F32, F16, BF16 };

struct BatchLayout;

struct ContextOptions {
  int device = 0;
  DType dtype = DType::BF16;
  bool profile = false;       // CUDA events around every op; lastProfile() reports per-kind times
  uint64_t maxPoolBytes = 0;  // optional cap on the run memory pool (0 = the device's memory); exceeding it is CUDA_OOM
};

// One packed batch (see the JS NativeBatch). The optional arrays are present when their has* flag is set.
struct Batch {
  std::vector<int32_t> inputIds, tokenTypeIds, seqLengths;
  bool hasHeadRows = false, hasHiddenRows = false, hasGroups = false;
  std::vector<int32_t> headRows, hiddenRows, groupOffsets, groupRows;
};

struct Output {
  std::string name;
  int64_t rows = 0, cols = 0;
  std::unique_ptr<float[]> data;  // rows * cols, row-major
};

struct MemoryInfo {
  uint64_t weightBytes = 0, poolBytes = 0, peakPoolBytes = 0, deviceFreeBytes = 0, deviceTotalBytes = 0;
};

struct DeviceInfo {
  int index = 0;
  std::string name, computeCapability;
  uint64_t totalBytes = 0, freeBytes = 0;
  int multiprocessors = 0;
};

struct ProbeInfo {
  int driverVersion = 0, runtimeVersion = 0;
  uint64_t cublasLtVersion = 0;
  std::vector<DeviceInfo> devices;
};

// Throws igb::Error (CUDA_ERROR) with the CUDA error string when CUDA cannot start.
ProbeInfo probe();

class Context {
 public:
  explicit Context(const ContextOptions& options);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // data: rows*cols elements of `type` (fp32, or fp16/bf16 bits). Vectors are stored fp32, matrices in the
  // context dtype; the conversion runs on the GPU.
  int uploadWeight(const void* data, SourceType type, int64_t rows, int64_t cols, bool vector);
  int compile(const ProgramDesc& program);
  // Checks a batch against a compiled program (lengths, token ids, row indices); throws INVALID_ARGUMENT.
  void validate(int program, const Batch& batch) const;
  // Runs a batch and waits for it. Throws igb::Error: CUDA_OOM (the run's memory is released and the context
  // stays usable), CUDA_ERROR, INVALID_ARGUMENT.
  std::vector<Output> run(int program, const Batch& batch);

  // A run queued on another thread is counted from the moment it is queued (admit) until it finished
  // (release), so that dispose() waits for it. run() called between them does not count itself again.
  void admit();
  void release();
  std::vector<Output> runAdmitted(int program, const Batch& batch);

  MemoryInfo memory();
  std::map<std::string, double> lastProfile();
  // Frees everything after waiting for runs in flight. Idempotent; later calls of anything else throw.
  void dispose();

  DType dtype() const { return options_.dtype; }
  int device() const { return options_.device; }

 private:
  struct Storage;
  struct Weight;
  struct Program;
  struct RunMemory;
  struct Pinned;
  class PinnedPool;
  struct Profiler;

  void checkLive() const;
  std::shared_ptr<Program> program(int id) const;
  void* poolAlloc(RunMemory& mem, size_t bytes);
  void poolFree(RunMemory& mem, void* p);
  void enqueueOp(const Program& prog, size_t i, RunMemory& mem, const BatchLayout& layout, Profiler* prof);

  ContextOptions options_;
  mutable std::mutex mu_;          // launch phase: stream, cuBLASLt, pool, weights, programs
  std::mutex waitMu_;              // runs in flight / dispose
  std::condition_variable idle_;
  int inflight_ = 0;
  bool disposed_ = false;

  struct Cuda;
  std::unique_ptr<Cuda> cuda_;     // stream, pool, gemm, events (CUDA types kept out of this header)
  std::unique_ptr<PinnedPool> pinned_;
  std::vector<std::unique_ptr<Weight>> weights_;
  std::vector<std::shared_ptr<Program>> programs_;
  std::shared_ptr<std::atomic<uint64_t>> weightBytes_;
  uint64_t poolInUse_ = 0;
  bool poison_ = false;

  std::mutex profileMu_;
  std::map<std::string, double> lastProfile_;
};

}  // namespace igb
