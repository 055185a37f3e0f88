// The simulator's stand-in for gemm.cpp (cuBLASLt): the same interface, computed on the CPU with a naive loop
// (fp64 accumulation; bias and residual (C, beta = 1) added before the rounding to the output type, like
// cuBLASLt's bias epilogue).
#include <cuda_bf16.h>

#include "../../src/errors.h"
#include "../../src/gemm.h"

namespace igb {

struct Gemm::Impl {};

Gemm::Gemm(int, bool, bool) : impl_(new Impl) {}
Gemm::~Gemm() = default;
size_t Gemm::libraryVersion() { return 0; }
std::string Gemm::lastPlanNote() const { return "simulator: CPU GEMM"; }

namespace {
double load(const void* p, DType t, int64_t i) {
  if (t == DType::F32) return static_cast<const float*>(p)[i];
  if (t == DType::BF16) return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
  return __half2float(static_cast<const __half*>(p)[i]);
}
void store(void* p, DType t, int64_t i, float v) {
  if (t == DType::F32) static_cast<float*>(p)[i] = v;
  else if (t == DType::BF16) static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v);
  else static_cast<__half*>(p)[i] = __float2half_rn(v);
}
}  // namespace

void Gemm::linear(int64_t M, int64_t N, int64_t K, const void* W, DType wType, const void* x, int64_t ldx, void* y,
                  DType yType, int64_t ldy, const void* bias, const void* residual, int64_t ldr, cudaStream_t) {
  if (M <= 0 || N <= 0) return;
  if (ldx < K || ldy < N || (residual && ldr < N)) throw Error(kCudaError, "gemm_sim: leading dimension smaller than the matrix");
  // Like cuBLASLt out of place: C must not overlap D (same pointer with the same layout would be in place).
  if (residual && residual == y && ldr != ldy) throw Error(kCudaError, "gemm_sim: C == D with different layouts");
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += load(x, wType, m * ldx + k) * load(W, wType, n * K + k);
      float v = float(acc);
      if (residual) v += float(load(residual, yType, m * ldr + n));
      if (bias) v += float(load(bias, yType, n));
      store(y, yType, m * ldy + n, v);
    }
  }
}

}  // namespace igb
