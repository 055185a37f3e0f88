// BertEmbeddings in one kernel: gather the word, token-type and position rows of a token, sum them in fp32
// and LayerNorm the sum — one warp per token, nothing intermediate written to memory.
#include "../check.h"
#include "kernels.h"
#include "ln_core.h"

namespace igb {
namespace {

template <class T> struct EmbeddingRow {
  const T* word;
  const T* type;
  const T* pos;
  __device__ __forceinline__ void load8(int64_t c, float (&v)[8]) const {
    float a[8], b[8];
    igb::load8(word + c, v);
    igb::load8(type + c, a);
    igb::load8(pos + c, b);
#pragma unroll
    for (int e = 0; e < 8; ++e) v[e] += a[e] + b[e];
  }
  __device__ __forceinline__ float load1(int64_t c) const { return toF(word[c]) + toF(type[c]) + toF(pos[c]); }
};

constexpr int kWarps = 4;

template <class T, class TO, int NCH>
__global__ void __launch_bounds__(kWarps * 32)
    embeddingsKernel(const int32_t* __restrict__ ids, const int32_t* __restrict__ types, const int32_t* __restrict__ positions,
                     int64_t tokens, const T* __restrict__ word, const T* __restrict__ tokenType, const T* __restrict__ position,
                     int cols, const float* __restrict__ gamma, const float* __restrict__ beta, float eps, TO* __restrict__ out,
                     int64_t ldo) {
  const int64_t t = int64_t(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (t >= tokens) return;  // whole warp leaves together; no block-level barrier in this kernel
  const EmbeddingRow<T> row{word + int64_t(ids[t]) * cols, tokenType + int64_t(types[t]) * cols,
                            position + int64_t(positions[t]) * cols};
  if constexpr (NCH == 0) {
    layerNormRowGeneric(row, cols, gamma, beta, eps, out + t * ldo);
  } else {
    layerNormRowRegisters<NCH>(row, cols, gamma, beta, eps, out + t * ldo);
  }
}

}  // namespace

void launchEmbeddings(const int32_t* ids, const int32_t* types, const int32_t* positions, int64_t tokens,
                      const void* word, const void* tokenType, const void* position, DType tableType, int64_t cols,
                      const float* gamma, const float* beta, float eps, TensorRef out, cudaStream_t stream) {
  if (tokens <= 0) return;
  int nch = layerNormChunks(cols);
  if (!aligned16(word) || !aligned16(tokenType) || !aligned16(position) || !aligned16(gamma) || !aligned16(beta) ||
      !rowsAligned(out))
    nch = 0;
  const dim3 grid(unsigned((tokens + kWarps - 1) / kWarps)), block(kWarps * 32);
  withType(tableType, [&](auto tt) {
    withType(out.dtype, [&](auto to) {
      using T = typename decltype(tt)::type;
      using TO = typename decltype(to)::type;
      auto run = [&](auto kernel) {
        IGB_LAUNCH(kernel, grid, block, 0, stream)(ids, types, positions, tokens, static_cast<const T*>(word),
                                                   static_cast<const T*>(tokenType), static_cast<const T*>(position),
                                                   int(cols), gamma, beta, eps, static_cast<TO*>(out.ptr), out.ld);
        IGB_LAUNCH_CHECK();
      };
      switch (nch) {
        case 1: run(embeddingsKernel<T, TO, 1>); break;
        case 2: run(embeddingsKernel<T, TO, 2>); break;
        case 4: run(embeddingsKernel<T, TO, 4>); break;
        default: run(embeddingsKernel<T, TO, 0>); break;
      }
    });
  });
}

}  // namespace igb
