"""Hugging Face transformers side of `npm run bench`: embeds the same antibodies with the same threads.

Reads a JSON job {checkpoint, threads, records:[{heavy, light}], batches:[[indices...]]} on stdin and prints
{seq_per_s, seconds, load_seconds, embeddings:[[...]]} (model-card mean pooling) on stdout.
"""
import json
import sys
import time

import torch
from transformers import BertModel, BertTokenizer

job = json.load(sys.stdin)
torch.set_num_threads(job["threads"])
torch.set_grad_enabled(False)
t0 = time.perf_counter()
tokenizer = BertTokenizer.from_pretrained(job["checkpoint"], do_lower_case=False)
model = BertModel.from_pretrained(job["checkpoint"], add_pooling_layer=False).eval()
load_seconds = time.perf_counter() - t0


def text(record):
    parts = [" ".join(record[c]) for c in ("heavy", "light") if record[c]]
    return " [SEP] ".join(parts)


def embed(indices):
    enc = tokenizer([text(job["records"][i]) for i in indices], padding=True, return_tensors="pt",
                    return_special_tokens_mask=True)
    special = enc.pop("special_tokens_mask")
    hidden = model(**enc).last_hidden_state
    keep = (enc["attention_mask"] * (1 - special)).unsqueeze(-1).float()
    return ((hidden * keep).sum(1) / keep.sum(1)).tolist()


embed(job["batches"][0][:1])  # warm-up, as the TypeScript side does
out = [None] * len(job["records"])
t0 = time.perf_counter()
for batch in job["batches"]:
    for i, e in zip(batch, embed(batch)):
        out[i] = e
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "load_seconds": load_seconds, "seq_per_s": len(out) / seconds,
                  "embeddings": out, "torch": torch.__version__}))
