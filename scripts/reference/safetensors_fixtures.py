"""Reference fixtures for igbert's safetensors reader and writer (test/safetensors.test.ts).

Writes, under test/fixtures/safetensors/:
  dtypes.safetensors         F32, F16 and BF16 tensors holding edge values (signed zeros, subnormals, the largest
                             finite values, infinities, NaNs with payloads), written by safetensors.torch.save_file
  writer_reference.safetensors  mixed dtypes and awkward names, written by safetensors.torch.save_file; igbert's
                             encoder must reproduce it byte for byte (key order, offsets, space padding)
  expected.json              for every tensor: dtype, shape, the stored bit patterns, and the float32 bit patterns
                             torch's `.float()` gives (the reference conversion igbert must match exactly)

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch safetensors numpy
    /tmp/ref/bin/python scripts/reference/safetensors_fixtures.py

Deterministic; the files are a few KB.
"""
import json
import os

import numpy as np
import safetensors
import torch
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "test", "fixtures", "safetensors")

F16_EDGE_BITS = [
    0x0000, 0x8000,  # +0, -0
    0x0001, 0x8001,  # smallest subnormal 2^-24, negated
    0x0200, 0x03FF, 0x83FF,  # subnormals up to the largest
    0x0400, 0x8400,  # smallest normal 2^-14
    0x3C00, 0xBC00, 0x3555, 0x2E66,  # 1, -1, ~1/3, ~0.1
    0x7BFF, 0xFBFF,  # +-65504
    0x7C00, 0xFC00,  # +-inf
    0x7E00, 0xFE00, 0x7C01, 0x7FFF, 0x7D55,  # quiet / signalling NaNs with payloads
]
BF16_EDGE_BITS = [
    0x0000, 0x8000,
    0x0001, 0x8001, 0x0040, 0x007F,  # subnormals (2^-133 .. largest)
    0x0080, 0x8080,  # smallest normal 2^-126
    0x3F80, 0xBF80, 0x3EAB, 0x3DCD,  # 1, -1, ~1/3, ~0.1
    0x7F7F, 0xFF7F,  # largest finite
    0x7F80, 0xFF80,  # +-inf
    0x7FC0, 0xFFC0, 0x7F81, 0x7FFF,  # NaNs with payloads
]
F32_EDGE_VALUES = [0.0, -0.0, 1.0, -2.5, 3.4028234663852886e38, 1.401298464324817e-45, 1.1754942106924411e-38,
                   float("inf"), float("-inf"), float("nan"), 3.141592653589793, 0.1]


def from_bits16(bits: list, dtype: torch.dtype, shape: list) -> torch.Tensor:
    return torch.from_numpy(np.array(bits, dtype=np.uint16).view(np.int16)).view(dtype).reshape(shape)


def describe(t: torch.Tensor, dtype_name: str) -> dict:
    """Stored bits plus torch's float32 conversion, as bit patterns so that NaN payloads and -0 survive JSON."""
    flat = t.contiguous().reshape(-1)
    if flat.dtype == torch.float32:
        stored = flat.numpy().view(np.uint32).tolist()
    else:
        stored = flat.view(torch.int16).numpy().view(np.uint16).tolist()
    float32_bits = flat.float().numpy().view(np.uint32).tolist()
    return {"dtype": dtype_name, "shape": list(t.shape), "stored_bits": stored, "float32_bits": float32_bits}


def main() -> None:
    os.makedirs(OUT_DIR, exist_ok=True)
    gen = torch.Generator().manual_seed(5)
    random16 = torch.randn(24, generator=gen) * 3.0
    # Exercise the normal range with ordinary values too (3 rows of 8); odd shapes are deliberate.
    f16_bits = F16_EDGE_BITS + random16.half().view(torch.int16).numpy().view(np.uint16).tolist()[:10]
    bf16_bits = BF16_EDGE_BITS + random16.bfloat16().view(torch.int16).numpy().view(np.uint16).tolist()[:12]
    tensors = {
        "f32.edges": torch.tensor(F32_EDGE_VALUES, dtype=torch.float32).reshape(3, 4),
        "f16.edges": from_bits16(f16_bits, torch.float16, [4, 8]),
        "bf16.edges": from_bits16(bf16_bits, torch.bfloat16, [2, 16]),
        "f16.scalar": from_bits16([0x3C00], torch.float16, []),
    }
    metadata = {"format": "pt"}
    save_file(tensors, os.path.join(OUT_DIR, "dtypes.safetensors"), metadata=metadata)

    # Names chosen to test the writer's ordering: dtype alignment first (F32 before F16/BF16), then UTF-8 byte
    # order ("layer.10" < "layer.2", "é" after "z"), plus a quote that JSON must escape and an empty tensor.
    writer = {
        "zeta": torch.tensor([1.5, -2.0], dtype=torch.float16),
        "alpha": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 7.0,
        "beta": torch.tensor([0.1], dtype=torch.bfloat16),
        "b2": torch.tensor([[65504.0]], dtype=torch.float16),
        "layer.10.w": torch.tensor([1.0], dtype=torch.float32),
        "layer.2.w": torch.tensor([2.0], dtype=torch.float32),
        "\u00e9": torch.tensor([3.0], dtype=torch.float32),
        "q\"uote": torch.tensor([4.0], dtype=torch.float32),
        "empty": torch.zeros(0, dtype=torch.float32),
    }
    save_file(writer, os.path.join(OUT_DIR, "writer_reference.safetensors"), metadata={"format": "pt"})

    dtype_names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
    expected = {
        "safetensors_version": safetensors.__version__,
        "torch_version": torch.__version__,
        "dtypes": {"metadata": metadata, "tensors": {k: describe(t, dtype_names[t.dtype]) for k, t in tensors.items()}},
        "writer_reference": {
            "metadata": {"format": "pt"},
            "tensors": {k: describe(t, dtype_names[t.dtype]) for k, t in writer.items()},
        },
    }
    with open(os.path.join(OUT_DIR, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write("\n")
    for name in sorted(os.listdir(OUT_DIR)):
        print(f"{name}: {os.path.getsize(os.path.join(OUT_DIR, name))} bytes")


if __name__ == "__main__":
    main()
