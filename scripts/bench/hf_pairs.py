"""What the Hugging Face reference scripts of scripts/bench share: the paired rows of a CSV (both chains present) and
the checkpoint's vocab.txt, and the model card's token ids for one pair ([CLS] heavy [SEP] light [SEP], one token
per residue). Imported by hf_pll.py and hf_latency.py (their folder is on sys.path when run as scripts)."""
import csv


def paired_rows(pairs_csv):
    return [r for r in csv.DictReader(open(pairs_csv)) if r.get("heavy") and r.get("light")]


def read_vocab(ckpt):
    return {t: i for i, t in enumerate(open(f"{ckpt}/vocab.txt").read().split())}


def token_ids(vocab):
    return lambda h, l: [vocab["[CLS]"]] + [vocab[c] for c in h] + [vocab["[SEP]"]] + [vocab[c] for c in l] + [vocab["[SEP]"]]
