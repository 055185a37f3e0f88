// cuBLASLt GEMM with the bias epilogue and cached heuristics.
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
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "check.h"

namespace igb {
namespace {

constexpr size_t kWorkspaceBytes = 32u << 20;

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
  cublasLtMatrixLayout_t cOrD() const { return c ? c : d; }
  ~Plan() {
    if (op) cublasLtMatmulDescDestroy(op);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (d) cublasLtMatrixLayoutDestroy(d);
  }
};

}  // namespace

struct Gemm::Impl {
  int device = 0;
  bool batchInvariant = false;
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  std::map<Key, std::unique_ptr<Plan>> plans;
  std::map<Key, cublasLtMatmulAlgo_t> sharedAlgos;  // batchInvariant: per key with M = 0
};

Gemm::Gemm(int device, bool batchInvariant) : impl_(new Impl) {
  impl_->device = device;
  impl_->batchInvariant = batchInvariant;
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
          chosen = true;
        }
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
    }
    it = impl_->plans.emplace(key, std::move(plan)).first;
  }
  Plan& plan = *it->second;
  if (bias) IGB_BLAS(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)), shape());
  // beta = 0 with C = D when there is no residual: cuBLASLt then does not read C.
  const float alpha = 1.f, beta = residual ? 1.f : 0.f;
  IGB_BLAS(cublasLtMatmul(impl_->handle, plan.op, &alpha, W, plan.a, x, plan.b, &beta, residual ? residual : y, plan.cOrD(), y,
                          plan.d, &plan.algo, impl_->workspace, kWorkspaceBytes, stream),
           shape());
}

}  // namespace igb
