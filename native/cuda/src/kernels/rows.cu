// Row selection: gatherRows (MLM head positions, hidden rows; firstTokens is a gather by the sequence
// offsets) and meanRows (CSR groups, accumulated in fp32). Small outputs; one block per output row with
// the threads walking the columns keeps every access coalesced.
#include "../check.h"
#include "device.h"
#include "kernels.h"

namespace igb {
namespace {

constexpr unsigned kMaxGrid = 65535u * 32u;  // grid-stride over rows beyond this

template <class TI, class TO>
__global__ void gatherRowsKernel(const TI* __restrict__ in, int64_t ldi, const int32_t* __restrict__ index, int64_t rows,
                                 int64_t cols, TO* __restrict__ out, int64_t ldo) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const TI* src = in + int64_t(index[r]) * ldi;
    TO* dst = out + r * ldo;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) dst[c] = fromF<TO>(toF(src[c]));
  }
}

template <class TI>
__global__ void meanRowsKernel(const TI* __restrict__ in, int64_t ldi, const int32_t* __restrict__ groupOffsets,
                               const int32_t* __restrict__ groupRows, int64_t groups, int64_t cols, float* __restrict__ out,
                               int64_t ldo) {
  for (int64_t g = blockIdx.x; g < groups; g += gridDim.x) {
    const int32_t begin = groupOffsets[g], end = groupOffsets[g + 1];
    const float inv = 1.f / float(end - begin);
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      float s = 0.f;
      for (int32_t i = begin; i < end; ++i) s += toF(in[int64_t(groupRows[i]) * ldi + c]);
      out[g * ldo + c] = s * inv;
    }
  }
}

int threadsFor(int64_t cols) { return cols >= 256 ? 256 : cols > 64 ? 128 : 64; }

}  // namespace

void launchGatherRows(TensorRef in, const int32_t* index, int64_t rows, int64_t cols, TensorRef out, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const dim3 grid(unsigned(std::min<int64_t>(rows, kMaxGrid))), block(threadsFor(cols));
  withType(in.dtype, [&](auto ti) {
    withType(out.dtype, [&](auto to) {
      using TI = typename decltype(ti)::type;
      using TO = typename decltype(to)::type;
      auto kernel = gatherRowsKernel<TI, TO>;
      IGB_LAUNCH(kernel, grid, block, 0, stream)(static_cast<const TI*>(in.ptr), in.ld, index, rows, cols,
                                                 static_cast<TO*>(out.ptr), out.ld);
      IGB_LAUNCH_CHECK();
    });
  });
}

void launchMeanRows(TensorRef in, const int32_t* groupOffsets, const int32_t* groupRows, int64_t groups, int64_t cols,
                    float* out, int64_t ldo, cudaStream_t stream) {
  if (groups <= 0 || cols <= 0) return;
  const dim3 grid(unsigned(std::min<int64_t>(groups, kMaxGrid))), block(threadsFor(cols));
  withType(in.dtype, [&](auto ti) {
    using TI = typename decltype(ti)::type;
    auto kernel = meanRowsKernel<TI>;
    IGB_LAUNCH(kernel, grid, block, 0, stream)(static_cast<const TI*>(in.ptr), in.ld, groupOffsets, groupRows, groups,
                                               cols, out, ldo);
    IGB_LAUNCH_CHECK();
  });
}

}  // namespace igb
