// Exact attention, tiled: the fp32 context's attention (parity mode: fp32 FMAs and expf, no tensor cores, no
// TF32) and 16-bit attention with head size 32. One block per (64-query tile of one packed sequence, head); one
// thread per query, which keeps its query row and its output row in registers (2·D floats). K and V tiles of 64
// keys go through shared memory as fp32; all threads read the same key row at the same time (a broadcast: no
// bank conflicts, one 16-byte shared load per 4 FMAs), so a K/V row is loaded from global memory once per 64
// queries instead of once per 8 (the reference kernel, attention_simple.cu). Scores are taken 16 keys at a time:
// their maximum updates the running max (online softmax) once per 16 keys, then they are accumulated into the
// output row. Sequences of any length; keys past the end are zero rows of the tile, masked to -inf.
#include "../check.h"
#include "device.h"
#include "kernels.h"

#include <cmath>

namespace igb {
namespace {

constexpr int BQ = kTiledQueryTile;  // queries (threads) per block
constexpr int BK = 64;               // keys per shared tile
constexpr int CH = 16;               // keys per online-softmax step

// Rows [0, valid) of a BK x D block of type T (row stride ld, 16-byte aligned rows) into shared fp32, zeros after.
template <int D, class T>
__device__ __forceinline__ void loadTile(float4 (*dst)[D / 4], const T* __restrict__ src, int64_t ld, int valid) {
  for (int c = threadIdx.x; c < BK * D / 8; c += BQ) {
    const int r = c / (D / 8), d = (c % (D / 8)) * 8;
    float x[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    if (r < valid) load8(src + int64_t(r) * ld + d, x);
    dst[r][d / 4] = make_float4(x[0], x[1], x[2], x[3]);
    dst[r][d / 4 + 1] = make_float4(x[4], x[5], x[6], x[7]);
  }
}

template <class T, int D>
__global__ void __launch_bounds__(BQ)
    tiledAttentionKernel(const T* __restrict__ q, int64_t ldq, const T* __restrict__ k, int64_t ldk, const T* __restrict__ v,
                         int64_t ldv, T* __restrict__ out, int64_t ldo, const AttnTile* __restrict__ tiles, float scale) {
  alignas(16) __shared__ float4 Ks[BK][D / 4];
  alignas(16) __shared__ float4 Vs[BK][D / 4];

  const AttnTile tile = tiles[blockIdx.x];
  const int64_t col = int64_t(blockIdx.y) * D;
  const int qi = tile.q0 + int(threadIdx.x);
  const bool active = qi < tile.len;  // threads past the sequence end only help load
  const T* kSeq = k + int64_t(tile.start) * ldk + col;
  const T* vSeq = v + int64_t(tile.start) * ldv + col;

  float qr[D], acc[D];
#pragma unroll
  for (int d = 0; d < D; d += 8) {
    float x[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    if (active) load8(q + int64_t(tile.start + qi) * ldq + col + d, x);
#pragma unroll
    for (int e = 0; e < 8; ++e) qr[d + e] = x[e], acc[d + e] = 0.f;
  }
  float m = -INFINITY, l = 0.f;

  for (int k0 = 0; k0 < tile.len; k0 += BK) {
    const int nk = min(BK, tile.len - k0);
    __syncthreads();  // everyone is done with the previous tile
    loadTile<D>(Ks, kSeq + int64_t(k0) * ldk, ldk, nk);
    loadTile<D>(Vs, vSeq + int64_t(k0) * ldv, ldv, nk);
    __syncthreads();
    if (!active) continue;
    for (int j0 = 0; j0 < nk; j0 += CH) {
      float s[CH];
      float mx = m;
#pragma unroll
      for (int j = 0; j < CH; ++j) {
        float dot = 0.f;
#pragma unroll
        for (int d = 0; d < D / 4; ++d) {
          const float4 kv = Ks[j0 + j][d];
          dot = fmaf(qr[4 * d], kv.x, dot);
          dot = fmaf(qr[4 * d + 1], kv.y, dot);
          dot = fmaf(qr[4 * d + 2], kv.z, dot);
          dot = fmaf(qr[4 * d + 3], kv.w, dot);
        }
        s[j] = j0 + j < nk ? dot * scale : -INFINITY;
        mx = fmaxf(mx, s[j]);
      }
      const float corr = expf(m - mx);  // 0 on the first step (m = -inf); mx is finite (key j0 is valid)
      m = mx;
      l *= corr;
#pragma unroll
      for (int d = 0; d < D; ++d) acc[d] *= corr;
#pragma unroll
      for (int j = 0; j < CH; ++j) {
        const float p = expf(s[j] - m);  // masked keys: 0
        l += p;
#pragma unroll
        for (int d = 0; d < D / 4; ++d) {
          const float4 vv = Vs[j0 + j][d];
          acc[4 * d] = fmaf(p, vv.x, acc[4 * d]);
          acc[4 * d + 1] = fmaf(p, vv.y, acc[4 * d + 1]);
          acc[4 * d + 2] = fmaf(p, vv.z, acc[4 * d + 2]);
          acc[4 * d + 3] = fmaf(p, vv.w, acc[4 * d + 3]);
        }
      }
    }
  }
  if (!active) return;
  const float inv = 1.f / l;
  T* orow = out + int64_t(tile.start + qi) * ldo + col;
#pragma unroll
  for (int d = 0; d < D; d += 8) {
    float x[8];
#pragma unroll
    for (int e = 0; e < 8; ++e) x[e] = acc[d + e] * inv;
    store8(orow + d, x);
  }
}

}  // namespace

void launchAttentionTiled(TensorRef q, TensorRef k, TensorRef v, TensorRef out, int heads, int headDim, const AttnTile* tiles,
                          int64_t numTiles, cudaStream_t stream) {
  if (numTiles <= 0) return;
  if (headDim != 32 && headDim != 64) throwInvalid("tiled attention: head size must be 32 or 64");
  const float scale = float(1.0 / std::sqrt(double(headDim)));
  const dim3 grid{unsigned(numTiles), unsigned(heads)}, block{unsigned(BQ)};
  withType(q.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto kernel = headDim == 64 ? tiledAttentionKernel<T, 64> : tiledAttentionKernel<T, 32>;
    IGB_LAUNCH(kernel, grid, block, 0, stream)(static_cast<const T*>(q.ptr), q.ld, static_cast<const T*>(k.ptr), k.ld,
                                               static_cast<const T*>(v.ptr), v.ld, static_cast<T*>(out.ptr), out.ld, tiles,
                                               scale);
    IGB_LAUNCH_CHECK();
  });
}

}  // namespace igb
