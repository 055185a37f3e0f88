// Type conversion of a strided [rows, cols] block: uploads (f32/f16/bf16 bits -> storage dtype) and the
// fp32 download of 16-bit outputs. Memory-bound and rare; a plain grid-stride loop is enough.
#include "../check.h"
#include "device.h"
#include "kernels.h"

namespace igb {
namespace {

template <class TS, class TD>
__global__ void convertKernel(const TS* __restrict__ src, int64_t lds, TD* __restrict__ dst, int64_t ldd,
                              int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / cols, c = i - r * cols;
    dst[r * ldd + c] = fromF<TD>(toF(src[r * lds + c]));
  }
}

}  // namespace

void launchConvert(TensorRef src, TensorRef dst, int64_t rows, int64_t cols, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const int64_t n = rows * cols;
  const int threads = 256;
  const int64_t blocks = std::min<int64_t>((n + threads - 1) / threads, 65536);
  withType(src.dtype, [&](auto s) {
    withType(dst.dtype, [&](auto d) {
      using TS = typename decltype(s)::type;
      using TD = typename decltype(d)::type;
      auto kernel = convertKernel<TS, TD>;
      IGB_LAUNCH(kernel, dim3(unsigned(blocks)), dim3(threads), 0, stream)(
          static_cast<const TS*>(src.ptr), src.ld, static_cast<TD*>(dst.ptr), dst.ld, rows, cols);
      IGB_LAUNCH_CHECK();
    });
  });
}

}  // namespace igb
