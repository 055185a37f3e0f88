// Exact attention for everything the tensor-core kernel does not take (fp32 contexts, head sizes other than
// 64, up to 256), and the reference the tests compare the fast kernel with. One block per (tile of 8 queries
// of one packed sequence, head); one warp per query. Keys go through shared memory in tiles of 32 (stored as
// fp32, padded rows: lane j reads key j's row conflict-free); lane j scores key j, the warp does one online-
// softmax update per tile (expf, fp32), then accumulates P·V with each lane owning head dims lane, lane+32, ...
#include "../check.h"
#include "device.h"
#include "kernels.h"

#include <cmath>

namespace igb {
namespace {

constexpr int kQueries = kSimpleQueryTile;  // warps per block
constexpr int kKeys = 32;                   // keys per shared tile (one per lane)
constexpr int kMaxHeadDim = 256;
constexpr int kPerLane = kMaxHeadDim / 32;

template <class T>
__global__ void __launch_bounds__(kQueries * 32)
    simpleAttentionKernel(const T* __restrict__ q, int64_t ldq, const T* __restrict__ k, int64_t ldk, const T* __restrict__ v,
                          int64_t ldv, T* __restrict__ out, int64_t ldo, const AttnTile* __restrict__ tiles, int headDim,
                          float scale) {
#ifdef IGB_SIM
  float* smem = static_cast<float*>(::sim::dynamicShared());
#else
  extern __shared__ float smem[];
#endif
  const int kStride = headDim + 1;
  float* Ks = smem;                    // [kKeys][headDim + 1]
  float* Qs = smem + kKeys * kStride;  // [kQueries][headDim]

  const AttnTile tile = tiles[blockIdx.x];
  const int64_t col = int64_t(blockIdx.y) * headDim;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int qi = tile.q0 + warp;
  const bool active = qi < tile.len;  // warp-uniform; inactive warps still help load K tiles
  float* qrow = Qs + warp * headDim;
  if (active)
    for (int d = lane; d < headDim; d += 32) qrow[d] = toF(q[int64_t(tile.start + qi) * ldq + col + d]);

  float acc[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) acc[i] = 0.f;
  float m = -INFINITY, l = 0.f;

  for (int k0 = 0; k0 < tile.len; k0 += kKeys) {
    const int nk = min(kKeys, tile.len - k0);
    __syncthreads();  // previous K tile fully consumed (and, the first time, Qs written)
    for (int e = threadIdx.x; e < kKeys * headDim; e += blockDim.x) {
      const int j = e / headDim, d = e - j * headDim;
      Ks[j * kStride + d] = j < nk ? toF(k[int64_t(tile.start + k0 + j) * ldk + col + d]) : 0.f;
    }
    __syncthreads();
    if (!active) continue;

    float s = -INFINITY;
    if (lane < nk) {
      const float* krow = Ks + lane * kStride;
      float dot = 0.f;
      for (int d = 0; d < headDim; ++d) dot += qrow[d] * krow[d];
      s = dot * scale;
    }
    const float mNew = fmaxf(m, warpMax(s));  // finite: lane 0 always holds a valid key
    const float corr = expf(m - mNew);        // 0 on the first tile
    const float p = lane < nk ? expf(s - mNew) : 0.f;
    l = l * corr + warpSum(p);
    m = mNew;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) acc[i] *= corr;
    for (int j = 0; j < nk; ++j) {
      const float pj = __shfl_sync(kFullMask, p, j);
      const T* vrow = v + int64_t(tile.start + k0 + j) * ldv + col;
#pragma unroll
      for (int i = 0; i < kPerLane; ++i) {
        const int d = lane + 32 * i;
        if (d < headDim) acc[i] += pj * toF(vrow[d]);
      }
    }
  }
  if (!active) return;
  const float inv = 1.f / l;
  T* orow = out + int64_t(tile.start + qi) * ldo + col;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int d = lane + 32 * i;
    if (d < headDim) orow[d] = fromF<T>(acc[i] * inv);
  }
}

}  // namespace

void launchAttentionSimple(TensorRef q, TensorRef k, TensorRef v, TensorRef out, int heads, int headDim,
                           const AttnTile* tiles, int64_t numTiles, cudaStream_t stream) {
  if (numTiles <= 0) return;
  if (headDim < 1 || headDim > kMaxHeadDim) throwInvalid("attention: head size must be 1..256");
  const size_t smem = size_t(kKeys * (headDim + 1) + kQueries * headDim) * sizeof(float);  // <= 41 KB
  const float scale = float(1.0 / std::sqrt(double(headDim)));
  const dim3 grid{unsigned(numTiles), unsigned(heads)}, block{unsigned(kQueries * 32)};
  withType(q.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto kernel = simpleAttentionKernel<T>;
    IGB_LAUNCH(kernel, grid, block, smem, stream)(static_cast<const T*>(q.ptr), q.ld, static_cast<const T*>(k.ptr), k.ld,
                                                  static_cast<const T*>(v.ptr), v.ld, static_cast<T*>(out.ptr), out.ld,
                                                  tiles, headDim, scale);
    IGB_LAUNCH_CHECK();
  });
}

}  // namespace igb
