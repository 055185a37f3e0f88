// Plain host-side vocabulary shared by the context, the program planner, the kernels' launchers and the
// tests. No CUDA types here, so program.cpp (and the CPU simulator) compile with a plain C++ compiler.
#pragma once
#include <cstddef>
#include <cstdint>

namespace igb {

// Element type of a tensor on the device. BF16/F16 are 16-bit storage types; arithmetic is always fp32.
enum class DType : int { BF16 = 0, F16 = 1, F32 = 2 };

inline size_t dtypeSize(DType t) { return t == DType::F32 ? 4 : 2; }
inline const char* dtypeName(DType t) { return t == DType::BF16 ? "bf16" : t == DType::F16 ? "fp16" : "fp32"; }

enum class Activation : int { None = 0, Gelu = 1, Tanh = 2 };

// A row-major matrix on the device: element (r, c) is at ptr[r * ld + c]. Views of a wider tensor
// (a column block of a fused QKV output) are expressed with ptr already advanced to the block and
// ld = the parent's column count.
struct TensorRef {
  void* ptr = nullptr;
  int64_t ld = 0;
  DType dtype = DType::F32;
};

// Query rows per block (tile) of each attention kernel; the host's tile lists are cut to these.
constexpr int kFlashQueryTile = 128;  // tensor-core kernel, 8 warps (64 = its 4-warp configuration)
constexpr int kTiledQueryTile = 64;   // exact tiled kernel, one thread per query
constexpr int kSimpleQueryTile = 8;   // exact reference kernel, one warp per query

// One query tile of one packed sequence, as the attention kernels consume it: tokens
// [start, start + len) form the sequence; the tile covers queries q0 .. q0 + tileSize - 1 (clipped to len).
struct AttnTile {
  int32_t start;
  int32_t len;
  int32_t q0;
  int32_t pad;
};

}  // namespace igb
