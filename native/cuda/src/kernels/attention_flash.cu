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

// Shared memory of one block: Q's BQ rows, then kStages stages of (K tile, V tile).
template <int kWarps, int kStages> constexpr int flashSmemBytes() { return (kWarps * 16 + kStages * 2 * BK) * LDS * 2; }

// 4 warps (2 stages, 46 KB): 4 blocks per SM; 8 warps (up to 4 stages, 92 KB): 2 — 16 warps and 128 registers
// per thread either way.
template <class T, int kWarps, int kStages>
__global__ void __launch_bounds__(kWarps * 32, 16 / kWarps)
    flashAttentionKernel(const T* __restrict__ q, int64_t ldq, const T* __restrict__ k, int64_t ldk, const T* __restrict__ v,
                         int64_t ldv, T* __restrict__ out, int64_t ldo, const AttnTile* __restrict__ tiles, float scaleLog2) {
  constexpr int kThreads = kWarps * 32, BQ = kWarps * 16;
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
  const bool active = warp * 16 < qValid;  // warp-uniform: does this warp own a query row of the sequence?
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

  uint32_t qf[4][4];  // A fragments of this warp's 16 query rows, for the 4 k-steps of 16 head dims
  float o[8][4];      // output accumulator: 8 n-tiles of 8 head dims
#pragma unroll
  for (int n = 0; n < 8; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
  float m[2] = {-INFINITY, -INFINITY};  // running max of rows g and g+8 (raw scores)
  float l[2] = {0.f, 0.f};              // this thread's share of the running sums

  for (int kt = 0; kt < keyTiles; ++kt) {
    // Groups 0..kt+kStages-2 are committed: waiting until kStages-2 remain means tile kt (and Q) landed.
    cpAsyncWaitGroup<kStages - 2>();
    __syncthreads();  // everyone's copies of tile kt are visible, and everyone is done with tile kt-1's stage
    requestTile(kt + kStages - 1);  // into tile kt-1's stage
    if (kt == 0 && active) {
#pragma unroll
      for (int ks = 0; ks < 4; ++ks) ldmatrixX4(qf[ks], &Qs[warp * 16 + mr + (mi & 1) * 8][ks * 16 + (mi >> 1) * 8]);
    }
    const int kValid = min(BK, tile.len - kt * BK);
    if (active) {
      T (*Ks)[LDS] = stageK(kt);
      T (*Vs)[LDS] = stageV(kt);
      float s[8][4];  // scores: 16 rows x 64 keys as 8 n-tiles of 8 keys
#pragma unroll
      for (int n = 0; n < 8; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
      for (int ks = 0; ks < 4; ++ks) {
#pragma unroll
        for (int p = 0; p < 4; ++p) {
          if (p * 16 >= kValid) continue;  // keys p*16.. all past the end: masked below
          // matrices: keys p*16+0..7 | dims ks*16+0..7, +8..15 ; keys p*16+8..15 | dims +0..7, +8..15
          uint32_t b[4];
          ldmatrixX4(b, &Ks[p * 16 + mr + (mi >> 1) * 8][ks * 16 + (mi & 1) * 8]);
          mma16816<T>(s[2 * p], qf[ks], b[0], b[1]);
          mma16816<T>(s[2 * p + 1], qf[ks], b[2], b[3]);
        }
      }

      // Mask keys past the end (only the last tile has any), then update the running max of the two rows.
      if (kValid < BK) {
#pragma unroll
        for (int n = 0; n < 8; ++n)
#pragma unroll
          for (int i = 0; i < 4; ++i)
            if (n * 8 + 2 * t + (i & 1) >= kValid) s[n][i] = -INFINITY;
      }
      float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
      for (int n = 0; n < 8; ++n)
#pragma unroll
        for (int i = 0; i < 4; ++i) mx[i >> 1] = fmaxf(mx[i >> 1], s[n][i]);
      float mScaled[2];
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        // The 4 threads of a group hold the same row: reduce over them.
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(kFullMask, mx[r], 1));
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(kFullMask, mx[r], 2));
        const float mNew = fmaxf(m[r], mx[r]);              // finite: every key tile holds at least one valid key
        const float corr = fastExp2((m[r] - mNew) * scaleLog2);  // 0 on the first tile (m = -inf)
        m[r] = mNew;
        mScaled[r] = mNew * scaleLog2;
        l[r] *= corr;
#pragma unroll
        for (int n = 0; n < 8; ++n) {
          o[n][2 * r] *= corr;
          o[n][2 * r + 1] *= corr;
        }
      }
#pragma unroll
      for (int n = 0; n < 8; ++n) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const float p = fastExp2(fmaf(s[n][i], scaleLog2, -mScaled[i >> 1]));  // masked keys: 2^-inf = 0
          s[n][i] = p;
          l[i >> 1] += p;
        }
      }

      // O += P V over the k-steps of 16 keys that hold a valid key.
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (j * 16 >= kValid) continue;  // P is 0 there
        const uint32_t a[4] = {Pair<T>::pack(s[2 * j][0], s[2 * j][1]), Pair<T>::pack(s[2 * j][2], s[2 * j][3]),
                               Pair<T>::pack(s[2 * j + 1][0], s[2 * j + 1][1]),
                               Pair<T>::pack(s[2 * j + 1][2], s[2 * j + 1][3])};
#pragma unroll
        for (int p = 0; p < 4; ++p) {
          // matrices (transposed): keys j*16+0..7, +8..15 | dims p*16+0..7 ; same keys | dims +8..15
          uint32_t b[4];
          ldmatrixX4Trans(b, &Vs[j * 16 + mr + (mi & 1) * 8][p * 16 + (mi >> 1) * 8]);
          mma16816<T>(o[2 * p], a, b[0], b[1]);
          mma16816<T>(o[2 * p + 1], a, b[2], b[3]);
        }
      }
    }
  }
  cpAsyncWaitAll();  // only empty groups are left; nothing may be in flight when the block ends
  if (!active) return;

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(kFullMask, l[r], 1);
    l[r] += __shfl_xor_sync(kFullMask, l[r], 2);
  }
  const float inv0 = 1.f / l[0], inv1 = 1.f / l[1];
  const int row0 = warp * 16 + g, row1 = row0 + 8;
  T* out0 = out + int64_t(tile.start + tile.q0 + row0) * ldo + col + 2 * t;
  T* out1 = out + int64_t(tile.start + tile.q0 + row1) * ldo + col + 2 * t;
#pragma unroll
  for (int n = 0; n < 8; ++n) {
    if (row0 < qValid) *reinterpret_cast<uint32_t*>(out0 + n * 8) = Pair<T>::pack(o[n][0] * inv0, o[n][1] * inv0);
    if (row1 < qValid) *reinterpret_cast<uint32_t*>(out1 + n * 8) = Pair<T>::pack(o[n][2] * inv1, o[n][3] * inv1);
  }
}

}  // namespace

int flashAttentionStages(int queryTile) {
  if (queryTile == 64) return 2;
  // The most stages that keep two 8-warp blocks per SM (the register file allows two): 4 on Hopper (2 x 92 KB of
  // 228 KB), 3 on A100 (164 KB), 2 where shared memory is smaller.
  int device = 0, perSm = 0, perBlock = 0;
  IGB_CUDA(cudaGetDevice(&device));
  IGB_CUDA(cudaDeviceGetAttribute(&perSm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device));
  IGB_CUDA(cudaDeviceGetAttribute(&perBlock, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  const int smem[5] = {0, 0, flashSmemBytes<8, 2>(), flashSmemBytes<8, 3>(), flashSmemBytes<8, 4>()};
  for (int s = 4; s > 2; --s)
    if (smem[s] <= perBlock && 2 * (smem[s] + 1024) <= perSm) return s;
  return 2;
}

void launchAttentionFlash(TensorRef q, TensorRef k, TensorRef v, TensorRef out, int heads, const AttnTile* tiles,
                          int64_t numTiles, int queryTile, int stages, cudaStream_t stream) {
  if (numTiles <= 0) return;
  if (queryTile != 64 && queryTile != 128) throwInvalid("flash attention: query tiles of 64 or 128 rows");
  if (stages == 0) stages = flashAttentionStages(queryTile);
  if (stages < 2 || stages > 4 || (queryTile == 64 && stages != 2))
    throwInvalid("flash attention: 2, 3 or 4 stages with 128-row query tiles, 2 with 64-row tiles");
  const float scaleLog2 = 1.4426950408889634f / 8.f;  // log2(e) / sqrt(64)
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto launch = [&](auto kernel, int smemBytes) {
      // Over 48 KB of dynamic shared memory is an opt-in per kernel (and device: set at every launch, it is cheap).
      IGB_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smemBytes));
      constexpr int64_t kMaxGridY = 65535;
      for (int64_t first = 0; first < numTiles; first += kMaxGridY) {
        const dim3 grid{unsigned(heads), unsigned(std::min(kMaxGridY, numTiles - first))}, block{unsigned(queryTile * 2)};
        IGB_LAUNCH(kernel, grid, block, size_t(smemBytes), stream)(
            static_cast<const T*>(q.ptr), q.ld, static_cast<const T*>(k.ptr), k.ld, static_cast<const T*>(v.ptr), v.ld,
            static_cast<T*>(out.ptr), out.ld, tiles + first, scaleLog2);
        IGB_LAUNCH_CHECK();
      }
    };
    if (queryTile == 64) launch(flashAttentionKernel<T, 4, 2>, flashSmemBytes<4, 2>());
    else if (stages == 4) launch(flashAttentionKernel<T, 8, 4>, flashSmemBytes<8, 4>());
    else if (stages == 3) launch(flashAttentionKernel<T, 8, 3>, flashSmemBytes<8, 3>());
    else launch(flashAttentionKernel<T, 8, 2>, flashSmemBytes<8, 2>());
  };
  if (q.dtype == DType::BF16) run(Tag<bf16>{});
  else if (q.dtype == DType::F16) run(Tag<f16>{});
  else throwInvalid("flash attention needs bf16 or fp16 tensors");
}

}  // namespace igb
