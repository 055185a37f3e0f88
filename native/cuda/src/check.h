// CUDA status checking. Every CUDA runtime status is checked; a failure becomes an igb::Error (errors.h)
// with code 'CUDA_OOM' when memory ran out and 'CUDA_ERROR' otherwise.
#pragma once
#include <cuda_runtime.h>

#include "errors.h"

namespace igb {

[[noreturn]] inline void throwCuda(cudaError_t e, const char* what, const char* file, int line) {
  // Allocation failures are not sticky: clear the runtime's last-error slot so the next, unrelated
  // cudaGetLastError() after a launch does not report this one again.
  (void)cudaGetLastError();
  std::string msg = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e) + " (" + what + " at " +
                    file + ":" + std::to_string(line) + ")";
  throw Error(e == cudaErrorMemoryAllocation ? kOom : kCudaError, msg);
}

}  // namespace igb

#define IGB_CUDA(expr)                                                         \
  do {                                                                         \
    cudaError_t igb_e_ = (expr);                                               \
    if (igb_e_ != cudaSuccess) ::igb::throwCuda(igb_e_, #expr, __FILE__, __LINE__); \
  } while (0)

// After every kernel launch: catches bad launch configurations immediately (cheap, no sync).
#define IGB_LAUNCH_CHECK() IGB_CUDA(cudaGetLastError())

// Kernel launch that the CPU simulator can replace (g++ cannot parse <<<...>>>). `kernel` must be a
// single token (assign a template instance to a local pointer first).
#ifdef IGB_SIM
#define IGB_LAUNCH(kernel, grid, block, smem, stream) ::sim::launcher(kernel, grid, block, smem, stream)
#else
#define IGB_LAUNCH(kernel, grid, block, smem, stream) kernel<<<grid, block, smem, stream>>>
#endif
