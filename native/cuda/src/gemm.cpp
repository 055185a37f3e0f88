// cuBLASLt GEMM with the bias epilogue, the residual as C, and a cached algorithm choice per shape.
//
// Row-major to column-major mapping: cuBLASLt sees a row-major [R, C] matrix with row stride ld as a
// column-major C x R matrix with leading dimension ld. So y[M,N] = x[M,K] · W[N,K]^T becomes, column-major,
//   D (N x M, ld ldy) = op(A) · B   with   A = W stored K x N (ld K), op = T  ->  N x K
//                                          B = x stored K x M (ld ldx), op = N
// and the bias (one value per output feature) is per row of D: exactly CUBLASLT_EPILOGUE_BIAS. A residual is C
// (N x M, ld ldr, D's type) with beta = 1: D = A·B + C + bias, accumulated in fp32 and rounded once to D's type.
#include "gemm.h"

#include <cublasLt.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "check.h"

namespace igb {
namespace {

constexpr size_t kWorkspaceBytes = 32u << 20;  // NVIDIA's recommendation for Hopper
constexpr size_t kProbeWorkspaceBytes = 256u << 20;  // the tuner reports whether candidates would want more than 32 MiB
constexpr int kCandidates = 8;                   // heuristic results timed when a 16-bit shape is tuned
constexpr int kTimedRuns = 3;                    // runs timed per candidate (after one warm-up run)
constexpr double kTuneMinFlops = 4e9;            // smaller GEMMs (microseconds) keep the heuristic's first choice

[[noreturn]] void throwBlas(cublasStatus_t s, const char* what, const std::string& detail = "") {
  std::string msg = std::string("cuBLASLt ") + what + " failed: status " + std::to_string(int(s));
#if CUBLAS_VER_MAJOR >= 12
  msg += std::string(" (") + cublasLtGetStatusName(s) + ": " + cublasLtGetStatusString(s) + ")";
#endif
  if (!detail.empty()) msg += " [" + detail + "]";
  (void)cudaGetLastError();
  throw Error(s == CUBLAS_STATUS_ALLOC_FAILED ? kOom : kCudaError, msg);
}

#define IGB_BLAS(expr, detail)                                  \
  do {                                                          \
    cublasStatus_t igb_s_ = (expr);                             \
    if (igb_s_ != CUBLAS_STATUS_SUCCESS) throwBlas(igb_s_, #expr, detail); \
  } while (0)

cudaDataType_t cudaType(DType t) {
  return t == DType::BF16 ? CUDA_R_16BF : t == DType::F16 ? CUDA_R_16F : CUDA_R_32F;
}

// Largest power of two (<= 256) dividing the address: the alignment cuBLASLt may assume for a pointer.
uint32_t alignmentOf(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  uint32_t al = 256;
  while (al > 1 && (a % al) != 0) al >>= 1;
  return al;
}

// Everything the algorithm choice depends on. M (the token count) varies per batch, so a new batch size costs
// one heuristic query (tens of microseconds) the first time it is seen.
// (M, N, K, ldx, ldy, ldr, wType, yType, bias, residual, alignments of W, x, y, bias, residual)
using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int, int, bool, bool, uint32_t, uint32_t, uint32_t,
                       uint32_t, uint32_t>;

struct Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr, d = nullptr;  // c: the residual's layout, or null
  cublasLtMatmulAlgo_t algo{};
  std::string note;  // how the algorithm was chosen (kernels_test prints it)
  cublasLtMatrixLayout_t cOrD() const { return c ? c : d; }
  ~Plan() {
    if (op) cublasLtMatmulDescDestroy(op);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (d) cublasLtMatrixLayoutDestroy(d);
  }
};

// Tuned choices are shared by the M of one bucket: eight per octave (M rounded up to 2^e·(8+j)/8), so batches
// of similar token counts reuse one timing and a long-running server tunes each shape a bounded number of times.
int64_t bucketOf(int64_t M) {
  if (M <= 64) return M;
  int e = 0;
  while ((int64_t(16) << e) <= M) ++e;  // 2^(e+3) <= M < 2^(e+4): steps of 2^e
  const int64_t step = int64_t(1) << e;
  return (M + step - 1) / step * step;
}

std::string describeAlgo(const cublasLtMatmulAlgo_t& algo) {
  auto get = [&](cublasLtMatmulAlgoConfigAttributes_t attr) -> long long {
    uint32_t v32 = 0;
    uint16_t v16 = 0;
    size_t written = 0;
    const bool narrow = attr == CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID || attr == CUBLASLT_ALGO_CONFIG_INNER_SHAPE_ID;
    const cublasStatus_t s = narrow ? cublasLtMatmulAlgoConfigGetAttribute(&algo, attr, &v16, sizeof(v16), &written)
                                    : cublasLtMatmulAlgoConfigGetAttribute(&algo, attr, &v32, sizeof(v32), &written);
    return s != CUBLAS_STATUS_SUCCESS ? -1 : narrow ? v16 : (long long)int32_t(v32);
  };
  return "algo " + std::to_string(get(CUBLASLT_ALGO_CONFIG_ID)) + " tile " + std::to_string(get(CUBLASLT_ALGO_CONFIG_TILE_ID)) +
         " stages " + std::to_string(get(CUBLASLT_ALGO_CONFIG_STAGES_ID)) + " splitK " +
         std::to_string(get(CUBLASLT_ALGO_CONFIG_SPLITK_NUM)) + " swizzle " + std::to_string(get(CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING)) +
         " cluster " + std::to_string(get(CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID));
}

}  // namespace

// Tuned choices are shared by every context of the process on the same GPU model (keyed by its name and
// compute capability), so that the engines of one job — one per GPU, or two on one GPU — compute a batch with the
// same algorithm, hence the same bits, whichever engine runs it.
struct SharedTuning {
  std::mutex mutex;
  std::map<std::pair<std::string, Key>, cublasLtMatmulAlgo_t> algos;
};
SharedTuning& sharedTuning() {
  static SharedTuning tuning;
  return tuning;
}

struct Gemm::Impl {
  int device = 0;
  std::string deviceModel;  // name + compute capability: the key of the process-wide tuning table
  bool batchInvariant = false, tune = false;
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  std::map<Key, std::unique_ptr<Plan>> plans;
  std::map<Key, cublasLtMatmulAlgo_t> sharedAlgos;  // batchInvariant: per key with M = 0
  std::string lastNote;

  cublasStatus_t matmul(const Plan& p, const cublasLtMatmulAlgo_t& algo, const void* W, const void* x, const void* residual,
                        void* y, cudaStream_t stream) const {
    // beta = 0 with C = D when there is no residual: cuBLASLt then does not read C.
    const float alpha = 1.f, beta = residual ? 1.f : 0.f;
    return cublasLtMatmul(handle, p.op, &alpha, W, p.a, x, p.b, &beta, residual ? residual : y, p.cOrD(), y, p.d, &algo, workspace,
                          kWorkspaceBytes, stream);
  }

  // Times the heuristic's first kCandidates algorithms on this call's own buffers (y is only written, so running
  // the GEMM a few extra times changes nothing) and returns the fastest. Synchronizes the stream, which is why it
  // runs once per (shape, M bucket). False when the heuristic has no usable answer.
  bool tuneAlgo(Plan& p, cublasLtMatmulPreference_t pref, const void* W, const void* x, const void* residual, void* y,
                cudaStream_t stream) {
    cublasLtMatmulHeuristicResult_t results[kCandidates] = {};
    int count = 0;
    if (cublasLtMatmulAlgoGetHeuristic(handle, p.op, p.a, p.b, p.cOrD(), p.d, pref, kCandidates, results, &count) !=
            CUBLAS_STATUS_SUCCESS ||
        count == 0)
      return false;
    struct Event {
      cudaEvent_t e = nullptr;
      Event() { IGB_CUDA(cudaEventCreate(&e)); }
      ~Event() { cudaEventDestroy(e); }
    } start, stop;
    int best = -1, timed = 0;
    float bestMs = 0.f, firstMs = 0.f;
    for (int r = 0; r < count; ++r) {
      if (results[r].state != CUBLAS_STATUS_SUCCESS) continue;
      // A candidate the library refuses for these buffers is skipped, not an error.
      if (matmul(p, results[r].algo, W, x, residual, y, stream) != CUBLAS_STATUS_SUCCESS) continue;
      IGB_CUDA(cudaEventRecord(start.e, stream));
      bool ok = true;
      for (int i = 0; i < kTimedRuns && ok; ++i) ok = matmul(p, results[r].algo, W, x, residual, y, stream) == CUBLAS_STATUS_SUCCESS;
      IGB_CUDA(cudaEventRecord(stop.e, stream));
      IGB_CUDA(cudaEventSynchronize(stop.e));
      float ms = 0.f;
      IGB_CUDA(cudaEventElapsedTime(&ms, start.e, stop.e));
      if (!ok) continue;
      if (timed++ == 0) firstMs = ms;
      if (best < 0 || ms < bestMs) best = r, bestMs = ms;
    }
    if (best < 0) return false;
    p.algo = results[best].algo;
    // Would more workspace buy a different algorithm? Ask again with a large limit (diagnostic only).
    const size_t probe = kProbeWorkspaceBytes;
    cublasLtMatmulHeuristicResult_t wide[kCandidates] = {};
    int wideCount = 0, wanting = 0;
    size_t most = 0;
    if (cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &probe, sizeof(probe)) ==
            CUBLAS_STATUS_SUCCESS &&
        cublasLtMatmulAlgoGetHeuristic(handle, p.op, p.a, p.b, p.cOrD(), p.d, pref, kCandidates, wide, &wideCount) ==
            CUBLAS_STATUS_SUCCESS) {
      for (int r = 0; r < wideCount; ++r)
        if (wide[r].state == CUBLAS_STATUS_SUCCESS && wide[r].workspaceSize > kWorkspaceBytes)
          ++wanting, most = std::max(most, wide[r].workspaceSize);
    }
    const size_t limit = kWorkspaceBytes;
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &limit, sizeof(limit));
    char speedup[32];
    std::snprintf(speedup, sizeof(speedup), "%.3f", bestMs > 0.f ? firstMs / bestMs : 1.0);
    p.note = "tuned: candidate " + std::to_string(best + 1) + " of " + std::to_string(timed) + " timed (" + speedup +
             "x the heuristic's first), " + describeAlgo(p.algo) + ", workspace " +
             std::to_string(results[best].workspaceSize >> 10) + " KiB; with " + std::to_string(kProbeWorkspaceBytes >> 20) +
             " MiB allowed, " + std::to_string(wanting) + " of the first " + std::to_string(wideCount) + " candidates want over " +
             std::to_string(kWorkspaceBytes >> 20) + " MiB" + (wanting ? " (up to " + std::to_string(most >> 20) + " MiB)" : "");
    return true;
  }
};

Gemm::Gemm(int device, bool batchInvariant, bool tune) : impl_(new Impl) {
  impl_->device = device;
  impl_->batchInvariant = batchInvariant;
  impl_->tune = tune && !batchInvariant;
  cudaDeviceProp prop{};
  IGB_CUDA(cudaGetDeviceProperties(&prop, device));
  impl_->deviceModel = std::string(prop.name) + " sm" + std::to_string(prop.major) + std::to_string(prop.minor);
  IGB_BLAS(cublasLtCreate(&impl_->handle), "");
  IGB_CUDA(cudaMalloc(&impl_->workspace, kWorkspaceBytes));
}

Gemm::~Gemm() {
  if (!impl_) return;
  impl_->plans.clear();
  if (impl_->workspace) cudaFree(impl_->workspace);
  if (impl_->handle) cublasLtDestroy(impl_->handle);
}

size_t Gemm::libraryVersion() { return cublasLtGetVersion(); }

std::string Gemm::lastPlanNote() const { return impl_->lastNote; }

void Gemm::linear(int64_t M, int64_t N, int64_t K, const void* W, DType wType, const void* x, int64_t ldx, void* y,
                  DType yType, int64_t ldy, const void* bias, const void* residual, int64_t ldr, cudaStream_t stream) {
  if (M <= 0 || N <= 0) return;
  if (!residual) ldr = 0;
  // Only formatted when something fails.
  const auto shape = [&] {
    return "M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K) + " ldx=" +
           std::to_string(ldx) + " ldy=" + std::to_string(ldy) + (residual ? " ldr=" + std::to_string(ldr) : "") + " " +
           dtypeName(wType) + "->" + dtypeName(yType);
  };
  const Key key{M, N, K, ldx, ldy, ldr, int(wType), int(yType), bias != nullptr, residual != nullptr, alignmentOf(W),
                alignmentOf(x), alignmentOf(y), bias ? alignmentOf(bias) : 0u, residual ? alignmentOf(residual) : 0u};
  auto it = impl_->plans.find(key);
  if (it == impl_->plans.end()) {
    if (impl_->plans.size() > 4096) impl_->plans.clear();  // bound the cache (many distinct batch sizes)
    auto plan = std::make_unique<Plan>();
    // fp32 accumulation and fp32 alpha/beta for every dtype; for fp32 inputs this is true fp32 (no TF32).
    IGB_BLAS(cublasLtMatmulDescCreate(&plan->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), shape());
    const cublasOperation_t transA = CUBLAS_OP_T, transB = CUBLAS_OP_N;
    IGB_BLAS(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSA, &transA, sizeof(transA)), shape());
    IGB_BLAS(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSB, &transB, sizeof(transB)), shape());
    const cublasLtEpilogue_t epi = bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    IGB_BLAS(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)), shape());
    if (bias) {
      // The heuristic reads the pointer's alignment; the pointer itself is set again before every call.
      IGB_BLAS(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)), shape());
    }
    IGB_BLAS(cublasLtMatrixLayoutCreate(&plan->a, cudaType(wType), uint64_t(K), uint64_t(N), K), shape());
    IGB_BLAS(cublasLtMatrixLayoutCreate(&plan->b, cudaType(wType), uint64_t(K), uint64_t(M), ldx), shape());
    IGB_BLAS(cublasLtMatrixLayoutCreate(&plan->d, cudaType(yType), uint64_t(N), uint64_t(M), ldy), shape());
    if (residual) IGB_BLAS(cublasLtMatrixLayoutCreate(&plan->c, cudaType(yType), uint64_t(N), uint64_t(M), ldr), shape());

    cublasLtMatmulPreference_t pref = nullptr;
    IGB_BLAS(cublasLtMatmulPreferenceCreate(&pref), shape());
    struct PrefGuard {
      cublasLtMatmulPreference_t p;
      ~PrefGuard() { cublasLtMatmulPreferenceDestroy(p); }
    } guard{pref};
    const size_t ws = kWorkspaceBytes;
    IGB_BLAS(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)), shape());
    const uint32_t alA = alignmentOf(W), alB = alignmentOf(x), alD = alignmentOf(y), alC = residual ? alignmentOf(residual) : alD;
    IGB_BLAS(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &alA, sizeof(alA)), shape());
    IGB_BLAS(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &alB, sizeof(alB)), shape());
    IGB_BLAS(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &alC, sizeof(alC)), shape());
    IGB_BLAS(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &alD, sizeof(alD)), shape());

    bool chosen = false;
    if (impl_->batchInvariant) {
      Key shared = key;
      std::get<0>(shared) = 0;
      auto found = impl_->sharedAlgos.find(shared);
      if (found == impl_->sharedAlgos.end()) {
        // Ask for a large reference M and take the best algorithm without split-K.
        cublasLtMatrixLayout_t bRef = nullptr, cRef = nullptr, dRef = nullptr;
        const int64_t mRef = std::max<int64_t>(M, 8192);
        IGB_BLAS(cublasLtMatrixLayoutCreate(&bRef, cudaType(wType), uint64_t(K), uint64_t(mRef), ldx), shape());
        IGB_BLAS(cublasLtMatrixLayoutCreate(&dRef, cudaType(yType), uint64_t(N), uint64_t(mRef), ldy), shape());
        if (residual) IGB_BLAS(cublasLtMatrixLayoutCreate(&cRef, cudaType(yType), uint64_t(N), uint64_t(mRef), ldr), shape());
        cublasLtMatmulHeuristicResult_t results[16] = {};
        int count = 0;
        const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(impl_->handle, plan->op, plan->a, bRef, cRef ? cRef : dRef, dRef,
                                                                 pref, 16, results, &count);
        cublasLtMatrixLayoutDestroy(bRef);
        if (cRef) cublasLtMatrixLayoutDestroy(cRef);
        cublasLtMatrixLayoutDestroy(dRef);
        // (If the reference shape gets no answer, this M's own choice below is used.)
        for (int r = 0; st == CUBLAS_STATUS_SUCCESS && r < count; ++r) {
          if (results[r].state != CUBLAS_STATUS_SUCCESS) continue;
          uint32_t splitK = 1;
          size_t written = 0;
          if (cublasLtMatmulAlgoConfigGetAttribute(&results[r].algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitK, sizeof(splitK),
                                                   &written) != CUBLAS_STATUS_SUCCESS || splitK > 1)
            continue;
          found = impl_->sharedAlgos.emplace(shared, results[r].algo).first;
          break;
        }
      }
      if (found != impl_->sharedAlgos.end()) {
        // The shared algorithm must also support this M; if it does not, fall back to this M's own choice.
        cublasLtMatmulHeuristicResult_t check{};
        if (cublasLtMatmulAlgoCheck(impl_->handle, plan->op, plan->a, plan->b, plan->cOrD(), plan->d, &found->second, &check) ==
                CUBLAS_STATUS_SUCCESS &&
            check.workspaceSize <= kWorkspaceBytes) {
          plan->algo = found->second;
          plan->note = "batch-invariant: " + describeAlgo(plan->algo);
          chosen = true;
        }
      }
    }
    if (!chosen && impl_->tune && 2.0 * double(M) * double(N) * double(K) >= kTuneMinFlops) {
      Key bucket = key;
      std::get<0>(bucket) = bucketOf(M);
      SharedTuning& tuning = sharedTuning();
      // Held while tuning too: a second context on the same GPU model waits for the first one's choice.
      std::lock_guard<std::mutex> lock(tuning.mutex);
      auto found = tuning.algos.find({impl_->deviceModel, bucket});
      if (found != tuning.algos.end()) {
        // Tuned for another M of this bucket: reuse it if the library accepts it for this M.
        cublasLtMatmulHeuristicResult_t check{};
        if (cublasLtMatmulAlgoCheck(impl_->handle, plan->op, plan->a, plan->b, plan->cOrD(), plan->d, &found->second, &check) ==
                CUBLAS_STATUS_SUCCESS &&
            check.workspaceSize <= kWorkspaceBytes) {
          plan->algo = found->second;
          plan->note = "tuned for M bucket " + std::to_string(std::get<0>(bucket)) + ": " + describeAlgo(plan->algo);
          chosen = true;
        }
      } else if (impl_->tuneAlgo(*plan, pref, W, x, residual, y, stream)) {
        tuning.algos.emplace(std::make_pair(impl_->deviceModel, bucket), plan->algo);
        chosen = true;
      }
    }
    if (!chosen) {
      cublasLtMatmulHeuristicResult_t result{};
      int found = 0;
      IGB_BLAS(cublasLtMatmulAlgoGetHeuristic(impl_->handle, plan->op, plan->a, plan->b, plan->cOrD(), plan->d, pref, 1, &result,
                                              &found),
               shape());
      if (found == 0 || result.state != CUBLAS_STATUS_SUCCESS)
        throwBlas(CUBLAS_STATUS_NOT_SUPPORTED, "cublasLtMatmulAlgoGetHeuristic (no algorithm)", shape());
      plan->algo = result.algo;
      plan->note = "heuristic: " + describeAlgo(plan->algo);
    }
    impl_->lastNote = plan->note;
    it = impl_->plans.emplace(key, std::move(plan)).first;
  }
  Plan& plan = *it->second;
  // Plans are shared by every call of one shape (all layers): the bias pointer is this call's.
  if (bias) IGB_BLAS(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)), shape());
  IGB_BLAS(impl_->matmul(plan, plan.algo, W, x, residual, y, stream), shape());
}

}  // namespace igb
