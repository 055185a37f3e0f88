// Host-side launchers of the hand-written kernels. Each launcher picks the kernel instance for the
// element types and shapes, launches it on `stream` and checks the launch (IGB_LAUNCH_CHECK). Shapes of
// zero rows launch nothing. All matrices are row-major TensorRefs (ptr + leading dimension in elements).
#pragma once
#include <cuda_runtime.h>

#include "../types.h"

namespace igb {

// Element-wise type conversion of a [rows, cols] block (weights upload, fp32 download of outputs).
void launchConvert(TensorRef src, TensorRef dst, int64_t rows, int64_t cols, cudaStream_t stream);

// BertEmbeddings: out[t] = LayerNorm(word[ids[t]] + tokenType[types[t]] + position[pos[t]]) in fp32.
// The three tables are contiguous [*, cols] matrices of type tableType.
void launchEmbeddings(const int32_t* ids, const int32_t* types, const int32_t* positions, int64_t tokens,
                      const void* word, const void* tokenType, const void* position, DType tableType,
                      int64_t cols, const float* gamma, const float* beta, float eps, TensorRef out,
                      cudaStream_t stream);

// out = LayerNorm(in (+ residual)) over each row; statistics in fp32 (two-pass variance).
// residual may be null; when given it must have in's dtype.
void launchLayerNorm(TensorRef in, const TensorRef* residual, int64_t rows, int64_t cols, const float* gamma,
                     const float* beta, float eps, TensorRef out, cudaStream_t stream);

// x = act(x) in place (exact erf GELU or tanh), computed in fp32.
void launchActivation(TensorRef x, int64_t rows, int64_t cols, Activation act, cudaStream_t stream);

// softmax(Q K^T / sqrt(d)) V per sequence and head, on packed sequences described by `tiles` (device
// memory, one entry per block: see AttnTile; the tile sizes are in types.h). The flash kernel needs head size
// 64, bf16/fp16, q/k/v pointers and row strides 16-byte aligned (program.cpp checks); its query tile is
// kFlashQueryTile (128) or 64 (the previous configuration, for comparisons). stages: how many K/V tiles it keeps
// in flight (2-4 with 128-row tiles, 2 with 64-row ones); 0 picks the most that keep two blocks per SM.
void launchAttentionFlash(TensorRef q, TensorRef k, TensorRef v, TensorRef out, int heads, const AttnTile* tiles,
                          int64_t numTiles, int queryTile, int stages, cudaStream_t stream);
// The stage count stages = 0 picks on the current device.
int flashAttentionStages(int queryTile);
// Exact (fp32 math, no tensor cores), tiled: 64 queries per block; head size 32 or 64; q/k/v/out rows 16-byte
// aligned (program.cpp checks).
void launchAttentionTiled(TensorRef q, TensorRef k, TensorRef v, TensorRef out, int heads, int headDim,
                          const AttnTile* tiles, int64_t numTiles, cudaStream_t stream);
// Exact, the reference: 8 queries per block, any head size up to 256, any alignment.
void launchAttentionSimple(TensorRef q, TensorRef k, TensorRef v, TensorRef out, int heads, int headDim,
                           const AttnTile* tiles, int64_t numTiles, cudaStream_t stream);

// out[r] = in[index[r]] (converted to out's dtype). firstTokens uses the sequence offsets as index.
void launchGatherRows(TensorRef in, const int32_t* index, int64_t rows, int64_t cols, TensorRef out,
                      cudaStream_t stream);

// out[g] = mean of in[groupRows[groupOffsets[g] .. groupOffsets[g+1]-1]], accumulated in fp32.
void launchMeanRows(TensorRef in, const int32_t* groupOffsets, const int32_t* groupRows, int64_t groups,
                    int64_t cols, float* out, int64_t ldo, cudaStream_t stream);

// out = log_softmax(in) over each row, in fp32.
void launchLogSoftmax(TensorRef in, int64_t rows, int64_t cols, float* out, int64_t ldo, cudaStream_t stream);

}  // namespace igb
