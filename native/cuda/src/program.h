// A NativeProgram as C++ data (ProgramDesc, filled by the Node-API binding or by the tests), and its
// validation and memory plan (ProgramPlan): resolved views, dtype/shape checks, the attention kernel each
// attention op will use, and tensor liveness — each tensor is allocated right before the first op that writes
// it and freed right after its last use, so a run holds a few tensors at a time, not the whole program.
// Plain C++ (no CUDA): the checks are unit-tested by the simulator build.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "types.h"

namespace igb {

enum class RowKind : int { Tokens = 0, Sequences = 1, HeadRows = 2, HiddenRows = 3, Groups = 4 };
constexpr int kRowKinds = 5;
const char* rowKindName(RowKind k);

struct TensorDesc {
  // A tensor with its own storage ...
  RowKind rows = RowKind::Tokens;
  int64_t cols = 0;
  bool f32 = false;  // dtype 'f32' (else 'compute', the context's dtype)
  // ... or a column block [col, col + cols) of tensor viewOf (>= 0), whose row stride is the parent's cols.
  int viewOf = -1;
  int64_t col = 0;
};

enum class OpKind : int { Embeddings, Linear, AddLayerNorm, LayerNorm, Attention, FirstTokens, GatherRows, MeanRows, LogSoftmax };
const char* opKindName(OpKind k);

struct OpDesc {
  OpKind kind = OpKind::Linear;
  int out = -1;
  int input = -1;     // linear, addLayerNorm, layerNorm, firstTokens, gatherRows, meanRows, logSoftmax
  int residual = -1;  // addLayerNorm; linear (optional: out = x·W^T + b + residual, activation must be none)
  int q = -1, k = -1, v = -1;
  int heads = 0;
  int word = -1, position = -1, tokenType = -1;  // embeddings (weight ids)
  int lnWeight = -1, lnBias = -1;                // embeddings, (add)LayerNorm
  double eps = 1e-12;
  std::vector<int> weights;  // linear
  std::vector<int> biases;   // linear; -1 = no bias for that block
  Activation activation = Activation::None;
  RowKind gather = RowKind::HeadRows;  // gatherRows: HeadRows or HiddenRows
};

struct ProgramDesc {
  std::vector<TensorDesc> tensors;
  std::vector<OpDesc> ops;
  std::vector<std::pair<std::string, int>> outputs;  // name -> tensor
};

// What the planner needs to know about an uploaded weight.
struct WeightMeta {
  bool exists = false;
  int64_t rows = 0, cols = 0;
  bool vector = false;  // stored fp32 (LayerNorm parameters, biases)
  int64_t length() const { return rows * cols; }
};

struct TensorPlan {
  int root = -1;     // the tensor owning the storage (itself unless a view)
  int64_t col = 0;   // first column inside the root
  int64_t cols = 0;
  int64_t ld = 0;    // row stride in elements = the root's cols
  RowKind rows = RowKind::Tokens;
  DType dtype = DType::F32;
};

// The attention kernels: tensor cores (16-bit, head size 64), exact tiled (head size 32 or 64: fp32 contexts),
// exact reference (anything else, or IGBERT_CUDA_ATTENTION=simple).
enum class AttnKernel : int { Flash = 0, Tiled = 1, Simple = 2 };
constexpr int kAttnKernels = 3;

struct OpPlan {
  std::vector<int> allocBefore;  // roots to allocate before the op runs
  std::vector<int> freeAfter;    // roots whose last use is this op (outputs excluded)
  AttnKernel attention = AttnKernel::Simple;  // attention
  int headDim = 0;               // attention
  int64_t outFeatures = 0, inFeatures = 0;  // linear
};

struct ProgramPlan {
  DType compute = DType::BF16;
  ProgramDesc desc;
  std::vector<TensorPlan> tensors;
  std::vector<OpPlan> ops;
  std::vector<int> outputRoots;         // freed after the download
  std::array<bool, kRowKinds> usesRows{};  // which batch row counts the program needs
  // Query rows per tile of each attention kernel the program uses (0: unused): the run's tile lists.
  std::array<int, kAttnKernels> attnTile{};
  // K/V stages of the flash kernel on the context's GPU (set by Context::compile, which knows the device).
  int flashStages = 0;
  // Limits the batch is checked against (embeddings tables' row counts; INT64_MAX when unused).
  int64_t vocab = INT64_MAX, tokenTypes = INT64_MAX, positions = INT64_MAX;
};

struct PlanOptions {
  bool forceSimpleAttention = false;  // IGBERT_CUDA_ATTENTION=simple
  int flashQueryTile = kFlashQueryTile;  // IGBERT_CUDA_FLASH_TILE=64: the 4-warp configuration (comparisons)
};

// Validates and plans; throws igb::Error (code INVALID_ARGUMENT) naming the op/tensor at fault.
ProgramPlan planProgram(const ProgramDesc& desc, const std::vector<WeightMeta>& weights, DType compute,
                        const PlanOptions& options = {});

}  // namespace igb
