#!/usr/bin/env python3
"""torch's side of the kernel breakdown, on the GPU machine: the operations of one IgBert layer at the shapes of
native/cuda/test/kernels_test.cu's benchmark (T = 260 sequences x 231 tokens = 60,060 tokens, hidden 1024, 16 heads
of 64, intermediate 4096, bf16), each timed alone with CUDA events (mean of 20 after 3 warm-ups), as transformers'
BertLayer runs them: F.linear with bias (cuBLAS), sdpa over [260, 16, 231, 64] with no mask (all lengths equal:
FlashAttention-2 or cuDNN, whichever torch picks; each backend also alone), erf GELU, residual add + LayerNorm.
Compare line by line with kernels_test's "gemm" / "attention" / "layerNorm" / "gelu" lines from the same call.
Usage: torch_kernels.py"""
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

torch.backends.cuda.matmul.allow_tf32 = False
dev, dt = "cuda", torch.bfloat16
S, L, H, I, heads = 260, 231, 1024, 4096, 16
T = S * L


def time_ms(f, reps=20):
    for _ in range(3):
        f()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    a.record()
    for _ in range(reps):
        f()
    b.record()
    torch.cuda.synchronize()
    return a.elapsed_time(b) / reps


print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}: T={T} tokens ({S} x {L}), bf16", flush=True)
x = torch.randn(T, I, device=dev, dtype=dt)
total = 0.0
for name, n, k in (("qkv      (N=3072 K=1024)", 3 * H, H), ("attn-out (N=1024 K=1024)", H, H),
                   ("ffn-in   (N=4096 K=1024)", I, H), ("ffn-out  (N=1024 K=4096)", H, I)):
    w = torch.randn(n, k, device=dev, dtype=dt) * 0.02
    bias = torch.randn(n, device=dev, dtype=dt)
    inp = x[:, :k].contiguous()
    ms = time_ms(lambda: F.linear(inp, w, bias))
    total += ms
    print(f"torch linear {name} {ms:8.3f} ms  {2 * T * n * k / ms / 1e9:7.1f} TFLOP/s", flush=True)

q, k, v = (torch.randn(S, heads, L, 64, device=dev, dtype=dt) for _ in range(3))
flops = 4.0 * S * L * L * 64 * heads
best = None
for backend in (None, SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.EFFICIENT_ATTENTION):
    label = "default" if backend is None else backend.name
    try:
        if backend is None:
            ms = time_ms(lambda: F.scaled_dot_product_attention(q, k, v))
        else:
            with sdpa_kernel(backend):
                ms = time_ms(lambda: F.scaled_dot_product_attention(q, k, v))
    except RuntimeError as e:
        print(f"torch sdpa {label:20s} not available: {str(e).splitlines()[0][:100]}", flush=True)
        continue
    if backend is None:
        best = ms
    print(f"torch sdpa {label:20s} {ms:8.3f} ms  {flops / ms / 1e9:7.1f} TFLOP/s (useful FLOPs; q/k/v already [S, heads, L, 64])", flush=True)
total += best or 0.0

hidden = torch.randn(T, H, device=dev, dtype=dt)
res = torch.randn(T, H, device=dev, dtype=dt)
g, beta = torch.ones(H, device=dev, dtype=dt), torch.zeros(H, device=dev, dtype=dt)
ln = time_ms(lambda: F.layer_norm(hidden + res, (H,), g, beta, 1e-12))
total += 2 * ln
print(f"torch add + layer_norm (1024) {ln:8.3f} ms", flush=True)
inter = torch.randn(T, I, device=dev, dtype=dt)
ge = time_ms(lambda: F.gelu(inter))
total += ge
print(f"torch gelu (erf, 4096)        {ge:8.3f} ms  {2.0 * T * I * 2 / ge / 1e6:7.1f} GB/s", flush=True)
print(f"torch one layer (4 linears + default sdpa + 2 add+LN + GELU; no head transposes) {total:.3f} ms -> 30 layers "
      f"{30 * total:.1f} ms -> {T / (30 * total * 1e-3):.0f} tokens/s (kernels only)", flush=True)
