"""Reference tokenisations from Hugging Face transformers for igbert's tokenizer tests.

    /tmp/ref/bin/python scripts/reference/tokenizer_fixtures.py

Writes two files:
  test/fixtures/reference/tokenizer.json   what BertTokenizer (transformers 5.x, backed by the `tokenizers` library)
                                           gives for awkward raw strings, antibody model-card texts, a padded batch,
                                           lower-casing variants and tokenizer_config / special_tokens_map variants,
                                           plus how every Unicode code point is normalised and pre-tokenised.
  src/tokenizer/_unicodeTables.ts          the character classes `tokenizers` uses (BertNormalizer, BertPreTokenizer),
                                           as code-point ranges. They come from the `unicode_categories` crate, whose
                                           tables are older than the Unicode data of any current JavaScript engine, so
                                           `\\p{P}` or `\\p{Mn}` would disagree with Hugging Face on a few hundred
                                           characters. The ranges are measured here, by running the real normaliser.
"""
import json
import os
import sys
import tempfile

import tokenizers
import transformers
from tokenizers import normalizers, pre_tokenizers
from transformers import BertTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "test", "fixtures", "reference", "tokenizer.json")
TABLES = os.path.join(ROOT, "src", "tokenizer", "_unicodeTables.ts")

IGBERT_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("LAGVESIKRDTPNQFYMHCWXUBZO")

# Raw strings: residues, special tokens written in the text, whitespace, Unicode oddities.
TEXTS = [
    "E V Q L", "EVQL", "E", "e", "e v q l", "-", ".", "*", "E-V", "E.V", "E*V", "E,V", "E;V:Q", "(E)", "E_V",
    "E+V", "E$V", "E|V", "E~V", "E^V", "E`V", "E=V", "E<V>Q",
    "", " ", "   ", "\t", "\n", "E\tV\nQ\r\nL", "  E   V  ", "E\u00a0V", "E\u3000V", "E\u2028V", "E\u0085V",
    "E\u000bV", "E\u000cV", "E\u001fV",
    "E\u0000V", "E\u0007V", "E \u0000 V", "E\ufffdV", "E \ufffd V", "E\u200bV", "E \u200b V", "E\u00adV",
    "E \ue000 V", "E \u0378 V",
    "[SEP]", "[MASK]", "[CLS]", "[PAD]", "[UNK]", "E[SEP]V", "E [SEP] V", "E[MASK]V", "[MASK][MASK]",
    "[SEP][SEP]", "[sep]", "[Sep]", "[ SEP ]", "[SEP", "SEP]", "[MASK ]", "[[SEP]]", "a[SEP]b", "[SEP]\u0301", "[SE\u200bP]",
    "É", "E\u0301", "é", "e\u0301", "Ä V", "\u00c5", "ß", "İ", "Σ", "ΣΑΣ", "ﬁ", "Ⅸ", "Ｅ", "E\u0301V",
    "中", "E中V", "中文", "E 中 V", "\u3400", "\U00020000", "\uf900", "あ", "한", "E한V",
    "\u2014", "E\u2014V", "E\u2e45V", "E\u166dV", "E\u00a7V", "E\u00b6V", "E\u20acV", "E\u00b1V",
    "E\u0890V", "E\u08caV",
    "\U0001F600", "E\U0001F600V",
    "A" * 100, "A" * 101, "E V " * 3 + "X U B Z O",
    "E V Q L [SEP] D I Q M", "E V [MASK] L [SEP] D [MASK] Q", "E V Q L", "D I Q M",
    "Q V Q L V Q S G X E V K K P G A S [SEP] D I V M T Q X P L S L P V",
]

LOWERCASE_TEXTS = [
    "E V Q L", "e v q l", "EVQL", "[SEP]", "[sep]", "E[MASK]V", "É", "é", "Ä V", "İ", "Σ", "ΣΑΣ", "ß", "中", "A" * 101,
    # NFD around a character that only newer Unicode decomposes, and canonical reordering of marks.
    "Ä\U00011938\u0301 e\u0307\u0323 \U000105c9x",
]

BATCH = ["E V", "E V Q L [SEP] A", "", "A", "E\tV  Q"]

# (heavy, light) pairs as normalised chains; '*' is a masked residue, written [MASK] in the model-card text.
ANTIBODIES = [
    ("EVQLVESGGGLVQPGGSLRLSCAASGFNIKDTYIHWVRQ", "DIQMTQSPSSLSASVGDRVTITCRASQDVNTAVAWYQQ"),
    ("QVQLQQSGAELARPGASVKMSCKAS", ""),
    ("", "EIVLTQSPGTLSLSPGERATLSCRASQSVSSSYLA"),
    ("QVQLVQSGXEVKKPGAS", "DIVMTQXPLSLPV"),
    ("EVQLVESGG*LVQPGG", "DIQ*TQSPSSLSA"),
    ("*", "*"),
    ("W", "Y"),
    ("UBZO", "XXXX"),
]

# Extra vocabulary lines used by the config and WordPiece variants.
GAP_VOCAB = IGBERT_VOCAB + ["[GAP]"]
WORDPIECE_VOCAB = IGBERT_VOCAB + ["##A", "EV", "##QL", "##Q"]
ADDED = {"lstrip": False, "rstrip": False, "normalized": False, "single_word": False, "special": True}

# Checkpoint folders: vocab.txt plus optional tokenizer_config.json / special_tokens_map.json, loaded with
# BertTokenizer.from_pretrained like a user would.
CONFIG_CASES = [
    ("vocab-only", IGBERT_VOCAB, {}),
    ("cased", IGBERT_VOCAB, {"tokenizer_config.json": {"do_lower_case": False}}),
    ("lowercase-explicit", IGBERT_VOCAB, {"tokenizer_config.json": {"do_lower_case": True}}),
    ("lowercase-no-strip", IGBERT_VOCAB, {"tokenizer_config.json": {"do_lower_case": True, "strip_accents": False}}),
    ("cased-strip", IGBERT_VOCAB, {"tokenizer_config.json": {"do_lower_case": False, "strip_accents": True}}),
    ("no-chinese", IGBERT_VOCAB, {"tokenizer_config.json": {"do_lower_case": False, "tokenize_chinese_chars": False}}),
    ("object-tokens", GAP_VOCAB, {"tokenizer_config.json": {
        "do_lower_case": False,
        "sep_token": {"__type": "AddedToken", "content": "[SEP]", "lstrip": False, "rstrip": False,
                      "normalized": False, "single_word": False},
        "mask_token": {"__type": "AddedToken", "content": "[GAP]", "lstrip": False, "rstrip": False,
                       "normalized": False, "single_word": False}}}),
    ("additional-in-config", GAP_VOCAB, {"tokenizer_config.json": {
        "do_lower_case": False, "additional_special_tokens": ["[GAP]"]}}),
    ("extra-in-config", GAP_VOCAB, {"tokenizer_config.json": {"do_lower_case": False, "extra_special_tokens": ["X"]}}),
    ("additional-in-map", GAP_VOCAB, {"tokenizer_config.json": {"do_lower_case": False},
                                      "special_tokens_map.json": {"additional_special_tokens": ["[GAP]"]}}),
    ("config-list-wins", GAP_VOCAB, {"tokenizer_config.json": {"do_lower_case": False,
                                                               "additional_special_tokens": ["X"]},
                                     "special_tokens_map.json": {"additional_special_tokens": ["[GAP]"]}}),
    ("map-overrides-config", GAP_VOCAB, {"tokenizer_config.json": {"do_lower_case": False, "mask_token": "[MASK]"},
                                         "special_tokens_map.json": {"mask_token": {
                                             "content": "[GAP]", "lstrip": False, "rstrip": False,
                                             "normalized": False, "single_word": False}}}),
    ("map-ignored-with-added-tokens-decoder", GAP_VOCAB, {
        "tokenizer_config.json": {"do_lower_case": False, "added_tokens_decoder": {
            str(i): {"content": t, **ADDED} for i, t in enumerate(IGBERT_VOCAB[:5])}},
        "special_tokens_map.json": {"mask_token": "[GAP]"}}),
    ("added-tokens-decoder-extra", GAP_VOCAB, {
        "tokenizer_config.json": {"do_lower_case": False, "added_tokens_decoder": {
            "30": {"content": "[GAP]", **ADDED}}}}),
    ("igbert-like", IGBERT_VOCAB, {
        "tokenizer_config.json": {
            "added_tokens_decoder": {str(i): {"content": t, **ADDED} for i, t in enumerate(IGBERT_VOCAB[:5])},
            "clean_up_tokenization_spaces": True, "cls_token": "[CLS]", "do_basic_tokenize": True,
            "do_lower_case": False, "mask_token": "[MASK]", "model_max_length": 1000000000000000019884624838656,
            "never_split": None, "pad_token": "[PAD]", "sep_token": "[SEP]", "strip_accents": None,
            "tokenize_chinese_chars": True, "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]"},
        "special_tokens_map.json": {"cls_token": "[CLS]", "mask_token": "[MASK]", "pad_token": "[PAD]",
                                    "sep_token": "[SEP]", "unk_token": "[UNK]"}}),
    ("padding-left", IGBERT_VOCAB, {"tokenizer_config.json": {"do_lower_case": False, "padding_side": "left",
                                                              "model_max_length": 512}}),
    ("wordpiece", WORDPIECE_VOCAB, {"tokenizer_config.json": {"do_lower_case": False}}),
    # transformers 5 reads vocab.txt with the Rust WordPiece reader, which trims trailing whitespace ("\r", " ", "\t").
    ("crlf-vocab", "".join(t + ("  \r\n" if t == "E" else "\t\r\n" if t == "[SEP]" else "\r\n") for t in IGBERT_VOCAB),
     {"tokenizer_config.json": {"do_lower_case": False}}),
]

CONFIG_PROBES = [
    "E V [SEP] [GAP] [sep] É é X", "EXV", "[GAP][MASK]", "[MASK]", "e v", "Ä中V", "EVQL", "EVQ", "AAAA", "EVX",
    "A" * 100, "A" * 101,
]


def encoding(tok, text):
    enc = tok(text, add_special_tokens=True, return_special_tokens_mask=True)
    backend = tok.backend_tokenizer
    # Normaliser and pre-tokenizer alone (no special-token splitting): shows what a small vocabulary hides as [UNK].
    normalized = backend.normalizer.normalize_str(text)
    return {
        "text": text,
        "normalized": normalized,
        "words": [word for word, _ in backend.pre_tokenizer.pre_tokenize_str(normalized)],
        "tokens": tok.tokenize(text),
        "input_ids": enc["input_ids"],
        "attention_mask": enc["attention_mask"],
        "token_type_ids": enc["token_type_ids"],
        "special_tokens_mask": enc["special_tokens_mask"],
    }


def batch_encoding(tok, texts):
    enc = tok(texts, add_special_tokens=True, padding=True, return_special_tokens_mask=True)
    return {"texts": texts, **{k: enc[k] for k in
                               ("input_ids", "attention_mask", "token_type_ids", "special_tokens_mask")}}


def model_card_text(heavy, light):
    h = " ".join("[MASK]" if c == "*" else c for c in heavy)
    l = " ".join("[MASK]" if c == "*" else c for c in light)
    return h + " [SEP] " + l if h and l else h or l


def vocab_text(vocab):
    """`vocab` is a list of lines, or the exact text of vocab.txt."""
    return vocab if isinstance(vocab, str) else "\n".join(vocab) + "\n"


def write_folder(path, vocab, files):
    with open(os.path.join(path, "vocab.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(vocab_text(vocab))
    for name, content in files.items():
        with open(os.path.join(path, name), "w", encoding="utf-8") as f:
            json.dump(content, f)


def config_case(name, vocab, files):
    with tempfile.TemporaryDirectory() as path:
        write_folder(path, vocab, files)
        tok = BertTokenizer.from_pretrained(path)
        names = ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
        return {
            "name": name,
            "vocab_text": vocab_text(vocab),
            "files": files,
            "do_lower_case": tok.do_lower_case,
            "special_tokens": {n: str(getattr(tok, n)) for n in names},
            "extra_special_tokens": [str(t) for t in tok.extra_special_tokens],
            "model_max_length": tok.model_max_length if tok.model_max_length < 1e29 else None,
            "padding_side": tok.padding_side,
            "probes": [encoding(tok, t) for t in CONFIG_PROBES],
            "batch": batch_encoding(tok, BATCH),
        }


def ranges(codepoints):
    out = []
    for cp in sorted(codepoints):
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def unicode_behaviour():
    """How the real BertNormalizer / BertPreTokenizer treat every code point, measured one character at a time."""
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False)
    chinese = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False,
                                         lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True,
                                       lowercase=False)
    lower = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False,
                                       lowercase=True)
    nfd = normalizers.NFD()
    pre = pre_tokenizers.BertPreTokenizer()
    removed, to_space, cjk, punct, split_ws, marks, decomposable = [], [], [], [], [], [], []
    stripped, lowered = {}, {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        cleaned = clean.normalize_str(c)
        if cleaned == "":
            removed.append(cp)
        elif cleaned == " ":
            to_space.append(cp)
        if chinese.normalize_str(c) != c:
            cjk.append(cp)
        pieces = pre.pre_tokenize_str("a" + c + "b")
        if len(pieces) == 3:
            punct.append(cp)
        elif len(pieces) == 2:
            split_ws.append(cp)
        if nfd.normalize_str(c) != c:
            decomposable.append(cp)
        s = strip.normalize_str(c)
        if s == "":
            marks.append(cp)
        # Hangul syllables decompose algorithmically into jamo; keep the fixture small by sampling them.
        if s != c and not (0xAC00 <= cp <= 0xD7A3 and cp % 97 != 0):
            stripped[str(cp)] = s
        low = lower.normalize_str(c)
        if low != c:
            lowered[str(cp)] = low
    return {
        "removed_by_clean_text": ranges(removed),
        "whitespace_after_clean_text": ranges(to_space),
        "chinese": ranges(cjk),
        "punctuation": ranges(punct),
        "pre_tokenizer_whitespace": ranges(split_ws),
        "nonspacing_marks": ranges(marks),
        "nfd_decomposable": ranges(decomposable),
        "strip_accents": stripped,
        "lowercase": lowered,
    }


def write_tables(behaviour):
    def flat(name):
        pairs = [f"0x{a:x}, 0x{b:x}," for a, b in behaviour[name]]
        lines = [" ".join(pairs[i:i + 8]) for i in range(0, len(pairs), 8)]
        return "\n" + "\n".join("  " + line for line in lines) + "\n"

    body = f"""/**
 * Character classes of Hugging Face `tokenizers` {tokenizers.__version__} (BertNormalizer, BertPreTokenizer), as
 * sorted inclusive code-point ranges [start0, end0, start1, end1, ...].
 * GENERATED by scripts/reference/tokenizer_fixtures.py from the real normaliser: do not edit.
 * Why not `\\p{{P}}` / `\\p{{Mn}}` / `\\p{{Cf}}`: `tokenizers` takes these classes from the `unicode_categories` crate,
 * whose tables predate the Unicode data of current JavaScript engines; they disagree on a few hundred characters.
 */

/** Removed by clean_text: NUL, U+FFFD and the crate's "other" class (Cc, Cf, Co), except tab, LF and CR. */
export const CONTROL_RANGES: readonly number[] = [{flat("removed_by_clean_text")}];

/** Rust `char::is_whitespace` (the White_Space property): mapped to ' ' by clean_text, split on by the pre-tokenizer. */
export const WHITESPACE_RANGES: readonly number[] = [{flat("pre_tokenizer_whitespace")}];

/** ASCII punctuation plus the crate's P* categories: each such character becomes its own word. */
export const PUNCTUATION_RANGES: readonly number[] = [{flat("punctuation")}];

/** The crate's Mn (non-spacing mark) category: removed after NFD when accents are stripped. */
export const NONSPACING_MARK_RANGES: readonly number[] = [{flat("nonspacing_marks")}];

/**
 * Characters that the library's NFD decomposes. Its decomposition data is older than the engine's, so a character
 * outside these ranges must be left whole even where `String.prototype.normalize('NFD')` would decompose it.
 */
export const NFD_DECOMPOSABLE_RANGES: readonly number[] = [{flat("nfd_decomposable")}];

/** CJK ideograph blocks that BertNormalizer surrounds with spaces (tokenize_chinese_chars). */
export const CHINESE_RANGES: readonly number[] = [{flat("chinese")}];
"""
    with open(TABLES, "w", encoding="utf-8") as f:
        f.write(body)


def main():
    with tempfile.TemporaryDirectory() as path:
        write_folder(path, IGBERT_VOCAB, {})
        cased = BertTokenizer(vocab=os.path.join(path, "vocab.txt"), do_lower_case=False)
        lower = BertTokenizer(vocab=os.path.join(path, "vocab.txt"), do_lower_case=True)
        out = {
            "transformers_version": transformers.__version__,
            "tokenizers_version": tokenizers.__version__,
            "vocab": IGBERT_VOCAB,
            "cased": [encoding(cased, t) for t in TEXTS],
            "lowercase": [encoding(lower, t) for t in LOWERCASE_TEXTS],
            "batch": batch_encoding(cased, BATCH),
            "antibodies": [{"heavy": h, "light": l, **encoding(cased, model_card_text(h, l))} for h, l in ANTIBODIES],
        }
    out["config_cases"] = [config_case(*case) for case in CONFIG_CASES]
    behaviour = unicode_behaviour()
    out["unicode"] = behaviour
    write_tables(behaviour)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"{len(TEXTS)} cased, {len(LOWERCASE_TEXTS)} lowercase, {len(CONFIG_CASES)} config cases -> {OUT}; "
          f"tables -> {TABLES}", file=sys.stderr)


if __name__ == "__main__":
    main()
