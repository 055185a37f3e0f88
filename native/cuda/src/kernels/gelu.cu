// In-place activation after a GEMM (the bias is already added by the cuBLASLt epilogue). GELU is the exact
// erf form 0.5 x (1 + erf(x / sqrt 2)) that BERT uses — cuBLASLt's GELU epilogue is the tanh approximation,
// which is why this is a separate pass. Contiguous tensors take 16-byte vector loads, kUnroll of them issued by
// each thread before any is used (enough bytes in flight to approach the memory bandwidth); views take a strided
// scalar loop.
#include "../check.h"
#include "device.h"
#include "kernels.h"

namespace igb {
namespace {

template <Activation A> __device__ __forceinline__ float activate(float x) {
  if constexpr (A == Activation::Gelu) {
    return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
  } else {
    return tanhf(x);
  }
}

constexpr int kUnroll = 4;  // 16-byte chunks per thread

// Block b covers chunks [b·kUnroll·blockDim, (b+1)·kUnroll·blockDim); thread t takes t, t + blockDim, ...
template <class T, Activation A>
__global__ void activationVec8Kernel(T* __restrict__ x, int64_t chunks) {
  const int64_t first = int64_t(blockIdx.x) * kUnroll * blockDim.x + threadIdx.x;
  float v[kUnroll][8];
#pragma unroll
  for (int u = 0; u < kUnroll; ++u)
    if (first + u * int64_t(blockDim.x) < chunks) load8(x + (first + u * int64_t(blockDim.x)) * 8, v[u]);
#pragma unroll
  for (int u = 0; u < kUnroll; ++u) {
    const int64_t c = first + u * int64_t(blockDim.x);
    if (c >= chunks) break;
#pragma unroll
    for (int e = 0; e < 8; ++e) v[u][e] = activate<A>(v[u][e]);
    store8(x + c * 8, v[u]);
  }
}

template <class T, Activation A>
__global__ void activationStridedKernel(T* __restrict__ x, int64_t ld, int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / cols, c = i - r * cols;
    T* p = x + r * ld + c;
    *p = fromF<T>(activate<A>(toF(*p)));
  }
}

}  // namespace

void launchActivation(TensorRef x, int64_t rows, int64_t cols, Activation act, cudaStream_t stream) {
  if (act == Activation::None || rows <= 0 || cols <= 0) return;
  const int threads = 256;
  const bool vec = x.ld == cols && (rows * cols) % 8 == 0 && (reinterpret_cast<uintptr_t>(x.ptr) & 15) == 0;
  const int64_t work = vec ? rows * cols / 8 : rows * cols;
  // Vector path: one block per kUnroll·threads chunks. Strided path: enough blocks to fill any GPU several times
  // over, grid-stride.
  const unsigned blocks = vec ? unsigned((work + int64_t(kUnroll) * threads - 1) / (int64_t(kUnroll) * threads))
                              : unsigned(std::min<int64_t>((work + threads - 1) / threads, 132 * 32));
  withType(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto run = [&](auto vecKernel, auto stridedKernel) {
      if (vec) {
        IGB_LAUNCH(vecKernel, dim3(blocks), dim3(threads), 0, stream)(static_cast<T*>(x.ptr), work);
      } else {
        IGB_LAUNCH(stridedKernel, dim3(blocks), dim3(threads), 0, stream)(static_cast<T*>(x.ptr), x.ld, rows, cols);
      }
      IGB_LAUNCH_CHECK();
    };
    if (act == Activation::Gelu) {
      run(activationVec8Kernel<T, Activation::Gelu>, activationStridedKernel<T, Activation::Gelu>);
    } else {
      run(activationVec8Kernel<T, Activation::Tanh>, activationStridedKernel<T, Activation::Tanh>);
    }
  });
}

}  // namespace igb
