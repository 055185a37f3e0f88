#!/usr/bin/env python3
"""Hugging Face reference for exact pseudo-log-likelihoods on the GPU machine (BertForMaskedLM, sdpa): for each of the
first N pairs with both chains, one copy per residue with that residue alone masked, log-softmax at the masked
position, log p(true residue). Runs fp32 (tf32 off) and bf16; writes the per-residue terms as JSON for igbert's
fidelity check (scripts/bench-cuda.ts) and prints antibodies/s for each precision.
Usage: hf_pll.py CHECKPOINT_DIR PAIRS.csv --n 16 --out hf_pll.json [--copies-per-batch 512]"""
import argparse, json, time
import torch
from transformers import BertForMaskedLM
from hf_pairs import paired_rows, read_vocab, token_ids

ap = argparse.ArgumentParser(); ap.add_argument("ckpt"); ap.add_argument("pairs"); ap.add_argument("--n", type=int, default=16)
ap.add_argument("--out", required=True); ap.add_argument("--copies-per-batch", type=int, default=512); a = ap.parse_args()
rows = paired_rows(a.pairs)[: a.n]
vocab = read_vocab(a.ckpt)
ids = token_ids(vocab)

def residue_positions(h, l): return list(range(1, 1 + len(h))) + list(range(2 + len(h), 2 + len(h) + len(l)))

def pll_terms(model):
    out = []
    for r in rows:
        x = torch.tensor(ids(r["heavy"], r["light"]), device="cuda")
        positions = residue_positions(r["heavy"], r["light"])
        terms = []
        for start in range(0, len(positions), a.copies_per_batch):
            chunk = torch.tensor(positions[start : start + a.copies_per_batch], device="cuda")
            batch = x.repeat(len(chunk), 1)
            batch[torch.arange(len(chunk)), chunk] = vocab["[MASK]"]
            with torch.inference_mode():
                logits = model(input_ids=batch).logits[torch.arange(len(chunk)), chunk].float()
            terms += torch.log_softmax(logits, -1)[torch.arange(len(chunk)), x[chunk]].tolist()
        out.append(terms)
    torch.cuda.synchronize()
    return out

result = {"ids": [r["id"] for r in rows]}
for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
    torch.backends.cuda.matmul.allow_tf32 = False
    model = BertForMaskedLM.from_pretrained(a.ckpt, attn_implementation="sdpa").cuda().eval().to(dtype)
    pll_terms(model)  # warm-up
    t = time.perf_counter(); result[name] = pll_terms(model); seconds = time.perf_counter() - t
    print(f"HF {name} exact PLL: {len(rows) / seconds:.2f} antibodies/s ({len(rows)} antibodies, {seconds:.1f} s)", flush=True)
    del model; torch.cuda.empty_cache()
diffs = [abs(b - f) for fp, bf in zip(result["fp32"], result["bf16"]) for f, b in zip(fp, bf)]
print(f"HF bf16 vs HF fp32: mean |Δ| per PLL term {sum(diffs) / len(diffs):.4f} nats over {len(diffs)} terms")
json.dump(result, open(a.out, "w"))
