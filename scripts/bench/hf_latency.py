#!/usr/bin/env python3
"""Hugging Face reference for single requests on the GPU machine: the latency of embedding 1 (and 16) antibodies per
call with BertModel bf16 (sdpa) — token ids built on the host, copied to the GPU, forward, model-card mean (middle
[SEP] included), copied back — p50/p90 over --runs calls after a warm-up, cycling through the pairs. igbert's side
is scripts/bench-cuda.ts (its latency lines); the two run in the same call of scripts/gpu/run.sh.
Usage: hf_latency.py CHECKPOINT_DIR PAIRS.csv [--runs 200]"""
import argparse, statistics, time
import torch
from transformers import BertModel
from hf_pairs import paired_rows, read_vocab, token_ids

ap = argparse.ArgumentParser(); ap.add_argument("ckpt"); ap.add_argument("pairs"); ap.add_argument("--runs", type=int, default=200)
a = ap.parse_args()
rows = paired_rows(a.pairs)
vocab = read_vocab(a.ckpt)
ids = token_ids(vocab)

model = BertModel.from_pretrained(a.ckpt, attn_implementation="sdpa", add_pooling_layer=False).cuda().eval().to(torch.bfloat16)

def embed(batch):
    seqs = [ids(r["heavy"], r["light"]) for r in batch]
    L = max(len(s) for s in seqs)
    x = torch.zeros(len(seqs), L, dtype=torch.long); m = torch.zeros(len(seqs), L, dtype=torch.long)
    for j, s in enumerate(seqs): x[j, :len(s)] = torch.tensor(s); m[j, :len(s)] = 1
    keep = m.clone(); keep[:, 0] = 0; keep[torch.arange(len(seqs)), torch.tensor([len(s) - 1 for s in seqs])] = 0
    x, m, keep = x.cuda(), m.cuda(), keep.float().cuda()
    with torch.inference_mode():
        h = model(input_ids=x, attention_mask=m).last_hidden_state.float()
    return ((h * keep.unsqueeze(-1)).sum(1) / keep.sum(1, keepdim=True)).cpu()

for size in (1, 16):
    times = []
    for i in range(20 + a.runs):
        batch = [rows[(i * size + k) % len(rows)] for k in range(size)]
        t = time.perf_counter(); embed(batch); dt = (time.perf_counter() - t) * 1000
        if i >= 20: times.append(dt)
    times.sort()
    print(f"HF bf16 latency, {size} antibod{'y' if size == 1 else 'ies'} per call: p50 {statistics.median(times):.2f} ms, "
          f"p90 {times[int(0.9 * len(times))]:.2f} ms ({a.runs} calls)", flush=True)
