// Row-major linear layer on cuBLASLt: y[M,N] = x[M,K] · W[N,K]^T (+ bias[N]) (+ residual[M,N]), W stored like
// nn.Linear. The residual is cuBLASLt's C operand with beta = 1, so a Linear followed by a residual add is one
// GEMM and the LayerNorm after it reads one tensor instead of two.
// fp32 accumulation always (CUBLAS_COMPUTE_32F — never TF32). One instance per context: it owns the
// cuBLASLt handle, a 32 MiB workspace and the cache of heuristic results; callers serialize on it (the
// context's launch mutex).
//
// Batch invariance: cuBLASLt's heuristic picks a different kernel for a different M (token count), so a
// sequence's numbers could depend on its batch mates by a rounding. With batchInvariant (fp32 contexts) the
// algorithm is chosen once per (N, K, types, alignments) — for a large reference M, without split-K — and
// reused for every M, so each output row is the same dot products in the same order whatever the batch: the
// same bits. 16-bit contexts pick per M (speed); there a sequence's outputs vary within 16-bit rounding.
//
// Tuning (16-bit contexts, tune = true; IGBERT_CUDA_GEMM_TUNE=1, off by default): the first time a shape is seen in a bucket of M (eight buckets per
// octave), the heuristic's first 8 candidates are timed on that call's own buffers (one warm-up and 3 timed runs
// each; the stream is synchronized) and the fastest is kept for the bucket — for the whole process and every
// context on the same GPU model, so the engines of one job (one per GPU) compute a batch the same way. GEMMs under
// 4 GFLOP keep the heuristic's first choice. Without tuning every shape takes the heuristic's first choice.
// Tuning picks by timing, so two processes may choose differently (bf16 results then differ within bf16 rounding);
// without it (the default) 16-bit runs are reproducible across processes.
#pragma once
#include <cuda_runtime.h>

#include <memory>
#include <string>

#include "types.h"

namespace igb {

class Gemm {
 public:
  Gemm(int device, bool batchInvariant, bool tune = false);
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  // x: [M, K] row stride ldx, type wType (the weight's type); y: [M, N] row stride ldy, type yType.
  // bias: N elements of type yType (cuBLASLt's bias epilogue reads the bias in the output type), or null.
  // residual: [M, N] row stride ldr, type yType (cuBLASLt wants C in D's type), or null; must not overlap y
  // (cuBLASLt would allow C == D with the same layout, but the programs never need it).
  void linear(int64_t M, int64_t N, int64_t K, const void* W, DType wType, const void* x, int64_t ldx, void* y,
              DType yType, int64_t ldy, const void* bias, const void* residual, int64_t ldr, cudaStream_t stream);

  static size_t libraryVersion();
  // How the algorithm of the most recently planned shape was chosen (heuristic / tuned / batch-invariant, the
  // algorithm's configuration and, when tuned, its speed-up over the heuristic's first choice).
  std::string lastPlanNote() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace igb
