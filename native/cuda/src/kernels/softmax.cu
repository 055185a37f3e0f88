// log_softmax over each row (MLM logits over the vocabulary), one warp per row, fp32 math and output:
// (x - max) - log(sum exp(x - max)), with accurate expf/logf.
#include "../check.h"
#include "device.h"
#include "kernels.h"

namespace igb {
namespace {

constexpr int kWarps = 4;

template <class TI>
__global__ void __launch_bounds__(kWarps * 32)
    logSoftmaxKernel(const TI* __restrict__ in, int64_t ldi, int64_t rows, int64_t cols, float* __restrict__ out, int64_t ldo) {
  const int64_t r = int64_t(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (r >= rows) return;  // whole warp leaves together
  const int lane = threadIdx.x & 31;
  const TI* x = in + r * ldi;
  float m = -INFINITY;
  for (int64_t c = lane; c < cols; c += 32) m = fmaxf(m, toF(x[c]));
  m = warpMax(m);
  float s = 0.f;
  for (int64_t c = lane; c < cols; c += 32) s += expf(toF(x[c]) - m);
  const float logSum = logf(warpSum(s));
  for (int64_t c = lane; c < cols; c += 32) out[r * ldo + c] = (toF(x[c]) - m) - logSum;
}

}  // namespace

void launchLogSoftmax(TensorRef in, int64_t rows, int64_t cols, float* out, int64_t ldo, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const dim3 grid(unsigned((rows + kWarps - 1) / kWarps)), block(kWarps * 32);
  withType(in.dtype, [&](auto ti) {
    using TI = typename decltype(ti)::type;
    auto kernel = logSoftmaxKernel<TI>;
    IGB_LAUNCH(kernel, grid, block, 0, stream)(static_cast<const TI*>(in.ptr), in.ld, rows, cols, out, ldo);
    IGB_LAUNCH_CHECK();
  });
}

}  // namespace igb
