// The one exception type of the engine. `code` is what the JS side sees as Error.code: 'CUDA_OOM' (device
// memory ran out), 'CUDA_ERROR' (any other CUDA/cuBLASLt failure), 'INVALID_ARGUMENT' (a mistake in the
// caller's program, batch or weights, found before anything is launched). No CUDA headers here.
#pragma once
#include <stdexcept>
#include <string>

namespace igb {

struct Error : std::runtime_error {
  std::string code;
  Error(std::string c, const std::string& message) : std::runtime_error(message), code(std::move(c)) {}
};

inline const char* const kOom = "CUDA_OOM";
inline const char* const kCudaError = "CUDA_ERROR";
inline const char* const kInvalid = "INVALID_ARGUMENT";

[[noreturn]] inline void throwInvalid(const std::string& msg) { throw Error(kInvalid, msg); }

}  // namespace igb
