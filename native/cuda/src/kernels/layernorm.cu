// LayerNorm(input + residual) and LayerNorm(input): one warp per row, the residual add fused into the
// row load (see ln_core.h). Statistics and the affine transform in fp32; gamma/beta are fp32.
#include "../check.h"
#include "kernels.h"
#include "ln_core.h"

namespace igb {
namespace {

template <class TI> struct SumRow {
  const TI* in;
  const TI* res;  // null when there is no residual (warp-uniform branch)
  __device__ __forceinline__ void load8(int64_t c, float (&v)[8]) const {
    igb::load8(in + c, v);
    if (res) {
      float r[8];
      igb::load8(res + c, r);
#pragma unroll
      for (int e = 0; e < 8; ++e) v[e] += r[e];
    }
  }
  __device__ __forceinline__ float load1(int64_t c) const { return toF(in[c]) + (res ? toF(res[c]) : 0.f); }
};

constexpr int kWarps = 4;

template <class TI, class TO, int NCH>
__global__ void __launch_bounds__(kWarps * 32)
    layerNormKernel(const TI* __restrict__ in, int64_t ldi, const TI* __restrict__ res, int64_t ldr, int64_t rows, int cols,
                    const float* __restrict__ gamma, const float* __restrict__ beta, float eps, TO* __restrict__ out,
                    int64_t ldo) {
  const int64_t r = int64_t(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (r >= rows) return;  // whole warp leaves together
  const SumRow<TI> row{in + r * ldi, res ? res + r * ldr : nullptr};
  if constexpr (NCH == 0) {
    layerNormRowGeneric(row, cols, gamma, beta, eps, out + r * ldo);
  } else {
    layerNormRowRegisters<NCH>(row, cols, gamma, beta, eps, out + r * ldo);
  }
}

}  // namespace

void launchLayerNorm(TensorRef in, const TensorRef* residual, int64_t rows, int64_t cols, const float* gamma,
                     const float* beta, float eps, TensorRef out, cudaStream_t stream) {
  if (rows <= 0) return;
  if (residual && residual->dtype != in.dtype) throwInvalid("layerNorm: residual and input must have the same dtype");
  int nch = layerNormChunks(cols);
  if (!rowsAligned(in) || !rowsAligned(out) || (residual && !rowsAligned(*residual)) || !aligned16(gamma) ||
      !aligned16(beta))
    nch = 0;
  const dim3 grid(unsigned((rows + kWarps - 1) / kWarps)), block(kWarps * 32);
  withType(in.dtype, [&](auto ti) {
    withType(out.dtype, [&](auto to) {
      using TI = typename decltype(ti)::type;
      using TO = typename decltype(to)::type;
      const TI* res = residual ? static_cast<const TI*>(residual->ptr) : nullptr;
      const int64_t ldr = residual ? residual->ld : 0;
      auto run = [&](auto kernel) {
        IGB_LAUNCH(kernel, grid, block, 0, stream)(static_cast<const TI*>(in.ptr), in.ld, res, ldr, rows, int(cols), gamma,
                                                   beta, eps, static_cast<TO*>(out.ptr), out.ld);
        IGB_LAUNCH_CHECK();
      };
      switch (nch) {
        case 1: run(layerNormKernel<TI, TO, 1>); break;
        case 2: run(layerNormKernel<TI, TO, 2>); break;
        case 4: run(layerNormKernel<TI, TO, 4>); break;
        default: run(layerNormKernel<TI, TO, 0>); break;
      }
    });
  });
}

}  // namespace igb
