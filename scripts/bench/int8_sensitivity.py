"""Where does int8 lose likelihood accuracy? Fake-quantises a BERT masked LM in torch exactly as igbert's int8 graph
does, one scheme per Linear kind, and prints the mean |delta| of exact PLL terms against float32 (the number
`npm run bench` reports), so a scheme can be judged before it is built into the ONNX graph.

    /tmp/ref/bin/python scripts/bench/int8_sensitivity.py --checkpoint /tmp/igbert-random \
        [--pairs ../shared/data/therasabdab_paired.csv] [--positions 24] [--schemes default,residual-vo,...]

Schemes of one Linear (weights [out, in]; x its input):
  int8      per-output-channel symmetric int8 weights (absmax / 127) and ONNX Runtime's DynamicQuantizeLinear on x
            (uint8, asymmetric, one scale per tensor) -- what DynamicQuantizeMatMul computes
  wonly     int8 weights, float x
  aonly     float weights, per-tensor uint8 x (what int8 with a residual weight term approaches: ~15-bit weights)
  token     int8 weights, per-row symmetric int8 x
  blockN    int8 weights per block of N inputs, per-block symmetric int8 x (ONNX Runtime MatMulNBits, 8 bits)
  fp32      untouched
The same 2 pairs and masked positions as scripts/bench.ts (every 69th Thera-SAbDab row; residue k of `positions`
evenly spaced), batches of 8.
"""
import argparse
import csv
import time

import torch
from transformers import BertForMaskedLM, BertTokenizer

KINDS = ('q', 'k', 'v', 'o', 'up', 'down')
# Named schemes: the default for every Linear kind, then overrides per kind.
SCHEMES = {
    'default': ('int8', {}),
    'weights-only': ('wonly', {}),
    'activations-only': ('aonly', {}),
    'per-token': ('token', {}),
    'block128': ('block128', {}),
    'block32': ('block32', {}),
    'fp32-vo': ('int8', {'v': 'fp32', 'o': 'fp32'}),
    'fp32-qk': ('int8', {'q': 'fp32', 'k': 'fp32'}),
    'fp32-up': ('int8', {'up': 'fp32'}),
    'fp32-down': ('int8', {'down': 'fp32'}),
    'residual-vo': ('int8', {'v': 'aonly', 'o': 'aonly'}),
    'residual-vo-down': ('int8', {'v': 'aonly', 'o': 'aonly', 'down': 'aonly'}),
    'block128-vo': ('int8', {'v': 'block128', 'o': 'block128'}),
}


def per_tensor_uint8(x):
    lo, hi = min(0.0, x.min().item()), max(0.0, x.max().item())
    scale = (hi - lo) / 255 or 1.0
    zero = min(255, max(0, round(-lo / scale)))
    return (torch.clamp(torch.round(x / scale) + zero, 0, 255) - zero) * scale


def per_row_int8(x):
    scale = x.abs().amax(-1, keepdim=True).clamp_min(1e-30) / 127
    return torch.round(x / scale) * scale


def per_block_int8(x, block):
    shape = x.shape
    blocks = x.reshape(*shape[:-1], shape[-1] // block, block)
    scale = blocks.abs().amax(-1, keepdim=True).clamp_min(1e-30) / 127
    return (torch.clamp(torch.round(blocks / scale), -127, 127) * scale).reshape(shape)


def weight_int8(w):
    scale = w.abs().amax(1, keepdim=True).clamp_min(1e-30) / 127
    return torch.clamp(torch.round(w / scale), -127, 127) * scale


def apply(linear, scheme):
    if scheme == 'fp32':
        return
    if scheme.startswith('block'):
        block = int(scheme[5:])
        linear.weight.data = per_block_int8(linear.weight.data, block)
        quantise_input = lambda x: per_block_int8(x, block)  # noqa: E731
    else:
        if scheme != 'aonly':
            linear.weight.data = weight_int8(linear.weight.data)
        quantise_input = {'int8': per_tensor_uint8, 'aonly': per_tensor_uint8, 'token': per_row_int8, 'wonly': lambda x: x}[scheme]
    forward = linear.forward
    linear.forward = lambda x: forward(quantise_input(x))


def pll_terms(model, tokenizer, texts, truth):
    terms = []
    with torch.no_grad():
        for start in range(0, len(texts), 8):
            encoded = tokenizer(texts[start:start + 8], return_tensors='pt', padding=True)
            log_probs = model(**encoded).logits.log_softmax(-1)
            for j in range(log_probs.shape[0]):
                position = (encoded['input_ids'][j] == tokenizer.mask_token_id).nonzero()[0].item()
                terms.append(log_probs[j, position, tokenizer.convert_tokens_to_ids(truth[start + j])].item())
    return terms


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--checkpoint', required=True)
    parser.add_argument('--pairs', default='../shared/data/therasabdab_paired.csv')
    parser.add_argument('--positions', type=int, default=24)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--schemes', default=','.join(SCHEMES))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = list(csv.DictReader(open(args.pairs)))
    step = len(rows) // 16
    pairs = [row for i, row in enumerate(rows) if i % step == 0][:2]
    texts, truth = [], []
    for pair in pairs:
        heavy, light = pair['heavy'], pair['light']
        residues = heavy + light
        for k in range(args.positions):
            i = int(((k + 0.5) * len(residues)) // args.positions)
            chars = list(residues)
            truth.append(chars[i])
            chars[i] = '[MASK]'
            texts.append(' '.join(chars[:len(heavy)]) + ' [SEP] ' + ' '.join(chars[len(heavy):]))

    tokenizer = BertTokenizer.from_pretrained(args.checkpoint, do_lower_case=False)
    reference = pll_terms(BertForMaskedLM.from_pretrained(args.checkpoint).eval(), tokenizer, texts, truth)
    print(f'{len(reference)} PLL terms; mean |delta| vs float32 (nats):')
    for name in args.schemes.split(','):
        default, overrides = SCHEMES[name]
        started = time.time()
        model = BertForMaskedLM.from_pretrained(args.checkpoint).eval()
        for layer in model.bert.encoder.layer:
            linears = dict(zip(KINDS, (layer.attention.self.query, layer.attention.self.key, layer.attention.self.value,
                                       layer.attention.output.dense, layer.intermediate.dense, layer.output.dense)))
            for kind, linear in linears.items():
                apply(linear, overrides.get(kind, default))
        terms = pll_terms(model, tokenizer, texts, truth)
        error = sum(abs(a - b) for a, b in zip(terms, reference)) / len(reference)
        print(f'  {name:18s} {error:.4f}   ({time.time() - started:.0f} s)', flush=True)


if __name__ == '__main__':
    main()
