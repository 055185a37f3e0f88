// CPU emulation of the slice of CUDA the engine uses, so the real kernel sources (src/kernels/*.cu) and the
// real context (src/context.cpp) compile with g++ and run here, without a GPU. Test-only tooling.
//
// Execution model: a launch runs its blocks on a few OS threads (blocks are independent); inside a block every
// CUDA thread is a fiber (own stack, hand-written x86-64 switch) of that OS thread. A fiber runs until it reaches __syncthreads() or a
// warp-collective operation (shuffle, ldmatrix, mma), then the next fiber runs; a barrier releases when every
// live thread of its scope (block or warp) has arrived. So between two barriers one thread runs to completion
// before the next starts: a missing __syncthreads shows up as stale or overwritten shared memory, i.e. wrong
// results, deterministically. Mismatched barriers (some lanes at a shuffle, others at __syncthreads) and warp
// collectives with exited lanes are reported and abort.
//
// __shared__ variables become `static thread_local`: one copy per OS thread, which runs one block at a time,
// i.e. exactly block-shared storage. Device memory is host memory (malloc), poisoned with 0xFF bytes (NaN for
// every float type) on allocation, so reads of never-written memory produce NaN; build with AddressSanitizer
// to catch out-of-bounds accesses.
//
// Warp collectives emulate the PTX ISA's documented semantics: shfl.sync; ldmatrix.m8n8.x4(.trans).b16 (lane l
// gives the address of row l%8 of matrix l/8; lane l receives row l/4, elements 2(l%4), 2(l%4)+1 of each
// matrix, or the transposed pair); mma.m16n8k16.row.col.f32.{bf16,f16} with the documented A/B/C fragment
// layouts (products exact, accumulation in double then rounded to fp32 — the hardware's accumulation order
// and rounding are not modelled); cp.async (16 bytes, zero-fill) completing at the issuing thread's wait.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#define IGB_SIM_RUNTIME 1

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __shared__ static thread_local

// ---- vector types ----
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(16) uint4 { unsigned x, y, z, w; };
struct alignas(16) int4 { int x, y, z, w; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(8) float2 { float x, y; };
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline long min(long a, long b) { return a < b ? a : b; }
inline long max(long a, long b) { return a > b ? a : b; }
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }

// ---- 16-bit float types (bit patterns; conversions round to nearest even like the CUDA intrinsics) ----
struct __nv_bfloat16 { unsigned short __x; };
struct __half { unsigned short __x; };

inline float __bfloat162float(__nv_bfloat16 h) { return __uint_as_float(unsigned(h.__x) << 16); }
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  const unsigned u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return {static_cast<unsigned short>((u >> 16) | 0x40u)};  // quiet NaN
  return {static_cast<unsigned short>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16)};
}
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.__x; }
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short s) { return {s}; }

inline float __half2float(__half h) {
  const unsigned s = (h.__x >> 15) & 1u, e = (h.__x >> 10) & 0x1fu, m = h.__x & 0x3ffu;
  float v;
  if (e == 0) v = std::ldexp(float(m), -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = std::ldexp(float(m | 0x400u), int(e) - 25);
  return s ? -v : v;
}
inline __half __float2half_rn(float f) {
  const unsigned u = __float_as_uint(f);
  const unsigned short sign = static_cast<unsigned short>((u >> 16) & 0x8000u);
  const float a = std::fabs(f);
  if (std::isnan(f)) return {static_cast<unsigned short>(sign | 0x7e00u)};
  if (a >= 65520.f) return {static_cast<unsigned short>(sign | 0x7c00u)};  // rounds to infinity
  if (a < std::ldexp(1.f, -14)) {                                          // subnormal: multiples of 2^-24
    const float q = std::nearbyint(a * 16777216.f);                        // default rounding: to nearest even
    return {static_cast<unsigned short>(sign | unsigned(q))};
  }
  int exp;
  std::frexp(a, &exp);  // a = f * 2^exp, f in [0.5, 1)
  const float scaled = std::ldexp(a, 11 - exp);  // 11 significant bits: [1024, 2048)
  unsigned mant = unsigned(std::nearbyint(scaled));
  int e = exp - 1 + 15;
  if (mant == 2048) { mant = 1024; ++e; }
  if (e >= 31) return {static_cast<unsigned short>(sign | 0x7c00u)};
  return {static_cast<unsigned short>(sign | (unsigned(e) << 10) | (mant & 0x3ffu))};
}
inline unsigned short __half_as_ushort(__half h) { return h.__x; }
inline __half __ushort_as_half(unsigned short s) { return {s}; }

// ---- runtime API types ----
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorUnknown = 999,
};
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
enum cudaDeviceAttr { cudaDevAttrMaxSharedMemoryPerMultiprocessor = 81, cudaDevAttrMaxSharedMemoryPerBlockOptin = 97 };
typedef struct SimStream* cudaStream_t;
typedef struct SimEvent* cudaEvent_t;
typedef struct SimPool* cudaMemPool_t;
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice, cudaMemcpyDefault };
enum cudaMemAllocationType { cudaMemAllocationTypePinned = 1 };
enum cudaMemAllocationHandleType { cudaMemHandleTypeNone = 0 };
enum cudaMemLocationType { cudaMemLocationTypeDevice = 1 };
struct cudaMemLocation { cudaMemLocationType type; int id; };
struct cudaMemPoolProps {
  cudaMemAllocationType allocType;
  cudaMemAllocationHandleType handleTypes;
  cudaMemLocation location;
};
enum cudaMemPoolAttr { cudaMemPoolAttrReleaseThreshold = 4, cudaMemPoolAttrReservedMemCurrent = 5, cudaMemPoolAttrReservedMemHigh = 6 };
struct cudaDeviceProp {
  char name[256];
  int major, minor;
  size_t totalGlobalMem;
  int multiProcessorCount;
};
constexpr unsigned cudaStreamNonBlocking = 1, cudaEventDefault = 0, cudaEventBlockingSync = 1, cudaEventDisableTiming = 2,
                   cudaHostAllocPortable = 1;

const char* cudaGetErrorName(cudaError_t e);
const char* cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
cudaError_t cudaGetDeviceCount(int* n);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaGetDevice(int* d);
// The shared-memory limits of an H100/H200 (the only attributes the kernels ask for).
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaDriverGetVersion(int* v);
cudaError_t cudaRuntimeGetVersion(int* v);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int d);
cudaError_t cudaMemGetInfo(size_t* freeBytes, size_t* totalBytes);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaMalloc(void** p, size_t bytes);
template <class T> cudaError_t cudaMalloc(T** p, size_t bytes) { return cudaMalloc(reinterpret_cast<void**>(p), bytes); }
cudaError_t cudaFree(void* p);
cudaError_t cudaMallocFromPoolAsync(void** p, size_t bytes, cudaMemPool_t pool, cudaStream_t s);
cudaError_t cudaMallocAsync(void** p, size_t bytes, cudaStream_t s);
cudaError_t cudaFreeAsync(void* p, cudaStream_t s);
cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned flags);
cudaError_t cudaFreeHost(void* p);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind k);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind k, cudaStream_t s = nullptr);
cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind k, cudaStream_t s = nullptr);
cudaError_t cudaMemset(void* p, int v, size_t bytes);
cudaError_t cudaMemsetAsync(void* p, int v, size_t bytes, cudaStream_t s = nullptr);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamCreate(cudaStream_t* s);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaEventCreate(cudaEvent_t* e);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned flags);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaMemPoolCreate(cudaMemPool_t* pool, const cudaMemPoolProps* props);
cudaError_t cudaMemPoolDestroy(cudaMemPool_t pool);
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t pool, cudaMemPoolAttr attr, void* value);
cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t pool, cudaMemPoolAttr attr, void* value);

// ---- execution ----
namespace sim {

struct PendingCopy {
  void* dst;
  const void* src;
  bool valid;
  int group;  // the cp.async-group it belongs to (committed groups are numbered 0, 1, ...; the open one is `committed`)
};
struct ThreadState {
  dim3 tid;
  int lane = 0, warp = 0;
  PendingCopy pending[64];  // cp.async copies issued and not yet waited for
  int npending = 0;
  int committed = 0;        // cp.async-groups committed so far
};
extern thread_local ThreadState* g_current;
extern thread_local dim3 g_blockIdx, g_blockDim, g_gridDim;

void syncthreads();
void* dynamicShared();
uint32_t shuffle(uint32_t value, int srcLaneOrMask, bool isXor, unsigned mask);
void ldmatrixX4(uint32_t (&r)[4], const void* rowAddress, bool trans);
void mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1, bool bf16);
// cp.async: the copy is recorded and performed only at the issuing thread's wait (the latest the PTX ISA
// allows), so reading the destination before waiting sees stale data.
void cpAsync16(void* smem, const void* gmem, bool valid);
void cpAsyncWaitAll();
// cp.async.commit_group / cp.async.wait_group n: the copies of every committed group but the n newest are done.
void cpAsyncCommit();
void cpAsyncWaitGroup(int n);
void setLastError(cudaError_t e);
// Runs body once per CUDA thread of every block (see the header comment).
// kernel: what cudaFuncSetAttribute was called with, for the dynamic shared memory limit above 48 KiB.
void runGrid(dim3 grid, dim3 block, size_t dynamicSmem, const std::function<void()>& body, const void* kernel = nullptr);
void setMaxDynamicShared(const void* kernel, int bytes);

template <class... P> struct Launcher {
  void (*kernel)(P...);
  dim3 grid, block;
  size_t smem;
  template <class... A> void operator()(A&&... a) const {
    const std::tuple<std::decay_t<P>...> args(std::forward<A>(a)...);
    auto k = kernel;
    runGrid(grid, block, smem, [&] { std::apply(k, args); }, reinterpret_cast<const void*>(kernel));
  }
};
template <class... P>
Launcher<P...> launcher(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t) {
  return {kernel, grid, block, smem};
}

}  // namespace sim

// Only the attribute the kernels use: the opt-in to more than 48 KiB of dynamic shared memory (up to 227 KiB).
template <class... P> cudaError_t cudaFuncSetAttribute(void (*kernel)(P...), cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 || value > 227 * 1024) return cudaErrorInvalidValue;
  ::sim::setMaxDynamicShared(reinterpret_cast<const void*>(kernel), value);
  return cudaSuccess;
}

#define threadIdx (::sim::g_current->tid)
#define blockIdx (::sim::g_blockIdx)
#define blockDim (::sim::g_blockDim)
#define gridDim (::sim::g_gridDim)

inline void __syncthreads() { ::sim::syncthreads(); }

template <class T> inline T simShuffle(unsigned mask, T v, int lane, bool isXor) {
  static_assert(sizeof(T) == 4, "32-bit shuffles only");
  uint32_t u;
  std::memcpy(&u, &v, 4);
  u = ::sim::shuffle(u, lane, isXor, mask);
  T r;
  std::memcpy(&r, &u, 4);
  return r;
}
template <class T> inline T __shfl_xor_sync(unsigned mask, T v, int laneMask, int = 32) { return simShuffle(mask, v, laneMask, true); }
template <class T> inline T __shfl_sync(unsigned mask, T v, int srcLane, int = 32) { return simShuffle(mask, v, srcLane, false); }
