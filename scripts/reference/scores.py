"""Reference likelihoods, mutation scores, scans and infilling log-probs from Hugging Face transformers.

Loads the committed random checkpoints (written by models.py) with BertForMaskedLM and computes, with
torch.log_softmax over the full vocabulary (natural log), the numbers igbert's score / mutate / fill must reproduce:

    /tmp/ref/bin/python scripts/reference/scores.py

  pll_terms          exact pseudo-log-likelihood: one copy per residue with that residue alone masked, log p(true)
  wt_marginal_terms  one unmasked pass, log p(residue) at each residue
  mutations          masked-marginal (all sites masked together) and wt-marginal sums of log p(mut) - log p(wt)
  scans              per scanned position, one pass with that residue masked: log p of the 20 amino acids
  fills              first pass with every mask in place: full-vocabulary log-probs at each masked position, plus
                     greedy designs (argmax over the 20 amino acids) in parallel and most-confident-first order

Residues are indexed heavy then light, 1-based within their chain; the separator and special tokens are excluded.
Deterministic (CPU, fp32) and written to test/fixtures/reference/scores-<checkpoint>.json.
"""
import json
import os
import sys

import torch
import transformers
from transformers import BertForMaskedLM, BertTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import CKPT_DIR, OUT_DIR, RECORDS, model_card_text  # noqa: E402

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"

# Complete records (no '*') are scored; "masked" is the fill case.
SCORED = [r for r in RECORDS if "*" not in r["heavy"] + r["light"]]

MUTATIONS = [
    ("pair-1", "H:E1Q"),
    ("pair-1", "H:S7A,L:D1E"),
    ("pair-1", "H:Y33A,H:W36F,L:Q38K"),
    ("heavy-only", "H:S7T"),
    ("light-only", "L:E1D,L:A35G"),
    ("with-x", "H:X9G,L:X7S"),
    ("short", "H:W1A,L:Y1F"),
]

SCANS = [
    ("pair-2", [("H", 3, 8), ("L", 1, 3)]),
    ("short", [("H", 1, 1), ("L", 1, 1)]),
]

# (id, heavy, light): '*' marks residues to fill.
FILLS = [
    ("masked", "EVQLVESGG*LVQPGG", "DIQ*TQSPSSLSA"),
    ("cdr", "QVQLQQSGAELARPGASVKMSCKAS", "QIVLTQSPAIMSASPGEKVTMTC"),  # heavy 5-9 masked below
    ("many", "E**LVESG*", "**"),
]


def mask_range(chain: str, start: int, end: int) -> str:
    return chain[: start - 1] + "*" * (end - start + 1) + chain[end:]


FILLS[1] = ("cdr", mask_range(FILLS[1][1], 5, 9), FILLS[1][2])


def residue_tokens(heavy: str, light: str) -> list:
    """(chain letter, 1-based position, token index) for every residue, heavy then light."""
    out = [("H", i + 1, 1 + i) for i in range(len(heavy))]
    light_start = len(heavy) + 2 if heavy else 1
    out += [("L", i + 1, light_start + i) for i in range(len(light))]
    return out


def token_index(heavy: str, chain: str, position: int) -> int:
    if chain == "H":
        return position
    return (len(heavy) + 2 if heavy else 1) + position - 1


class Scorer:
    def __init__(self, path: str):
        self.tok = BertTokenizer.from_pretrained(path)
        self.model = BertForMaskedLM.from_pretrained(path, dtype=torch.float32).eval()
        self.mask_id = self.tok.mask_token_id

    def ids(self, heavy: str, light: str) -> torch.Tensor:
        return self.tok(model_card_text(heavy, light), return_tensors="pt")["input_ids"][0]

    def log_probs(self, batch: torch.Tensor) -> torch.Tensor:
        """[copies, seq] ids -> [copies, seq, vocab] log-softmax over the full vocabulary."""
        with torch.no_grad():
            logits = self.model(input_ids=batch, attention_mask=torch.ones_like(batch)).logits
        return torch.log_softmax(logits, dim=-1)

    def vid(self, letter: str) -> int:
        return self.tok.convert_tokens_to_ids(letter)


def terms(scorer: Scorer, rec: dict) -> dict:
    ids = scorer.ids(rec["heavy"], rec["light"])
    positions = residue_tokens(rec["heavy"], rec["light"])
    copies = ids.repeat(len(positions), 1)
    for row, (_, _, t) in enumerate(positions):
        copies[row, t] = scorer.mask_id
    masked = scorer.log_probs(copies)
    unmasked = scorer.log_probs(ids[None])[0]
    return {
        "id": rec["id"],
        "heavy": rec["heavy"],
        "light": rec["light"],
        "pll_terms": [float(masked[row, t, ids[t]]) for row, (_, _, t) in enumerate(positions)],
        "wt_marginal_terms": [float(unmasked[t, ids[t]]) for _, _, t in positions],
    }


def mutation(scorer: Scorer, rec: dict, text: str) -> dict:
    ids = scorer.ids(rec["heavy"], rec["light"])
    sites = []
    for item in text.split(","):
        chain, spec = item.split(":")
        wt, position, mut = spec[0], int(spec[1:-1]), spec[-1]
        sequence = rec["heavy"] if chain == "H" else rec["light"]
        assert sequence[position - 1] == wt, (rec["id"], item)
        sites.append((token_index(rec["heavy"], chain, position), scorer.vid(wt), scorer.vid(mut)))
    masked_ids = ids.clone()
    for t, _, _ in sites:
        masked_ids[t] = scorer.mask_id
    masked = scorer.log_probs(masked_ids[None])[0]
    unmasked = scorer.log_probs(ids[None])[0]
    return {
        "id": rec["id"],
        "mutations": text,
        "masked_marginal": sum(float(masked[t, m] - masked[t, w]) for t, w, m in sites),
        "wt_marginal": sum(float(unmasked[t, m] - unmasked[t, w]) for t, w, m in sites),
    }


def scan(scorer: Scorer, rec: dict, regions: list) -> dict:
    ids = scorer.ids(rec["heavy"], rec["light"])
    aa_ids = [scorer.vid(a) for a in AMINO_ACIDS]
    positions = []
    for chain, start, end in regions:
        for position in range(start, end + 1):
            t = token_index(rec["heavy"], chain, position)
            masked_ids = ids.clone()
            masked_ids[t] = scorer.mask_id
            lp = scorer.log_probs(masked_ids[None])[0, t]
            positions.append({
                "chain": chain,
                "position": position,
                "wt": (rec["heavy"] if chain == "H" else rec["light"])[position - 1],
                "log_probs": [float(lp[a]) for a in aa_ids],
                "scores": [float(lp[a] - lp[ids[t]]) for a in aa_ids],
            })
    return {"id": rec["id"], "heavy": rec["heavy"], "light": rec["light"],
            "region": ",".join(f"{c}:{s}-{e}" for c, s, e in regions), "positions": positions}


def fill(scorer: Scorer, fid: str, heavy: str, light: str) -> dict:
    ids = scorer.ids(heavy, light)
    aa_ids = torch.tensor([scorer.vid(a) for a in AMINO_ACIDS])
    masked = [(c, p, t) for c, p, t in residue_tokens(heavy, light) if ids[t] == scorer.mask_id]
    first = scorer.log_probs(ids[None])[0]

    def design(filled: torch.Tensor) -> dict:
        letters = scorer.tok.convert_ids_to_tokens(filled.tolist())
        h = "".join(letters[1 : 1 + len(heavy)])
        light_start = len(heavy) + 2 if heavy else 1
        return {"heavy": h, "light": "".join(letters[light_start : light_start + len(light)])}

    parallel = ids.clone()
    parallel_logprob = 0.0
    for _, _, t in masked:
        best = aa_ids[first[t, aa_ids].argmax()]
        parallel[t] = best
        parallel_logprob += float(first[t, best])

    # Most confident first: the mask whose best amino acid has the highest log-prob is filled, then re-run.
    current = ids.clone()
    confidence_logprob = 0.0
    remaining = [t for _, _, t in masked]
    while remaining:
        lp = scorer.log_probs(current[None])[0]
        best_t = max(remaining, key=lambda t: (float(lp[t, aa_ids].max()), -t))
        best = aa_ids[lp[best_t, aa_ids].argmax()]
        current[best_t] = best
        confidence_logprob += float(lp[best_t, best])
        remaining.remove(best_t)

    return {
        "id": fid,
        "heavy": heavy,
        "light": light,
        "positions": [{"chain": c, "position": p, "log_probs": [float(v) for v in first[t]]} for c, p, t in masked],
        "greedy_parallel": {**design(parallel), "logprob": parallel_logprob},
        "greedy_confidence": {**design(current), "logprob": confidence_logprob},
    }


def run(name: str) -> None:
    scorer = Scorer(os.path.join(CKPT_DIR, name))
    by_id = {r["id"]: r for r in RECORDS}
    out = {
        "checkpoint": name,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "amino_acids": AMINO_ACIDS,
        "vocab": scorer.tok.convert_ids_to_tokens(list(range(scorer.model.config.vocab_size))),
        "records": [terms(scorer, r) for r in SCORED],
        "mutations": [mutation(scorer, by_id[i], text) for i, text in MUTATIONS],
        "scans": [scan(scorer, by_id[i], regions) for i, regions in SCANS],
        "fills": [fill(scorer, *f) for f in FILLS],
    }
    path = os.path.join(OUT_DIR, f"scores-{name}.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"{name}: {len(out['records'])} records, {len(out['mutations'])} mutation sets -> {path}", file=sys.stderr)


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    for checkpoint in ("mlm-h64", "mlm-legacy"):
        run(checkpoint)
