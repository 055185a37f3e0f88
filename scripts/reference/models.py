"""Reference outputs from Hugging Face transformers for igbert's parity tests.

Builds small random BERT checkpoints that cover every loading path igbert supports, saves them under
test/fixtures/checkpoints/, and writes what transformers computes for them to test/fixtures/reference/<name>.json.

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch transformers safetensors numpy
    /tmp/ref/bin/python scripts/reference/models.py

Deterministic (fixed seeds, CPU, fp32). Checkpoints:
  mlm-h64        BertForMaskedLM, IgBert vocabulary, head size 64 like IgBert, decoder tied (absent from the file)
  model-pooler   BertModel with a pooler, bare keys (no "bert." prefix), 4 heads of 12, type_vocab_size 2
  mlm-legacy     BertForMaskedLM, untied decoder, stored as F16 in 2 shards with legacy LayerNorm.gamma/beta names
"""
import json
import os
import shutil
import sys

import numpy as np
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import BertConfig, BertForMaskedLM, BertModel, BertTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CKPT_DIR = os.path.join(ROOT, "test", "fixtures", "checkpoints")
OUT_DIR = os.path.join(ROOT, "test", "fixtures", "reference")

IGBERT_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("LAGVESIKRDTPNQFYMHCWXUBZO")

# Short antibody fragments (Thera-SAbDab-like starts), heavy-only, light-only, X, and a masked residue.
RECORDS = [
    {"id": "pair-1", "heavy": "EVQLVESGGGLVQPGGSLRLSCAASGFNIKDTYIHWVRQ", "light": "DIQMTQSPSSLSASVGDRVTITCRASQDVNTAVAWYQQ"},
    {"id": "pair-2", "heavy": "QVQLQQSGAELARPGASVKMSCKAS", "light": "QIVLTQSPAIMSASPGEKVTMTC"},
    {"id": "heavy-only", "heavy": "EVQLLESGGGLVQPGGSLRLSCAASGFTFSSYAMS", "light": ""},
    {"id": "light-only", "heavy": "", "light": "EIVLTQSPGTLSLSPGERATLSCRASQSVSSSYLA"},
    {"id": "with-x", "heavy": "QVQLVQSGXEVKKPGAS", "light": "DIVMTQXPLSLPV"},
    {"id": "masked", "heavy": "EVQLVESGG*LVQPGG", "light": "DIQ*TQSPSSLSA"},
    {"id": "short", "heavy": "W", "light": "Y"},
]


def model_card_text(heavy: str, light: str) -> str:
    h = " ".join("[MASK]" if c == "*" else c for c in heavy)
    l = " ".join("[MASK]" if c == "*" else c for c in light)
    if h and l:
        return h + " [SEP] " + l
    return h or l


def randomize_(model: torch.nn.Module, seed: int) -> None:
    """Large random weights so that every part of the network (LayerNorm affine, biases, mask) moves the output."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "LayerNorm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.15 * noise)


def write_tokenizer(path: str) -> BertTokenizer:
    with open(os.path.join(path, "vocab.txt"), "w") as f:
        f.write("\n".join(IGBERT_VOCAB) + "\n")
    tok = BertTokenizer(os.path.join(path, "vocab.txt"), do_lower_case=False)
    tok.save_pretrained(path)
    return BertTokenizer.from_pretrained(path)


def rows(t: torch.Tensor) -> list:
    return [[float(f"{v:.9g}") for v in row] for row in t.tolist()]


def run(name: str, model: torch.nn.Module, tok: BertTokenizer, has_mlm: bool, has_pooler: bool, path: str) -> None:
    model.eval()
    config = model.config
    out = {
        "checkpoint": name,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "attn_implementation": getattr(config, "_attn_implementation", None),
        "config": {k: getattr(config, k) for k in ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size")},
        "records": [],
    }
    for rec in RECORDS:
        text = model_card_text(rec["heavy"], rec["light"])
        enc = tok(text, add_special_tokens=True, return_special_tokens_mask=True, return_tensors="pt")
        special = enc.pop("special_tokens_mask")[0]
        with torch.no_grad():
            result = model(**enc, output_hidden_states=True)
        base = result if not has_mlm else None
        hidden_states = result.hidden_states
        last = hidden_states[-1][0]
        ids = enc["input_ids"][0].tolist()
        n_h = len(rec["heavy"])
        n_l = len(rec["light"])
        h_start = 1 if n_h else -1
        l_start = (n_h + 2 if n_h else 1) if n_l else -1
        residue_rows = []
        if n_h:
            residue_rows += list(range(h_start, h_start + n_h))
        if n_l:
            residue_rows += list(range(l_start, l_start + n_l))
        keep = (special == 0).nonzero().flatten()
        pools = {
            # the model card's recipe: mean over tokens whose special_tokens_mask is 0 (includes the middle [SEP])
            "mean": last[keep].mean(0),
            "residues-mean": last[residue_rows].mean(0),
            "cls": last[0],
        }
        if n_h:
            pools["heavy-mean"] = last[h_start : h_start + n_h].mean(0)
        if n_l:
            pools["light-mean"] = last[l_start : l_start + n_l].mean(0)
        if has_pooler:
            pools["pooler"] = result.pooler_output[0]
        entry = {
            "id": rec["id"],
            "heavy": rec["heavy"],
            "light": rec["light"],
            "text": text,
            "input_ids": ids,
            "special_tokens_mask": special.tolist(),
            "embeddings": {k: [float(f"{v:.9g}") for v in t.tolist()] for k, t in pools.items()},
            "residue_embeddings": rows(last[residue_rows]),
            "hidden_state_layer_1": rows(hidden_states[1][0]),
        }
        if has_mlm:
            entry["logits"] = rows(result.logits[0])
        out["records"].append(entry)
    with open(os.path.join(OUT_DIR, f"{name}.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"{name}: {len(out['records'])} records -> {OUT_DIR}/{name}.json", file=sys.stderr)


def fresh_dir(name: str) -> str:
    path = os.path.join(CKPT_DIR, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def mlm_h64() -> None:
    path = fresh_dir("mlm-h64")
    torch.manual_seed(1)
    config = BertConfig(vocab_size=30, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=256, max_position_embeddings=128, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0, pad_token_id=0, layer_norm_eps=1e-12)
    model = BertForMaskedLM(config)
    randomize_(model, 11)
    model.tie_weights()
    model.save_pretrained(path)
    tok = write_tokenizer(path)
    run("mlm-h64", BertForMaskedLM.from_pretrained(path), tok, has_mlm=True, has_pooler=False, path=path)


def model_pooler() -> None:
    path = fresh_dir("model-pooler")
    torch.manual_seed(2)
    config = BertConfig(vocab_size=30, hidden_size=48, num_hidden_layers=3, num_attention_heads=4,
                        intermediate_size=96, max_position_embeddings=96, type_vocab_size=2,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=0, layer_norm_eps=1e-12)
    model = BertModel(config, add_pooling_layer=True)
    randomize_(model, 22)
    model.save_pretrained(path)
    tok = write_tokenizer(path)
    run("model-pooler", BertModel.from_pretrained(path), tok, has_mlm=False, has_pooler=True, path=path)


def mlm_legacy() -> None:
    path = fresh_dir("mlm-legacy")
    torch.manual_seed(3)
    config = BertConfig(vocab_size=30, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=128, max_position_embeddings=100, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0, pad_token_id=0, layer_norm_eps=1e-12,
                        tie_word_embeddings=False)
    model = BertForMaskedLM(config)
    randomize_(model, 33)
    with torch.no_grad():  # make every weight exactly representable in fp16, so fp32 compute matches the stored file
        for p in model.parameters():
            p.copy_(p.half().float())
    model.save_pretrained(path, max_shard_size="100KB")
    index_path = os.path.join(path, "model.safetensors.index.json")
    with open(index_path) as f:
        index = json.load(f)
    new_map = {}
    for shard in sorted(set(index["weight_map"].values())):
        tensors = load_file(os.path.join(path, shard))
        renamed = {}
        for key, t in tensors.items():
            new_key = key.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
            renamed[new_key] = t.half().contiguous()
            new_map[new_key] = shard
        save_file(renamed, os.path.join(path, shard), metadata={"format": "pt"})
    index["weight_map"] = dict(sorted(new_map.items()))
    with open(index_path, "w") as f:
        json.dump(index, f, indent=2)
    tok = write_tokenizer(path)
    reference = BertForMaskedLM.from_pretrained(path, dtype=torch.float32)
    # Guard: transformers must have read the legacy names and the untied decoder (a missing key would be random).
    sd = {k: v for k, v in reference.state_dict().items()}
    assert torch.equal(sd["bert.embeddings.LayerNorm.weight"], model.state_dict()["bert.embeddings.LayerNorm.weight"])
    assert torch.equal(sd["cls.predictions.decoder.weight"], model.state_dict()["cls.predictions.decoder.weight"])
    assert not torch.equal(sd["cls.predictions.decoder.weight"], sd["bert.embeddings.word_embeddings.weight"])
    run("mlm-legacy", reference, tok, has_mlm=True, has_pooler=False, path=path)


if __name__ == "__main__":
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.set_grad_enabled(False)
    mlm_h64()
    model_pooler()
    mlm_legacy()
