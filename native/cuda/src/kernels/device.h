// Device-side helpers shared by the kernels: element conversions, 16-byte vector loads/stores, warp
// reductions and the two tensor-core primitives (ldmatrix, mma.sync). Every warp-collective or inline-PTX
// operation sits behind a small function here so that the CPU simulator (test/sim) can substitute an
// emulation that follows the PTX ISA's documented semantics; the kernels themselves are the same code in
// both builds.
#pragma once
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <algorithm>

#include "../types.h"

namespace igb {

using bf16 = __nv_bfloat16;
using f16 = __half;

template <class T> struct Tag { using type = T; };

// Calls f(Tag<T>{}) with the C++ type of a DType (host side; used by the launchers to instantiate kernels).
template <class F> void withType(DType t, F&& f) {
  switch (t) {
    case DType::BF16: f(Tag<bf16>{}); break;
    case DType::F16: f(Tag<f16>{}); break;
    default: f(Tag<float>{}); break;
  }
}

__device__ __forceinline__ float toF(float v) { return v; }
__device__ __forceinline__ float toF(bf16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float toF(f16 v) { return __half2float(v); }

template <class T> __device__ __forceinline__ T fromF(float v);
template <> __device__ __forceinline__ float fromF<float>(float v) { return v; }
template <> __device__ __forceinline__ bf16 fromF<bf16>(float v) { return __float2bfloat16_rn(v); }
template <> __device__ __forceinline__ f16 fromF<f16>(float v) { return __float2half_rn(v); }

// Two 16-bit values packed in one 32-bit word, lower index in the low half (the layout of memory and of
// the mma fragments). Done with integer ops so no type punning of 16-bit structs is needed.
template <class T> struct Pair;
template <> struct Pair<bf16> {
  static __device__ __forceinline__ float lo(uint32_t w) { return __uint_as_float(w << 16); }
  static __device__ __forceinline__ float hi(uint32_t w) { return __uint_as_float(w & 0xffff0000u); }
  static __device__ __forceinline__ uint32_t pack(float a, float b) {
#ifdef IGB_SIM
    return static_cast<uint32_t>(__bfloat16_as_ushort(__float2bfloat16_rn(a))) |
           (static_cast<uint32_t>(__bfloat16_as_ushort(__float2bfloat16_rn(b))) << 16);
#else
    const __nv_bfloat162 h = __floats2bfloat162_rn(a, b);  // one cvt.rn.bf16x2.f32; a in the low half (.x)
    return *reinterpret_cast<const uint32_t*>(&h);
#endif
  }
};
template <> struct Pair<f16> {
  static __device__ __forceinline__ float lo(uint32_t w) {
    return __half2float(__ushort_as_half(static_cast<unsigned short>(w & 0xffffu)));
  }
  static __device__ __forceinline__ float hi(uint32_t w) {
    return __half2float(__ushort_as_half(static_cast<unsigned short>(w >> 16)));
  }
  static __device__ __forceinline__ uint32_t pack(float a, float b) {
#ifdef IGB_SIM
    return static_cast<uint32_t>(__half_as_ushort(__float2half_rn(a))) |
           (static_cast<uint32_t>(__half_as_ushort(__float2half_rn(b))) << 16);
#else
    const __half2 h = __floats2half2_rn(a, b);  // one cvt.rn.f16x2.f32; a in the low half (.x)
    return *reinterpret_cast<const uint32_t*>(&h);
#endif
  }
};

// 8 consecutive elements <-> 8 floats. p must be 16-byte aligned (one uint4 for 16-bit types, two float4
// for fp32).
template <class T> __device__ __forceinline__ void load8(const T* p, float (&v)[8]) {
  if constexpr (sizeof(T) == 4) {
    const float4 a = reinterpret_cast<const float4*>(p)[0];
    const float4 b = reinterpret_cast<const float4*>(p)[1];
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
  } else {
    const uint4 u = *reinterpret_cast<const uint4*>(p);
    v[0] = Pair<T>::lo(u.x); v[1] = Pair<T>::hi(u.x); v[2] = Pair<T>::lo(u.y); v[3] = Pair<T>::hi(u.y);
    v[4] = Pair<T>::lo(u.z); v[5] = Pair<T>::hi(u.z); v[6] = Pair<T>::lo(u.w); v[7] = Pair<T>::hi(u.w);
  }
}
template <class T> __device__ __forceinline__ void store8(T* p, const float (&v)[8]) {
  if constexpr (sizeof(T) == 4) {
    reinterpret_cast<float4*>(p)[0] = make_float4(v[0], v[1], v[2], v[3]);
    reinterpret_cast<float4*>(p)[1] = make_float4(v[4], v[5], v[6], v[7]);
  } else {
    *reinterpret_cast<uint4*>(p) = make_uint4(Pair<T>::pack(v[0], v[1]), Pair<T>::pack(v[2], v[3]),
                                              Pair<T>::pack(v[4], v[5]), Pair<T>::pack(v[6], v[7]));
  }
}

constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}
__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

// 2^x on the SFU (ex2.approx.ftz: ~2 ulp, subnormal results flushed to 0, 2^-inf = 0): the softmax of 16-bit
// attention, whose probabilities are rounded to 16 bits for the P·V product anyway.
__device__ __forceinline__ float fastExp2(float x) {
#ifdef IGB_SIM
  return std::exp2(x);
#else
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
#endif
}

// ---- asynchronous global -> shared copies (sm_80+) ----

// Copies 16 bytes from global to shared memory without passing through registers. valid == false zero-fills
// the 16 bytes and reads nothing (src-size 0). The data is only guaranteed to be there after this thread's
// cpAsyncWaitAll(), and visible to other threads after a __syncthreads() that follows it.
__device__ __forceinline__ void cpAsync16(void* smem, const void* gmem, bool valid) {
#ifdef IGB_SIM
  ::sim::cpAsync16(smem, gmem, valid);
#else
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(valid ? 16 : 0) : "memory");
#endif
}
// Waits for all of this thread's outstanding cpAsync16 copies.
__device__ __forceinline__ void cpAsyncWaitAll() {
#ifdef IGB_SIM
  ::sim::cpAsyncWaitAll();
#else
  asm volatile("cp.async.wait_all;\n" ::: "memory");
#endif
}

// Closes the cp.async-group of this thread's copies issued since the last commit (an empty group is fine).
__device__ __forceinline__ void cpAsyncCommit() {
#ifdef IGB_SIM
  ::sim::cpAsyncCommit();
#else
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}
// Waits until at most N of this thread's committed cp.async-groups (the newest) are still in flight.
template <int N> __device__ __forceinline__ void cpAsyncWaitGroup() {
#ifdef IGB_SIM
  ::sim::cpAsyncWaitGroup(N);
#else
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

// ---- tensor-core primitives (warp-collective; all 32 lanes must call them together) ----

// ldmatrix .m8n8.x4.b16: lane l supplies the shared-memory address of row (l % 8) of matrix (l / 8);
// r[i] receives, from matrix i, the two elements (row l/4, cols 2*(l%4), 2*(l%4)+1) — or with .trans
// (row 2*(l%4), col l/4) and (row 2*(l%4)+1, col l/4) — lower column/row index in the low 16 bits.
__device__ __forceinline__ void ldmatrixX4(uint32_t (&r)[4], const void* smemRow) {
#ifdef IGB_SIM
  ::sim::ldmatrixX4(r, smemRow, false);
#else
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(smemRow));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
#endif
}
__device__ __forceinline__ void ldmatrixX4Trans(uint32_t (&r)[4], const void* smemRow) {
#ifdef IGB_SIM
  ::sim::ldmatrixX4(r, smemRow, true);
#else
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(smemRow));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
#endif
}

// d += A(16x16, row-major fragment a[4]) * B(16x8, column fragment b0,b1), fp32 accumulate.
// Fragment layouts (PTX ISA, mma.m16n8k16 for .bf16/.f16), g = lane/4, t = lane%4:
//   a[0] = A[g][2t..2t+1]  a[1] = A[g+8][2t..2t+1]  a[2] = A[g][2t+8..2t+9]  a[3] = A[g+8][2t+8..2t+9]
//   b0 = B[2t..2t+1][g]    b1 = B[2t+8..2t+9][g]
//   d[0..1] = D[g][2t..2t+1]  d[2..3] = D[g+8][2t..2t+1]
template <class T> __device__ __forceinline__ void mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#ifdef IGB_SIM
  ::sim::mma16816(d, a, b0, b1, std::is_same<T, bf16>::value);
#else
  if constexpr (std::is_same<T, bf16>::value) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
#endif
}

}  // namespace igb
