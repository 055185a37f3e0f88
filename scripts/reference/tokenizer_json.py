"""Reference tokenizer.json files from Hugging Face for `igbert convert`'s tokenizer.json.

    /tmp/ref/bin/python scripts/reference/tokenizer_json.py

For every checkpoint-folder case of tokenizer_fixtures.py (vocab.txt plus tokenizer_config.json /
special_tokens_map.json variants: cased, lower-cased, accents, Chinese characters, special-token overrides, added
tokens, a CRLF vocabulary), loads the folder with transformers' BertTokenizer (transformers 5: backed by the
`tokenizers` library), saves it, and records the tokenizer.json it writes, then reloads that file with
`tokenizers.Tokenizer.from_file` and records what the bare `tokenizers` library makes of single texts and pairs.
igbert's test (test/convertedFolder.test.ts) compares its own tokenizer.json with these, and its tokenizer with the
encodings, without Python. Writes test/fixtures/reference/tokenizer-json.json.
"""
import json
import os
import sys
import tempfile

import tokenizers
import transformers
from transformers import BertTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokenizer_fixtures import CONFIG_CASES, CONFIG_PROBES, vocab_text, write_folder  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "test", "fixtures", "reference", "tokenizer-json.json")

# Pairs: (heavy, light) in the model card's text form, the way transformers.js users pass them (text, text_pair).
PAIRS = [("E V Q L", "D I Q M"), ("E V [MASK] L", "D"), ("e v", "É X"), ("EVQL", "A" * 101)]


def case(name, vocab, files):
    with tempfile.TemporaryDirectory() as path, tempfile.TemporaryDirectory() as saved:
        write_folder(path, vocab, files)
        BertTokenizer.from_pretrained(path).save_pretrained(saved)
        with open(os.path.join(saved, "tokenizer.json"), encoding="utf-8") as f:
            tokenizer_json = json.load(f)
        fast = tokenizers.Tokenizer.from_file(os.path.join(saved, "tokenizer.json"))

    def encoded(enc):
        return {"ids": enc.ids, "type_ids": enc.type_ids, "special_tokens_mask": enc.special_tokens_mask}

    return {
        "name": name,
        "vocab_text": vocab_text(vocab),
        "files": files,
        "tokenizer_json": tokenizer_json,
        "singles": [{"text": t, **encoded(fast.encode(t))} for t in CONFIG_PROBES],
        "pairs": [{"text": a, "pair": b, **encoded(fast.encode(a, b))} for a, b in PAIRS],
    }


def main():
    out = {
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "cases": [case(*c) for c in CONFIG_CASES],
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"{len(out['cases'])} cases -> {OUT}")


if __name__ == "__main__":
    main()
