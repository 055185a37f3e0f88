// The LayerNorm of one row by one warp, shared by the embeddings and the (add+)LayerNorm kernels. The row's
// values come from a Loader (a sum of gathered embedding rows, or input + residual), so the addition is
// fused into the normalization and the summed row never goes to memory.
//
// Fast path: the row lives in registers (NCH chunks of 8 elements per lane, 16-byte loads), mean and the
// variance are two exact passes over registers (no E[x^2]-E[x]^2 cancellation). Generic path (any column
// count, any alignment): three passes re-reading the row, which then sits in L1.
//
// A Loader provides:  __device__ void load8(int64_t col, float (&v)[8]) const;  (col % 8 == 0, aligned)
//                     __device__ float load1(int64_t col) const;
#pragma once
#include "device.h"

namespace igb {

template <int NCH, class TO, class Loader>
__device__ __forceinline__ void layerNormRowRegisters(const Loader& src, int cols, const float* __restrict__ gamma,
                                                      const float* __restrict__ beta, float eps, TO* __restrict__ out) {
  const int lane = threadIdx.x & 31;
  const int chunks = cols >> 3;
  float v[NCH][8];
  float sum = 0.f;
#pragma unroll
  for (int c = 0; c < NCH; ++c) {
    const int ch = lane + 32 * c;
    if (ch < chunks) {
      src.load8(int64_t(ch) * 8, v[c]);
#pragma unroll
      for (int e = 0; e < 8; ++e) sum += v[c][e];
    } else {
#pragma unroll
      for (int e = 0; e < 8; ++e) v[c][e] = 0.f;
    }
  }
  const float mean = warpSum(sum) / float(cols);
  float sq = 0.f;
#pragma unroll
  for (int c = 0; c < NCH; ++c) {
    if (lane + 32 * c < chunks) {
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        const float d = v[c][e] - mean;
        sq += d * d;
      }
    }
  }
  const float rstd = rsqrtf(warpSum(sq) / float(cols) + eps);
#pragma unroll
  for (int c = 0; c < NCH; ++c) {
    const int ch = lane + 32 * c;
    if (ch < chunks) {
      float w[8], b[8], r[8];
      load8(gamma + ch * 8, w);
      load8(beta + ch * 8, b);
#pragma unroll
      for (int e = 0; e < 8; ++e) r[e] = (v[c][e] - mean) * rstd * w[e] + b[e];
      store8(out + ch * 8, r);
    }
  }
}

template <class TO, class Loader>
__device__ __forceinline__ void layerNormRowGeneric(const Loader& src, int cols, const float* __restrict__ gamma,
                                                    const float* __restrict__ beta, float eps, TO* __restrict__ out) {
  const int lane = threadIdx.x & 31;
  float sum = 0.f;
  for (int c = lane; c < cols; c += 32) sum += src.load1(c);
  const float mean = warpSum(sum) / float(cols);
  float sq = 0.f;
  for (int c = lane; c < cols; c += 32) {
    const float d = src.load1(c) - mean;
    sq += d * d;
  }
  const float rstd = rsqrtf(warpSum(sq) / float(cols) + eps);
  for (int c = lane; c < cols; c += 32) out[c] = fromF<TO>((src.load1(c) - mean) * rstd * gamma[c] + beta[c]);
}

// Chunks of 8 per lane the register path needs for `cols`, or 0 when it cannot be used (the launchers then
// take the generic path). Instantiated for 1, 2 and 4 (rows up to 1024 elements).
inline int layerNormChunks(int64_t cols) {
  if (cols % 8 != 0 || cols <= 0) return 0;
  const int64_t perLane = (cols / 8 + 31) / 32;
  return perLane <= 1 ? 1 : perLane <= 2 ? 2 : perLane <= 4 ? 4 : 0;
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Every row of `t` starts on a 16-byte boundary (the register path's 16-byte loads and stores).
inline bool rowsAligned(const TensorRef& t) { return aligned16(t.ptr) && (t.ld * int64_t(dtypeSize(t.dtype))) % 16 == 0; }

}  // namespace igb
