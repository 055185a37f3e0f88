// Tensor-core attention for head size 64 in bf16/fp16 (FlashAttention-2 style, written from the PTX ISA's
// fragment layouts): one block per (head, query tile of one packed sequence); W warps each owning 16 query rows
// (W = 8 by default: 128-row tiles, so a 231-token sequence is 2 blocks per head and its K/V are read twice,
// not 4 times as with 64-row tiles; W = 4, the previous 64-row configuration, stays selectable for comparison).
// At antibody lengths the kernel is bound by memory latency, not by the tensor cores (a 231-token sequence has 4
// key tiles; 13.7 MFLOP per head against ~118 KB of Q/K/V/O), so it keeps many bytes in flight:
//   - K/V tiles stream through a ring of kStages shared-memory stages with cp.async groups: Q and the first
//     kStages-1 key tiles are requested at once, and each iteration requests the tile kStages-1 ahead (with 4
//     stages all four key tiles of a 231-token sequence are in flight before the first is computed on);
//   - the grid's fastest dimension is the head: the 16 heads of one query tile run side by side and read the
//     same token rows (adjacent 128-byte column blocks of one [tokens, 3·hidden] QKV row), and the two query
//     tiles of a sequence run close together, so the second read of its K/V comes from L2.
// Per key tile of 64:
//   S = Q K^T      mma.m16n8k16 (Q fragments in registers for the whole loop, K via ldmatrix)
//   online softmax in fp32 on the raw scores (running row max m and sum l); p = 2^(s·c - m·c) with
//                  c = log2(e)/sqrt(d) is one FMA and one ex2.approx per score
//   O += P V       the S accumulator fragments are re-packed in registers as the A operand (the C-fragment
//                  of two adjacent 8-key n-tiles is exactly the A-fragment of one 16-key k-step), V via
//                  ldmatrix.trans
// Keys past the sequence end are masked to -inf (their K/V rows are zero-filled, never read from another
// sequence), and 16-key groups entirely past it are skipped (in the last tile of a 231-token sequence, 39 keys:
// 3 of 4 groups computed); warps whose 16 query rows are all past the end skip the math (they still help load).
// Any sequence length: the key loop runs over ceil(len / 64) tiles.
#include <type_traits>

#include "../check.h"
#include "device.h"
#include "kernels.h"

namespace igb {
namespace {

constexpr int D = 64;         // head size
constexpr int BK = 64;        // keys per tile
constexpr int LDS = D + 8;    // padded shared row (144 bytes): the 8 rows of an ldmatrix hit distinct banks

// Starts the copy of rows [0, valid) of a ROWS x 64 block (row stride ld) into shared memory, zero-filling the
// rest (nothing is read past the sequence end): 16-byte chunks, consecutive threads on consecutive chunks of a
// row. Lands at cpAsyncWaitAll().
template <int kThreads, int ROWS, class T>
__device__ __forceinline__ void loadRowsAsync(T (*dst)[LDS], const T* __restrict__ src, int64_t ld, int valid) {
  static_assert((ROWS * 8) % kThreads == 0, "whole chunks per thread");
#pragma unroll
  for (int i = 0; i < ROWS * 8 / kThreads; ++i) {
    const int c = threadIdx.x + i * kThreads;
    const int r = c >> 3, col = (c & 7) * 8;
    cpAsync16(&dst[r][col], src + (r < valid ? int64_t(r) * ld + col : 0), r < valid);
  }
}

// Shared memory of one block: Q's query-tile rows, then kStages stages of (K tile, V tile).
constexpr int flashSmemBytes(int queryRows, int stages) { return (queryRows + stages * 2 * BK) * LDS * 2; }

// Blocks per SM a configuration is built for: with 16 query rows per warp (kMT = 1), 16 warps per SM and 128
// registers per thread (4 warps: 4 blocks, 8 warps: 2); with 32 rows per warp (kMT = 2: two m-tiles share every
// K and V fragment read from shared memory, halving those reads per FLOP, at ~200 registers per thread), 8 warps
// per SM (4 warps: 2 blocks, 8 warps: 1).
constexpr int flashBlocksPerSm(int warps, int mTiles) { return (mTiles == 1 ? 16 : 8) / warps; }

template <class T, int kWarps, int kStages, int kMT>
__global__ void __launch_bounds__(kWarps * 32, flashBlocksPerSm(kWarps, kMT))
    flashAttentionKernel(const T* __restrict__ q, int64_t ldq, const T* __restrict__ k, int64_t ldk, const T* __restrict__ v,
                         int64_t ldv, T* __restrict__ out, int64_t ldo, const AttnTile* __restrict__ tiles, float scaleLog2) {
  constexpr int kThreads = kWarps * 32, WR = 16 * kMT, BQ = kWarps * WR;  // WR: query rows per warp
  static_assert(kStages >= 2, "a stage is refilled one iteration after it was computed on");
#ifdef IGB_SIM
  T (*smem)[LDS] = static_cast<T (*)[LDS]>(::sim::dynamicShared());
#else
  extern __shared__ __align__(16) unsigned char smemBytes[];
  T (*smem)[LDS] = reinterpret_cast<T (*)[LDS]>(smemBytes);
#endif
  T (*Qs)[LDS] = smem;
  auto stageK = [&](int kt) { return smem + BQ + (kt % kStages) * 2 * BK; };
  auto stageV = [&](int kt) { return smem + BQ + (kt % kStages) * 2 * BK + BK; };

  const AttnTile tile = tiles[blockIdx.y];
  const int64_t col = int64_t(blockIdx.x) * D;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = lane >> 2, t = lane & 3;   // fragment row group and thread-in-group
  const int mi = lane >> 3, mr = lane & 7; // ldmatrix: which 8x8 matrix this lane addresses, and its row
  const int qValid = min(BQ, tile.len - tile.q0);
  const bool active = warp * WR < qValid;  // warp-uniform: does this warp own a query row of the sequence?
  const T* kSeq = k + int64_t(tile.start) * ldk + col;
  const T* vSeq = v + int64_t(tile.start) * ldv + col;
  const int keyTiles = (tile.len + BK - 1) / BK;
  // Requests key tile kt (if there is one) into its stage and closes a cp.async group either way, so that
  // "group kt holds tile kt" holds for every kt and the waits below can count.
  auto requestTile = [&](int kt) {
    if (kt < keyTiles) {
      const int valid = min(BK, tile.len - kt * BK);
      loadRowsAsync<kThreads, BK>(stageK(kt), kSeq + int64_t(kt) * BK * ldk, ldk, valid);
      loadRowsAsync<kThreads, BK>(stageV(kt), vSeq + int64_t(kt) * BK * ldv, ldv, valid);
    }
    cpAsyncCommit();
  };

  loadRowsAsync<kThreads, BQ>(Qs, q + int64_t(tile.start + tile.q0) * ldq + col, ldq, qValid);  // in group 0
#pragma unroll
  for (int kt = 0; kt < kStages - 1; ++kt) requestTile(kt);

  // Per m-tile mt of 16 query rows (the warp's rows warp*WR + mt*16 ..):
  uint32_t qf[kMT][4][4];  // A fragments of the query rows, for the 4 k-steps of 16 head dims
  float o[kMT][8][4];      // output accumulator: 8 n-tiles of 8 head dims
  float m[kMT][2], l[kMT][2];  // running max of rows g and g+8 (raw scores); this thread's share of the running sums
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int n = 0; n < 8; ++n) o[mt][n][0] = o[mt][n][1] = o[mt][n][2] = o[mt][n][3] = 0.f;
    m[mt][0] = m[mt][1] = -INFINITY;
    l[mt][0] = l[mt][1] = 0.f;
  }

  for (int kt = 0; kt < keyTiles; ++kt) {
    // Groups 0..kt+kStages-2 are committed: waiting until kStages-2 remain means tile kt (and Q) landed.
    cpAsyncWaitGroup<kStages - 2>();
    __syncthreads();  // everyone's copies of tile kt are visible, and everyone is done with tile kt-1's stage
    requestTile(kt + kStages - 1);  // into tile kt-1's stage
    if (kt == 0 && active) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int ks = 0; ks < 4; ++ks) ldmatrixX4(qf[mt][ks], &Qs[warp * WR + mt * 16 + mr + (mi & 1) * 8][ks * 16 + (mi >> 1) * 8]);
    }
    const int kValid = min(BK, tile.len - kt * BK);
    if (active) {
      T (*Ks)[LDS] = stageK(kt);
      T (*Vs)[LDS] = stageV(kt);
      float s[kMT][8][4];  // scores: per m-tile, 16 rows x 64 keys as 8 n-tiles of 8 keys
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int n = 0; n < 8; ++n) s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.f;
#pragma unroll
      for (int ks = 0; ks < 4; ++ks) {
#pragma unroll
        for (int p = 0; p < 4; ++p) {
          if (p * 16 >= kValid) continue;  // keys p*16.. all past the end: masked below
          // matrices: keys p*16+0..7 | dims ks*16+0..7, +8..15 ; keys p*16+8..15 | dims +0..7, +8..15
          uint32_t b[4];
          ldmatrixX4(b, &Ks[p * 16 + mr + (mi >> 1) * 8][ks * 16 + (mi & 1) * 8]);
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt) {
            mma16816<T>(s[mt][2 * p], qf[mt][ks], b[0], b[1]);
            mma16816<T>(s[mt][2 * p + 1], qf[mt][ks], b[2], b[3]);
          }
        }
      }

      // Mask keys past the end (only the last tile has any), then update the running max of the two rows.
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        if (kValid < BK) {
#pragma unroll
          for (int n = 0; n < 8; ++n)
#pragma unroll
            for (int i = 0; i < 4; ++i)
              if (n * 8 + 2 * t + (i & 1) >= kValid) s[mt][n][i] = -INFINITY;
        }
        float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int n = 0; n < 8; ++n)
#pragma unroll
          for (int i = 0; i < 4; ++i) mx[i >> 1] = fmaxf(mx[i >> 1], s[mt][n][i]);
        float mScaled[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          // The 4 threads of a group hold the same row: reduce over them.
          mx[r] = fmaxf(mx[r], __shfl_xor_sync(kFullMask, mx[r], 1));
          mx[r] = fmaxf(mx[r], __shfl_xor_sync(kFullMask, mx[r], 2));
          const float mNew = fmaxf(m[mt][r], mx[r]);              // finite: every key tile holds at least one valid key
          const float corr = fastExp2((m[mt][r] - mNew) * scaleLog2);  // 0 on the first tile (m = -inf)
          m[mt][r] = mNew;
          mScaled[r] = mNew * scaleLog2;
          l[mt][r] *= corr;
#pragma unroll
          for (int n = 0; n < 8; ++n) {
            o[mt][n][2 * r] *= corr;
            o[mt][n][2 * r + 1] *= corr;
          }
        }
#pragma unroll
        for (int n = 0; n < 8; ++n) {
#pragma unroll
          for (int i = 0; i < 4; ++i) {
            const float p = fastExp2(fmaf(s[mt][n][i], scaleLog2, -mScaled[i >> 1]));  // masked keys: 2^-inf = 0
            s[mt][n][i] = p;
            l[mt][i >> 1] += p;
          }
        }
      }

      // O += P V over the k-steps of 16 keys that hold a valid key.
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (j * 16 >= kValid) continue;  // P is 0 there
        uint32_t a[kMT][4];
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          a[mt][0] = Pair<T>::pack(s[mt][2 * j][0], s[mt][2 * j][1]);
          a[mt][1] = Pair<T>::pack(s[mt][2 * j][2], s[mt][2 * j][3]);
          a[mt][2] = Pair<T>::pack(s[mt][2 * j + 1][0], s[mt][2 * j + 1][1]);
          a[mt][3] = Pair<T>::pack(s[mt][2 * j + 1][2], s[mt][2 * j + 1][3]);
        }
#pragma unroll
        for (int p = 0; p < 4; ++p) {
          // matrices (transposed): keys j*16+0..7, +8..15 | dims p*16+0..7 ; same keys | dims +8..15
          uint32_t b[4];
          ldmatrixX4Trans(b, &Vs[j * 16 + mr + (mi & 1) * 8][p * 16 + (mi >> 1) * 8]);
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt) {
            mma16816<T>(o[mt][2 * p], a[mt], b[0], b[1]);
            mma16816<T>(o[mt][2 * p + 1], a[mt], b[2], b[3]);
          }
        }
      }
    }
  }
  cpAsyncWaitAll();  // only empty groups are left; nothing may be in flight when the block ends
  if (!active) return;

#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      l[mt][r] += __shfl_xor_sync(kFullMask, l[mt][r], 1);
      l[mt][r] += __shfl_xor_sync(kFullMask, l[mt][r], 2);
    }
    const float inv0 = 1.f / l[mt][0], inv1 = 1.f / l[mt][1];
    const int row0 = warp * WR + mt * 16 + g, row1 = row0 + 8;
    T* out0 = out + int64_t(tile.start + tile.q0 + row0) * ldo + col + 2 * t;
    T* out1 = out + int64_t(tile.start + tile.q0 + row1) * ldo + col + 2 * t;
#pragma unroll
    for (int n = 0; n < 8; ++n) {
      if (row0 < qValid) *reinterpret_cast<uint32_t*>(out0 + n * 8) = Pair<T>::pack(o[mt][n][0] * inv0, o[mt][n][1] * inv0);
      if (row1 < qValid) *reinterpret_cast<uint32_t*>(out1 + n * 8) = Pair<T>::pack(o[mt][n][2] * inv1, o[mt][n][3] * inv1);
    }
  }
}

}  // namespace

int flashAttentionStages(int queryTile, int warpRows) {
  if (queryTile == 64) return 2;
  // The most stages (up to 4: a 231-token sequence has 4 key tiles) that keep the configuration's blocks per SM
  // resident: with 128-row tiles of 16 rows per warp, 4 on Hopper (2 x 92 KB of 228 KB), 3 on A100 (164 KB), 2
  // where shared memory is smaller.
  const int warps = queryTile / warpRows, blocks = flashBlocksPerSm(warps, warpRows / 16);
  int device = 0, perSm = 0, perBlock = 0;
  IGB_CUDA(cudaGetDevice(&device));
  IGB_CUDA(cudaDeviceGetAttribute(&perSm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device));
  IGB_CUDA(cudaDeviceGetAttribute(&perBlock, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  for (int s = 4; s > 2; --s) {
    const int bytes = flashSmemBytes(queryTile, s);
    if (bytes <= perBlock && blocks * (bytes + 1024) <= perSm) return s;
  }
  return 2;
}

void launchAttentionFlash(TensorRef q, TensorRef k, TensorRef v, TensorRef out, int heads, const AttnTile* tiles,
                          int64_t numTiles, int queryTile, int warpRows, int stages, cudaStream_t stream) {
  if (numTiles <= 0) return;
  const bool known = (queryTile == 64 && warpRows == 16) || (queryTile == 128 && (warpRows == 16 || warpRows == 32)) ||
                     (queryTile == 256 && warpRows == 32);
  if (!known) throwInvalid("flash attention: query tiles of 64 or 128 rows with 16 rows per warp, or 128 or 256 with 32");
  if (stages == 0) stages = flashAttentionStages(queryTile, warpRows);
  if (stages < 2 || stages > 4 || (queryTile == 64 && stages != 2))
    throwInvalid("flash attention: 2, 3 or 4 stages (2 with 64-row tiles)");
  const float scaleLog2 = 1.4426950408889634f / 8.f;  // log2(e) / sqrt(64)
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto launch = [&](auto kernel, int threads) {
      const int smemBytes = flashSmemBytes(queryTile, stages);
      // Over 48 KB of dynamic shared memory is an opt-in per kernel (and device: set at every launch, it is cheap).
      IGB_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smemBytes));
      constexpr int64_t kMaxGridY = 65535;
      for (int64_t first = 0; first < numTiles; first += kMaxGridY) {
        const dim3 grid{unsigned(heads), unsigned(std::min(kMaxGridY, numTiles - first))}, block{unsigned(threads)};
        IGB_LAUNCH(kernel, grid, block, size_t(smemBytes), stream)(
            static_cast<const T*>(q.ptr), q.ld, static_cast<const T*>(k.ptr), k.ld, static_cast<const T*>(v.ptr), v.ld,
            static_cast<T*>(out.ptr), out.ld, tiles + first, scaleLog2);
        IGB_LAUNCH_CHECK();
      }
    };
    // One instantiation per (warps, stages, m-tiles per warp).
    auto pick = [&](auto warpsTag, auto mtTag) {
      constexpr int W = decltype(warpsTag)::value, MT = decltype(mtTag)::value;
      if (stages == 4) launch(flashAttentionKernel<T, W, 4, MT>, W * 32);
      else if (stages == 3) launch(flashAttentionKernel<T, W, 3, MT>, W * 32);
      else launch(flashAttentionKernel<T, W, 2, MT>, W * 32);
    };
    using One = std::integral_constant<int, 1>;
    using Two = std::integral_constant<int, 2>;
    using Four = std::integral_constant<int, 4>;
    using Eight = std::integral_constant<int, 8>;
    if (queryTile == 64) launch(flashAttentionKernel<T, 4, 2, 1>, 128);
    else if (queryTile == 128 && warpRows == 16) pick(Eight{}, One{});
    else if (queryTile == 128) pick(Four{}, Two{});
    else pick(Eight{}, Two{});
  };
  if (q.dtype == DType::BF16) run(Tag<bf16>{});
  else if (q.dtype == DType::F16) run(Tag<f16>{});
  else throwInvalid("flash attention needs bf16 or fp16 tensors");
}

}  // namespace igb
