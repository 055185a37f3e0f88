// CPU float64 references for the kernel tests and the BERT program test (kernels_test.cu). Written
// independently of the kernels: plain loops over row-major std::vector<double>.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

namespace ref {

using Mat = std::vector<double>;  // row-major

inline void layerNorm(const double* x, int64_t n, const float* g, const float* b, double eps, double* out) {
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= double(n);
  double var = 0;
  for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= double(n);
  const double inv = 1.0 / std::sqrt(var + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = (x[i] - mean) * inv * g[i] + b[i];
}

inline double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

// y[M,N] = x[M,K] W[N,K]^T + b
inline Mat linear(const Mat& x, int64_t M, int64_t K, const std::vector<float>& W, int64_t N, const std::vector<float>* b) {
  Mat y(size_t(M * N));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double acc = b ? double((*b)[size_t(n)]) : 0.0;
      for (int64_t k = 0; k < K; ++k) acc += x[size_t(m * K + k)] * double(W[size_t(n * K + k)]);
      y[size_t(m * N + n)] = acc;
    }
  return y;
}

// q, k, v: [T, heads*d] (row stride ld, column offsets qc, kc, vc); out [T, heads*d].
inline Mat attention(const std::vector<double>& qkv, int64_t ld, int64_t qc, int64_t kc, int64_t vc, const std::vector<int32_t>& lengths,
                     int heads, int d) {
  int64_t T = 0;
  for (int32_t l : lengths) T += l;
  const int64_t H = int64_t(heads) * d;
  Mat out(size_t(T * H), 0.0);
  int64_t start = 0;
  std::vector<double> s;
  for (int32_t len : lengths) {
    s.resize(size_t(len));
    for (int h = 0; h < heads; ++h)
      for (int64_t i = 0; i < len; ++i) {
        const double* q = &qkv[size_t((start + i) * ld + qc + h * d)];
        double mx = -INFINITY;
        for (int64_t j = 0; j < len; ++j) {
          const double* k = &qkv[size_t((start + j) * ld + kc + h * d)];
          double dot = 0;
          for (int e = 0; e < d; ++e) dot += q[e] * k[e];
          s[size_t(j)] = dot / std::sqrt(double(d));
          mx = std::max(mx, s[size_t(j)]);
        }
        double sum = 0;
        for (int64_t j = 0; j < len; ++j) sum += (s[size_t(j)] = std::exp(s[size_t(j)] - mx));
        double* o = &out[size_t((start + i) * H + h * d)];
        for (int64_t j = 0; j < len; ++j) {
          const double* v = &qkv[size_t((start + j) * ld + vc + h * d)];
          const double p = s[size_t(j)] / sum;
          for (int e = 0; e < d; ++e) o[e] += p * v[e];
        }
      }
    start += len;
  }
  return out;
}

}  // namespace ref
