// Context: weights, compiled programs and runs (see context.h).
#include "context.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "check.h"
#include "gemm.h"
#include "kernels/kernels.h"

namespace igb {

// ---------------------------------------------------------------------------------------------------------
// Pieces

// A weight buffer (plain cudaMalloc). Weights are shared_ptr-owned so that compile() can move a fused QKV's
// three matrices into one buffer and re-point their ids while programs compiled earlier keep the old one.
struct Context::Storage {
  void* ptr = nullptr;
  size_t bytes = 0;
  int device = 0;
  std::shared_ptr<std::atomic<uint64_t>> counter;
  Storage(size_t b, int dev, std::shared_ptr<std::atomic<uint64_t>> c) : bytes(b), device(dev), counter(std::move(c)) {
    IGB_CUDA(cudaMalloc(&ptr, std::max<size_t>(b, 256)));
    *counter += bytes;
  }
  ~Storage() {
    if (!ptr) return;
    int cur = -1;
    cudaGetDevice(&cur);
    if (cur != device) cudaSetDevice(device);
    cudaFree(ptr);
    if (cur != device && cur >= 0) cudaSetDevice(cur);
    *counter -= bytes;
  }
};

struct Context::Weight {
  std::shared_ptr<Storage> storage;
  size_t offset = 0;
  WeightMeta meta;
  DType dtype = DType::F32;
  void* ptr() const { return static_cast<char*>(storage->ptr) + offset; }
  size_t bytes() const { return size_t(meta.length()) * dtypeSize(dtype); }
};

struct Context::Program {
  ProgramPlan plan;
  struct OpData {
    const void* word = nullptr;
    const void* tokenType = nullptr;
    const void* position = nullptr;
    const float* gamma = nullptr;
    const float* beta = nullptr;
    const void* linearWeight = nullptr;  // [outFeatures, inFeatures], the context dtype
    const void* bias = nullptr;          // outFeatures elements of the out tensor's dtype, or null
  };
  std::vector<OpData> data;
  std::vector<std::shared_ptr<Storage>> keep;  // every buffer the pointers above point into
};

struct Context::Pinned {
  void* ptr = nullptr;
  size_t cap = 0;
};

// Pinned host buffers for the inputs and outputs of runs, reused across runs (cudaHostAlloc is slow).
class Context::PinnedPool {
 public:
  ~PinnedPool() {
    for (auto& f : free_) cudaFreeHost(f.second);
  }
  Pinned acquire(size_t bytes) {
    if (bytes == 0) return {};
    size_t cap = 64 << 10;
    while (cap < bytes) cap <<= 1;
    {
      std::lock_guard<std::mutex> lk(mu_);
      auto it = free_.lower_bound(cap);
      if (it != free_.end() && it->first <= cap * 4) {
        Pinned p{it->second, it->first};
        free_.erase(it);
        return p;
      }
    }
    Pinned p;
    IGB_CUDA(cudaHostAlloc(&p.ptr, cap, cudaHostAllocPortable));
    p.cap = cap;
    return p;
  }
  void release(Pinned& p) {
    if (!p.ptr) return;
    std::lock_guard<std::mutex> lk(mu_);
    if (free_.size() < 16) free_.emplace(p.cap, p.ptr);
    else cudaFreeHost(p.ptr);
    p = {};
  }

 private:
  std::mutex mu_;
  std::multimap<size_t, void*> free_;
};

// CUDA objects of a context.
struct Context::Cuda {
  int device = 0;
  cudaStream_t stream = nullptr;
  cudaMemPool_t pool = nullptr;
  std::unique_ptr<Gemm> gemm;
  std::mutex eventMu;
  std::vector<cudaEvent_t> events;  // free list

  cudaEvent_t event(bool timing) {
    // Timing events are pooled; the per-run completion event is created without timing (cheaper to record).
    if (timing) {
      std::lock_guard<std::mutex> lk(eventMu);
      if (!events.empty()) {
        cudaEvent_t e = events.back();
        events.pop_back();
        return e;
      }
    }
    cudaEvent_t e = nullptr;
    IGB_CUDA(cudaEventCreateWithFlags(&e, timing ? cudaEventDefault : cudaEventDisableTiming));
    return e;
  }
  void recycle(cudaEvent_t e) {
    std::lock_guard<std::mutex> lk(eventMu);
    events.push_back(e);
  }
  ~Cuda() {
    cudaSetDevice(device);
    if (stream) cudaStreamSynchronize(stream);
    for (cudaEvent_t e : events) cudaEventDestroy(e);
    gemm.reset();
    if (pool) cudaMemPoolDestroy(pool);
    if (stream) cudaStreamDestroy(stream);
  }
};

// Per-run device memory: every pool allocation the run holds (released on any failure).
struct Context::RunMemory {
  std::vector<void*> tensors;             // per program tensor root
  std::vector<std::pair<void*, size_t>> live;
};

struct Context::Profiler {
  struct Mark {
    const char* kind;
    cudaEvent_t start, stop;
  };
  std::vector<Mark> marks;
};

// Where each part of a batch lives in the one int32 metadata buffer uploaded per run.
struct BatchLayout {
  int64_t count[kRowKinds] = {};  // rows of each RowKind: T, S, R, N, G
  int64_t ids = 0, types = 0, positions = 0, offsets = 0, headRows = 0, hiddenRows = 0, groupOffsets = 0, groupRows = 0;
  int64_t attnTiles[kAttnKernels] = {}, numTiles[kAttnKernels] = {}, tileRows[kAttnKernels] = {};  // per AttnKernel
  int64_t totalInts = 0;
  int32_t* dev = nullptr;
  const int32_t* at(int64_t offset) const { return dev + offset; }
  const AttnTile* tiles(int64_t offset) const { return reinterpret_cast<const AttnTile*>(dev + offset); }
};

namespace {

int64_t tileCount(const std::vector<int32_t>& lengths, int tile) {
  int64_t n = 0;
  for (int32_t len : lengths) n += (len + tile - 1) / tile;
  return n;
}

void fillTiles(int32_t* dst, const std::vector<int32_t>& lengths, int tile) {
  int32_t start = 0;
  for (int32_t len : lengths) {
    for (int32_t q0 = 0; q0 < len; q0 += tile) {
      dst[0] = start;
      dst[1] = len;
      dst[2] = q0;
      dst[3] = 0;
      dst += 4;
    }
    start += len;
  }
}

void validateBatch(const ProgramPlan& plan, const Batch& b) {
  const int64_t T = int64_t(b.inputIds.size());
  if (T == 0) throwInvalid("batch: inputIds is empty");
  if (T > INT32_MAX / 2) throwInvalid("batch: too many tokens");
  if (int64_t(b.tokenTypeIds.size()) != T)
    throwInvalid("batch: tokenTypeIds has " + std::to_string(b.tokenTypeIds.size()) + " entries, inputIds " + std::to_string(T));
  if (b.seqLengths.empty()) throwInvalid("batch: seqLengths is empty");
  int64_t sum = 0;
  for (size_t s = 0; s < b.seqLengths.size(); ++s) {
    const int32_t len = b.seqLengths[s];
    if (len < 1) throwInvalid("batch: seqLengths[" + std::to_string(s) + "] = " + std::to_string(len) + " (every sequence needs a token)");
    if (len > plan.positions)
      throwInvalid("batch: sequence " + std::to_string(s) + " has " + std::to_string(len) + " tokens but the position table has " +
                   std::to_string(plan.positions) + " rows");
    sum += len;
  }
  if (sum != T) throwInvalid("batch: seqLengths sum to " + std::to_string(sum) + " but there are " + std::to_string(T) + " tokens");
  for (int64_t t = 0; t < T; ++t) {
    if (b.inputIds[size_t(t)] < 0 || b.inputIds[size_t(t)] >= plan.vocab)
      throwInvalid("batch: inputIds[" + std::to_string(t) + "] = " + std::to_string(b.inputIds[size_t(t)]) +
                   " is outside the vocabulary (" + std::to_string(plan.vocab) + " rows)");
    if (b.tokenTypeIds[size_t(t)] < 0 || b.tokenTypeIds[size_t(t)] >= plan.tokenTypes)
      throwInvalid("batch: tokenTypeIds[" + std::to_string(t) + "] = " + std::to_string(b.tokenTypeIds[size_t(t)]) +
                   " is outside the token type table (" + std::to_string(plan.tokenTypes) + " rows)");
  }
  auto rowIds = [&](const std::vector<int32_t>& v, const char* name) {
    for (size_t i = 0; i < v.size(); ++i)
      if (v[i] < 0 || v[i] >= T)
        throwInvalid(std::string("batch: ") + name + "[" + std::to_string(i) + "] = " + std::to_string(v[i]) +
                     " is not a packed token index (0 <= r < " + std::to_string(T) + ")");
  };
  if (plan.usesRows[size_t(RowKind::HeadRows)] && !b.hasHeadRows) throwInvalid("batch: the program needs headRows");
  if (plan.usesRows[size_t(RowKind::HiddenRows)] && !b.hasHiddenRows) throwInvalid("batch: the program needs hiddenRows");
  if (plan.usesRows[size_t(RowKind::Groups)] && !b.hasGroups) throwInvalid("batch: the program needs groupOffsets and groupRows");
  if (b.hasHeadRows) rowIds(b.headRows, "headRows");
  if (b.hasHiddenRows) rowIds(b.hiddenRows, "hiddenRows");
  if (b.hasGroups) {
    const auto& off = b.groupOffsets;
    if (off.empty() || off[0] != 0) throwInvalid("batch: groupOffsets must start with 0");
    for (size_t g = 0; g + 1 < off.size(); ++g)
      if (off[g + 1] <= off[g])
        throwInvalid("batch: group " + std::to_string(g) + " is empty or groupOffsets decreases (groupOffsets[" +
                     std::to_string(g) + "] = " + std::to_string(off[g]) + ", [" + std::to_string(g + 1) +
                     "] = " + std::to_string(off[g + 1]) + ")");
    if (int64_t(off.back()) != int64_t(b.groupRows.size()))
      throwInvalid("batch: groupOffsets ends at " + std::to_string(off.back()) + " but groupRows has " +
                   std::to_string(b.groupRows.size()) + " entries");
    rowIds(b.groupRows, "groupRows");
  }
}

BatchLayout layoutFor(const ProgramPlan& plan, const Batch& b) {
  BatchLayout L;
  const int64_t T = int64_t(b.inputIds.size()), S = int64_t(b.seqLengths.size());
  L.count[size_t(RowKind::Tokens)] = T;
  L.count[size_t(RowKind::Sequences)] = S;
  L.count[size_t(RowKind::HeadRows)] = b.hasHeadRows ? int64_t(b.headRows.size()) : 0;
  L.count[size_t(RowKind::HiddenRows)] = b.hasHiddenRows ? int64_t(b.hiddenRows.size()) : 0;
  const int64_t G = b.hasGroups ? int64_t(b.groupOffsets.size()) - 1 : 0;
  L.count[size_t(RowKind::Groups)] = G;
  int64_t off = 0;
  auto take = [&](int64_t n) {  // 16-byte aligned segments
    const int64_t o = off;
    off += (n + 3) & ~int64_t(3);
    return o;
  };
  L.ids = take(T);
  L.types = take(T);
  L.positions = take(T);
  L.offsets = take(S + 1);
  L.headRows = take(L.count[size_t(RowKind::HeadRows)]);
  L.hiddenRows = take(L.count[size_t(RowKind::HiddenRows)]);
  L.groupOffsets = take(G + 1);
  L.groupRows = take(b.hasGroups ? int64_t(b.groupRows.size()) : 0);
  for (int a = 0; a < kAttnKernels; ++a) {
    L.tileRows[a] = plan.attnTile[size_t(a)];
    L.numTiles[a] = L.tileRows[a] ? tileCount(b.seqLengths, int(L.tileRows[a])) : 0;
    L.attnTiles[a] = take(L.numTiles[a] * 4);
  }
  L.totalInts = off;
  return L;
}

void fillMeta(int32_t* h, const BatchLayout& L, const Batch& b) {
  std::memset(h, 0, size_t(L.totalInts) * 4);
  auto copy = [&](int64_t at, const std::vector<int32_t>& v) { std::memcpy(h + at, v.data(), v.size() * 4); };
  copy(L.ids, b.inputIds);
  copy(L.types, b.tokenTypeIds);
  int32_t start = 0;
  for (size_t s = 0; s < b.seqLengths.size(); ++s) {
    h[L.offsets + int64_t(s)] = start;
    for (int32_t p = 0; p < b.seqLengths[s]; ++p) h[L.positions + start + p] = p;  // positions restart per sequence
    start += b.seqLengths[s];
  }
  h[L.offsets + int64_t(b.seqLengths.size())] = start;
  if (b.hasHeadRows) copy(L.headRows, b.headRows);
  if (b.hasHiddenRows) copy(L.hiddenRows, b.hiddenRows);
  if (b.hasGroups) {
    copy(L.groupOffsets, b.groupOffsets);
    copy(L.groupRows, b.groupRows);
  }
  for (int a = 0; a < kAttnKernels; ++a)
    if (L.numTiles[a]) fillTiles(h + L.attnTiles[a], b.seqLengths, int(L.tileRows[a]));
}

std::string cudaMessage(cudaError_t e) { return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e); }

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// probe

ProbeInfo probe() {
  ProbeInfo p;
  cudaDriverGetVersion(&p.driverVersion);  // 0 when no driver is installed
  IGB_CUDA(cudaRuntimeGetVersion(&p.runtimeVersion));
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    std::string why = cudaMessage(e);
    if (p.driverVersion == 0) why += " (no NVIDIA driver found)";
    else if (p.driverVersion < p.runtimeVersion)
      why += " (the driver supports CUDA " + std::to_string(p.driverVersion / 1000) + "." +
             std::to_string(p.driverVersion % 1000 / 10) + ", this build needs " + std::to_string(p.runtimeVersion / 1000) + "." +
             std::to_string(p.runtimeVersion % 1000 / 10) + ")";
    throw Error(kCudaError, "CUDA is not available: " + why);
  }
  p.cublasLtVersion = Gemm::libraryVersion();
  int previous = 0;
  cudaGetDevice(&previous);
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp prop{};
    IGB_CUDA(cudaGetDeviceProperties(&prop, i));
    DeviceInfo d;
    d.index = i;
    d.name = prop.name;
    d.computeCapability = std::to_string(prop.major) + "." + std::to_string(prop.minor);
    d.multiprocessors = prop.multiProcessorCount;
    IGB_CUDA(cudaSetDevice(i));
    size_t freeB = 0, totalB = 0;
    IGB_CUDA(cudaMemGetInfo(&freeB, &totalB));
    d.freeBytes = freeB;
    d.totalBytes = totalB;
    p.devices.push_back(d);
  }
  if (n > 0) cudaSetDevice(previous);
  return p;
}

// ---------------------------------------------------------------------------------------------------------
// Context lifecycle

Context::Context(const ContextOptions& options)
    : options_(options), weightBytes_(std::make_shared<std::atomic<uint64_t>>(0)) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    throw Error(kCudaError, "CUDA is not available: " + cudaMessage(e));
  }
  if (options.device < 0 || options.device >= n)
    throwInvalid("device " + std::to_string(options.device) + " does not exist (" + std::to_string(n) + " CUDA devices)");
  IGB_CUDA(cudaSetDevice(options.device));
  cuda_ = std::make_unique<Cuda>();
  cuda_->device = options.device;
  IGB_CUDA(cudaStreamCreateWithFlags(&cuda_->stream, cudaStreamNonBlocking));
  // The run pool: stream-ordered allocations that are never handed back to the driver between runs
  // (release threshold = max), so after the first batches no run calls the driver's allocator.
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.handleTypes = cudaMemHandleTypeNone;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = options.device;
  IGB_CUDA(cudaMemPoolCreate(&cuda_->pool, &props));
  uint64_t threshold = UINT64_MAX;
  IGB_CUDA(cudaMemPoolSetAttribute(cuda_->pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  // IGBERT_CUDA_GEMM_TUNE=1: 16-bit GEMMs take the fastest of the heuristic's 8 first algorithms instead of its first.
  // Off by default: measured on an H200 at IgBert size it gained 2.6% on one GEMM of four and nothing on the others,
  // cost ~60 ms for every new bucket of M (PLL and scans see many), and two processes may time differently.
  const char* tune = std::getenv("IGBERT_CUDA_GEMM_TUNE");
  cuda_->gemm = std::make_unique<Gemm>(options.device, options.dtype == DType::F32, tune && std::string(tune) == "1");
  if (const char* p = std::getenv("IGBERT_CUDA_POISON")) poison_ = std::string(p) == "1";
  pinned_ = std::make_unique<PinnedPool>();
}

Context::~Context() {
  try {
    dispose();
  } catch (...) {
  }
}

void Context::dispose() {
  {
    std::unique_lock<std::mutex> lk(waitMu_);
    if (disposed_) return;
    disposed_ = true;
    idle_.wait(lk, [&] { return inflight_ == 0; });
  }
  std::lock_guard<std::mutex> lk(mu_);
  cudaSetDevice(options_.device);
  if (cuda_ && cuda_->stream) cudaStreamSynchronize(cuda_->stream);
  programs_.clear();
  weights_.clear();
  cuda_.reset();
  pinned_.reset();
}

void Context::checkLive() const {
  std::lock_guard<std::mutex> lk(const_cast<std::mutex&>(waitMu_));
  if (disposed_) throwInvalid("the context has been disposed");
}

void Context::admit() {
  std::lock_guard<std::mutex> lk(waitMu_);
  if (disposed_) throwInvalid("the context has been disposed");
  ++inflight_;
}

void Context::release() {
  std::lock_guard<std::mutex> lk(waitMu_);
  if (--inflight_ == 0) idle_.notify_all();
}

// ---------------------------------------------------------------------------------------------------------
// Weights and programs

int Context::uploadWeight(const void* data, SourceType type, int64_t rows, int64_t cols, bool vector) {
  checkLive();
  if (rows < 1 || cols < 1) throwInvalid("uploadWeight: rows and cols must be >= 1");
  const DType dst = vector ? DType::F32 : options_.dtype;
  const DType src = type == SourceType::F32 ? DType::F32 : type == SourceType::F16 ? DType::F16 : DType::BF16;
  const size_t n = size_t(rows) * size_t(cols);
  std::lock_guard<std::mutex> lk(mu_);
  IGB_CUDA(cudaSetDevice(options_.device));
  auto w = std::make_unique<Weight>();
  w->storage = std::make_shared<Storage>(n * dtypeSize(dst), options_.device, weightBytes_);
  w->meta = WeightMeta{true, rows, cols, vector};
  w->dtype = dst;
  cudaStream_t s = cuda_->stream;
  if (src == dst) {
    IGB_CUDA(cudaMemcpyAsync(w->ptr(), data, n * dtypeSize(src), cudaMemcpyHostToDevice, s));
  } else {
    void* tmp = nullptr;
    IGB_CUDA(cudaMallocFromPoolAsync(&tmp, n * dtypeSize(src), cuda_->pool, s));
    IGB_CUDA(cudaMemcpyAsync(tmp, data, n * dtypeSize(src), cudaMemcpyHostToDevice, s));
    launchConvert(TensorRef{tmp, int64_t(cols), src}, TensorRef{w->ptr(), int64_t(cols), dst}, rows, cols, s);
    IGB_CUDA(cudaFreeAsync(tmp, s));
  }
  IGB_CUDA(cudaStreamSynchronize(s));  // the caller's host array may go away after we return
  weights_.push_back(std::move(w));
  return int(weights_.size() - 1);
}

int Context::compile(const ProgramDesc& desc) {
  checkLive();
  std::lock_guard<std::mutex> lk(mu_);
  IGB_CUDA(cudaSetDevice(options_.device));
  std::vector<WeightMeta> metas;
  for (const auto& w : weights_) metas.push_back(w->meta);
  PlanOptions po;
  if (const char* a = std::getenv("IGBERT_CUDA_ATTENTION")) po.forceSimpleAttention = std::string(a) == "simple";
  if (const char* f = std::getenv("IGBERT_CUDA_FLASH_TILE")) po.flashQueryTile = std::string(f) == "64" ? 64 : kFlashQueryTile;
  auto prog = std::make_shared<Program>();
  prog->plan = planProgram(desc, metas, options_.dtype, po);
  if (const int tile = prog->plan.attnTile[size_t(AttnKernel::Flash)]) prog->plan.flashStages = flashAttentionStages(tile);
  const ProgramPlan& plan = prog->plan;
  prog->data.resize(plan.desc.ops.size());
  cudaStream_t s = cuda_->stream;
  std::vector<std::shared_ptr<Storage>> retired;  // buffers whose contents moved; freed after the copies ran
  auto use = [&](int id) -> Weight& {
    Weight& w = *weights_[size_t(id)];
    prog->keep.push_back(w.storage);
    return w;
  };
  for (size_t i = 0; i < plan.desc.ops.size(); ++i) {
    const OpDesc& op = plan.desc.ops[i];
    Program::OpData& d = prog->data[i];
    if (op.kind == OpKind::Embeddings) {
      d.word = use(op.word).ptr();
      d.tokenType = use(op.tokenType).ptr();
      d.position = use(op.position).ptr();
    }
    if (op.kind == OpKind::Embeddings || op.kind == OpKind::LayerNorm || op.kind == OpKind::AddLayerNorm) {
      d.gamma = static_cast<const float*>(use(op.lnWeight).ptr());
      d.beta = static_cast<const float*>(use(op.lnBias).ptr());
    }
    if (op.kind != OpKind::Linear) continue;
    // Several weights = one GEMM over their rows concatenated. If they are not already adjacent in one
    // buffer, move them into a new one (and re-point their ids: no duplicate copy stays on the device).
    std::vector<Weight*> ws;
    for (int id : op.weights) ws.push_back(weights_[size_t(id)].get());
    bool adjacent = true;
    size_t next = ws[0]->offset;
    for (Weight* w : ws) {
      adjacent = adjacent && w->storage == ws[0]->storage && w->offset == next;
      next += w->bytes();
    }
    if (!adjacent) {
      size_t total = 0;
      for (Weight* w : ws) total += w->bytes();
      auto st = std::make_shared<Storage>(total, options_.device, weightBytes_);
      size_t at = 0;
      for (Weight* w : ws) {
        IGB_CUDA(cudaMemcpyAsync(static_cast<char*>(st->ptr) + at, w->ptr(), w->bytes(), cudaMemcpyDeviceToDevice, s));
        retired.push_back(w->storage);
        w->storage = st;
        w->offset = at;
        at += w->bytes();
      }
    }
    d.linearWeight = use(op.weights[0]).ptr();
    // Bias in the output's dtype (what cuBLASLt's bias epilogue reads), concatenated like the weights;
    // missing blocks are zeros.
    const DType outType = plan.tensors[size_t(op.out)].dtype;
    if (std::any_of(op.biases.begin(), op.biases.end(), [](int b) { return b >= 0; })) {
      auto st = std::make_shared<Storage>(size_t(plan.ops[i].outFeatures) * dtypeSize(outType), options_.device, weightBytes_);
      size_t at = 0;
      for (size_t j = 0; j < op.weights.size(); ++j) {
        const int64_t rows = weights_[size_t(op.weights[j])]->meta.rows;
        char* dst = static_cast<char*>(st->ptr) + at * dtypeSize(outType);
        if (op.biases[j] >= 0) {
          launchConvert(TensorRef{weights_[size_t(op.biases[j])]->ptr(), rows, DType::F32}, TensorRef{dst, rows, outType}, 1,
                        rows, s);
        } else {
          IGB_CUDA(cudaMemsetAsync(dst, 0, size_t(rows) * dtypeSize(outType), s));
        }
        at += size_t(rows);
      }
      d.bias = st->ptr;
      prog->keep.push_back(st);
    }
  }
  IGB_CUDA(cudaStreamSynchronize(s));
  retired.clear();
  programs_.push_back(prog);
  return int(programs_.size() - 1);
}

std::shared_ptr<Context::Program> Context::program(int id) const {
  std::lock_guard<std::mutex> lk(mu_);
  if (id < 0 || size_t(id) >= programs_.size()) throwInvalid("program " + std::to_string(id) + " was not compiled by this context");
  return programs_[size_t(id)];
}

void Context::validate(int id, const Batch& batch) const {
  checkLive();
  validateBatch(program(id)->plan, batch);
}

// ---------------------------------------------------------------------------------------------------------
// Runs

void* Context::poolAlloc(RunMemory& mem, size_t bytes) {
  if (bytes == 0) return nullptr;
  bytes = (bytes + 255) & ~size_t(255);
  if (options_.maxPoolBytes && poolInUse_ + bytes > options_.maxPoolBytes)
    throw Error(kOom, "run memory pool limit reached: " + std::to_string(poolInUse_ + bytes) + " bytes needed, maxPoolBytes is " +
                          std::to_string(options_.maxPoolBytes));
  void* p = nullptr;
  IGB_CUDA(cudaMallocFromPoolAsync(&p, bytes, cuda_->pool, cuda_->stream));
  mem.live.emplace_back(p, bytes);
  poolInUse_ += bytes;
  // Testing aid (IGBERT_CUDA_POISON=1): NaN-fill every run tensor so a kernel that leaves rows unwritten shows.
  if (poison_) IGB_CUDA(cudaMemsetAsync(p, 0xff, bytes, cuda_->stream));
  return p;
}

void Context::poolFree(RunMemory& mem, void* p) {
  if (!p) return;
  for (size_t i = 0; i < mem.live.size(); ++i) {
    if (mem.live[i].first != p) continue;
    poolInUse_ -= mem.live[i].second;
    mem.live[i] = mem.live.back();
    mem.live.pop_back();
    IGB_CUDA(cudaFreeAsync(p, cuda_->stream));
    return;
  }
}

void Context::enqueueOp(const Program& prog, size_t i, RunMemory& mem, const BatchLayout& L, Profiler* prof) {
  const ProgramPlan& plan = prog.plan;
  const OpDesc& op = plan.desc.ops[i];
  const OpPlan& opl = plan.ops[i];
  const Program::OpData& d = prog.data[i];
  cudaStream_t s = cuda_->stream;
  for (int r : opl.allocBefore) {
    const TensorPlan& t = plan.tensors[size_t(r)];
    mem.tensors[size_t(r)] = poolAlloc(mem, size_t(L.count[size_t(t.rows)]) * size_t(t.ld) * dtypeSize(t.dtype));
  }
  auto ref = [&](int id) {
    const TensorPlan& t = plan.tensors[size_t(id)];
    char* root = static_cast<char*>(mem.tensors[size_t(t.root)]);  // null for a tensor of zero rows
    return TensorRef{root ? root + t.col * int64_t(dtypeSize(t.dtype)) : nullptr, t.ld, t.dtype};
  };
  auto rows = [&](int id) { return L.count[size_t(plan.tensors[size_t(id)].rows)]; };
  auto cols = [&](int id) { return plan.tensors[size_t(id)].cols; };
  auto timed = [&](const char* kind, auto&& launch) {
    if (!prof) return launch();
    cudaEvent_t a = cuda_->event(true), b = cuda_->event(true);
    prof->marks.push_back({kind, a, b});
    IGB_CUDA(cudaEventRecord(a, s));
    launch();
    IGB_CUDA(cudaEventRecord(b, s));
  };
  const float eps = float(op.eps);
  switch (op.kind) {
    case OpKind::Embeddings:
      timed("embeddings", [&] {
        launchEmbeddings(L.at(L.ids), L.at(L.types), L.at(L.positions), L.count[0], d.word, d.tokenType, d.position,
                         options_.dtype, cols(op.out), d.gamma, d.beta, eps, ref(op.out), s);
      });
      break;
    case OpKind::Linear: {
      const TensorRef in = ref(op.input), out = ref(op.out);
      const TensorRef res = op.residual >= 0 ? ref(op.residual) : TensorRef{};
      timed("gemm", [&] {
        cuda_->gemm->linear(rows(op.input), opl.outFeatures, opl.inFeatures, d.linearWeight, options_.dtype, in.ptr, in.ld,
                            out.ptr, out.dtype, out.ld, d.bias, res.ptr, res.ld, s);
      });
      if (op.activation != Activation::None)
        timed("elementwise", [&] { launchActivation(out, rows(op.out), cols(op.out), op.activation, s); });
      break;
    }
    case OpKind::AddLayerNorm: {
      const TensorRef res = ref(op.residual);
      timed("layernorm", [&] {
        launchLayerNorm(ref(op.input), &res, rows(op.input), cols(op.input), d.gamma, d.beta, eps, ref(op.out), s);
      });
      break;
    }
    case OpKind::LayerNorm:
      timed("layernorm", [&] {
        launchLayerNorm(ref(op.input), nullptr, rows(op.input), cols(op.input), d.gamma, d.beta, eps, ref(op.out), s);
      });
      break;
    case OpKind::Attention:
      timed("attention", [&] {
        const int a = int(opl.attention);
        const AttnTile* tiles = L.tiles(L.attnTiles[a]);
        switch (opl.attention) {
          case AttnKernel::Flash:
            launchAttentionFlash(ref(op.q), ref(op.k), ref(op.v), ref(op.out), op.heads, tiles, L.numTiles[a], int(L.tileRows[a]),
                                 prog.plan.flashStages, s);
            break;
          case AttnKernel::Tiled:
            launchAttentionTiled(ref(op.q), ref(op.k), ref(op.v), ref(op.out), op.heads, opl.headDim, tiles, L.numTiles[a], s);
            break;
          case AttnKernel::Simple:
            launchAttentionSimple(ref(op.q), ref(op.k), ref(op.v), ref(op.out), op.heads, opl.headDim, tiles, L.numTiles[a], s);
            break;
        }
      });
      break;
    case OpKind::FirstTokens:
      timed("other", [&] { launchGatherRows(ref(op.input), L.at(L.offsets), rows(op.out), cols(op.out), ref(op.out), s); });
      break;
    case OpKind::GatherRows: {
      const int32_t* index = L.at(op.gather == RowKind::HeadRows ? L.headRows : L.hiddenRows);
      timed("other", [&] { launchGatherRows(ref(op.input), index, rows(op.out), cols(op.out), ref(op.out), s); });
      break;
    }
    case OpKind::MeanRows: {
      const TensorRef out = ref(op.out);
      timed("other", [&] {
        launchMeanRows(ref(op.input), L.at(L.groupOffsets), L.at(L.groupRows), rows(op.out), cols(op.out),
                       static_cast<float*>(out.ptr), out.ld, s);
      });
      break;
    }
    case OpKind::LogSoftmax: {
      const TensorRef out = ref(op.out);
      timed("other", [&] {
        launchLogSoftmax(ref(op.input), rows(op.input), cols(op.input), static_cast<float*>(out.ptr), out.ld, s);
      });
      break;
    }
  }
  for (int r : opl.freeAfter) {
    poolFree(mem, mem.tensors[size_t(r)]);
    mem.tensors[size_t(r)] = nullptr;
  }
}

std::vector<Output> Context::run(int id, const Batch& batch) {
  admit();
  struct Release {
    Context* c;
    ~Release() { c->release(); }
  } release{this};
  return runAdmitted(id, batch);
}

std::vector<Output> Context::runAdmitted(int id, const Batch& batch) {
  // First, on this (worker) thread: anything CUDA below, the pinned allocations too, must not create or use
  // a context on another device.
  IGB_CUDA(cudaSetDevice(options_.device));
  const std::shared_ptr<Program> prog = program(id);
  const ProgramPlan& plan = prog->plan;
  validateBatch(plan, batch);
  BatchLayout L = layoutFor(plan, batch);

  // Outputs: rows, cols and where each lands in the pinned download buffer.
  std::vector<Output> outs;
  std::vector<size_t> hostOffset;
  size_t outFloats = 0;
  for (const auto& o : plan.desc.outputs) {
    const TensorPlan& t = plan.tensors[size_t(o.second)];
    Output out;
    out.name = o.first;
    out.rows = L.count[size_t(t.rows)];
    out.cols = t.cols;
    hostOffset.push_back(outFloats);
    outFloats += size_t(out.rows * out.cols);
    outs.push_back(std::move(out));
  }

  struct PinnedHold {
    PinnedPool* pool;
    Pinned p;
    ~PinnedHold() { pool->release(p); }
  };
  PinnedHold in{pinned_.get(), pinned_->acquire(size_t(L.totalInts) * 4)};
  PinnedHold down{pinned_.get(), pinned_->acquire(outFloats * sizeof(float))};
  fillMeta(static_cast<int32_t*>(in.p.ptr), L, batch);

  RunMemory mem;
  mem.tensors.assign(plan.tensors.size(), nullptr);
  std::unique_ptr<Profiler> prof = options_.profile ? std::make_unique<Profiler>() : nullptr;
  std::exception_ptr failure;
  cudaEvent_t done = nullptr;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!cuda_) throwInvalid("the context has been disposed");
    cudaStream_t s = cuda_->stream;
    size_t current = SIZE_MAX;  // op being enqueued, for error messages
    try {
      auto timedCopy = [&](auto&& f) {
        if (!prof) return f();
        cudaEvent_t a = cuda_->event(true), b = cuda_->event(true);
        prof->marks.push_back({"copy", a, b});
        IGB_CUDA(cudaEventRecord(a, s));
        f();
        IGB_CUDA(cudaEventRecord(b, s));
      };
      L.dev = static_cast<int32_t*>(poolAlloc(mem, size_t(L.totalInts) * 4));
      timedCopy([&] { IGB_CUDA(cudaMemcpyAsync(L.dev, in.p.ptr, size_t(L.totalInts) * 4, cudaMemcpyHostToDevice, s)); });
      for (current = 0; current < plan.desc.ops.size(); ++current) enqueueOp(*prog, current, mem, L, prof.get());
      current = SIZE_MAX;
      for (size_t o = 0; o < outs.size(); ++o) {
        const TensorPlan& t = plan.tensors[size_t(plan.desc.outputs[o].second)];
        const int64_t rows = outs[o].rows, cols = outs[o].cols;
        if (rows == 0) continue;
        float* host = static_cast<float*>(down.p.ptr) + hostOffset[o];
        const char* src = static_cast<const char*>(mem.tensors[size_t(t.root)]) + t.col * int64_t(dtypeSize(t.dtype));
        timedCopy([&] {
          if (t.dtype == DType::F32) {
            IGB_CUDA(cudaMemcpy2DAsync(host, size_t(cols) * 4, src, size_t(t.ld) * 4, size_t(cols) * 4, size_t(rows),
                                       cudaMemcpyDeviceToHost, s));
          } else {
            void* tmp = poolAlloc(mem, size_t(rows * cols) * 4);
            launchConvert(TensorRef{const_cast<char*>(src), t.ld, t.dtype}, TensorRef{tmp, cols, DType::F32}, rows, cols, s);
            IGB_CUDA(cudaMemcpyAsync(host, tmp, size_t(rows * cols) * 4, cudaMemcpyDeviceToHost, s));
            poolFree(mem, tmp);
          }
        });
      }
      while (!mem.live.empty()) poolFree(mem, mem.live.back().first);
    } catch (const Error& e) {
      // Release everything this run took (stream-ordered, after the work already queued), then report.
      std::string where = current != SIZE_MAX ? "op " + std::to_string(current) + " (" +
                                                    opKindName(plan.desc.ops[current].kind) + "): "
                                              : "";
      failure = std::make_exception_ptr(Error(e.code, where + e.what()));
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      for (auto& a : mem.live) {
        cudaFreeAsync(a.first, s);
        poolInUse_ -= a.second;
      }
      mem.live.clear();
      (void)cudaGetLastError();
    }
    // Blocking sync: the waiting worker thread sleeps instead of spinning a core while the GPU works.
    const cudaError_t e1 = cudaEventCreateWithFlags(&done, cudaEventDisableTiming | cudaEventBlockingSync);
    if (e1 != cudaSuccess || cudaEventRecord(done, s) != cudaSuccess) {
      if (done) cudaEventDestroy(done);
      done = nullptr;
    }
  }

  // Wait for the GPU outside the lock so other runs can enqueue meanwhile.
  cudaError_t waited = done ? cudaEventSynchronize(done) : cudaStreamSynchronize(cuda_->stream);
  if (done) cudaEventDestroy(done);
  if (prof) {
    std::map<std::string, double> times;
    for (auto& m : prof->marks) {
      float ms = 0.f;
      if (waited == cudaSuccess && cudaEventElapsedTime(&ms, m.start, m.stop) == cudaSuccess) times[m.kind] += ms;
      cuda_->recycle(m.start);
      cuda_->recycle(m.stop);
    }
    if (!failure && waited == cudaSuccess) {
      std::lock_guard<std::mutex> lk(profileMu_);
      lastProfile_ = std::move(times);
    }
  }
  if (failure) std::rethrow_exception(failure);
  if (waited != cudaSuccess) {
    (void)cudaGetLastError();
    throw Error(waited == cudaErrorMemoryAllocation ? kOom : kCudaError,
                "CUDA error while the run executed (asynchronous, from one of its kernels): " + cudaMessage(waited));
  }
  for (size_t o = 0; o < outs.size(); ++o) {
    const size_t n = size_t(outs[o].rows * outs[o].cols);
    outs[o].data.reset(new float[std::max<size_t>(n, 1)]);
    if (n) std::memcpy(outs[o].data.get(), static_cast<float*>(down.p.ptr) + hostOffset[o], n * sizeof(float));
  }
  return outs;
}

MemoryInfo Context::memory() {
  checkLive();
  MemoryInfo m;
  m.weightBytes = *weightBytes_;
  std::lock_guard<std::mutex> lk(mu_);
  IGB_CUDA(cudaSetDevice(options_.device));
  uint64_t v = 0;
  IGB_CUDA(cudaMemPoolGetAttribute(cuda_->pool, cudaMemPoolAttrReservedMemCurrent, &v));
  m.poolBytes = v;
  IGB_CUDA(cudaMemPoolGetAttribute(cuda_->pool, cudaMemPoolAttrReservedMemHigh, &v));
  m.peakPoolBytes = v;
  size_t freeB = 0, totalB = 0;
  IGB_CUDA(cudaMemGetInfo(&freeB, &totalB));
  m.deviceFreeBytes = freeB;
  m.deviceTotalBytes = totalB;
  return m;
}

std::map<std::string, double> Context::lastProfile() {
  std::lock_guard<std::mutex> lk(profileMu_);
  return lastProfile_;
}

}  // namespace igb
