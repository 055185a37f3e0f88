#!/usr/bin/env node
// Smoke test of the built addon through its JS API: probe(), a 2-layer random BERT program (fused QKV with
// views, layer 0's residuals through the GEMM's C input then layerNorm, layer 1's through addLayerNorm, MLM
// head, CLS, mean pooling, hidden rows) run in fp32 and bf16 contexts and checked against a plain
// JS float64 reference of the same math (fp32 <= 1e-5, bf16 <= 2e-2 relative error), several runs in flight
// at once, validation errors, memory(), lastProfile(), dispose().
//
//   node native/cuda/test/smoke.mjs [--addon path/to/igbert_cuda.node] [--sim]
// Prints one line per check and exits non-zero on any failure.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const addonPath = argv.includes('--addon') ? resolve(argv[argv.indexOf('--addon') + 1]) : join(here, '..', 'build', 'igbert_cuda.node');
const sim = argv.includes('--sim');
const addon = createRequire(import.meta.url)(addonPath);

let failures = 0;
let checks = 0;
function check(name, ok, detail = '') {
  checks++;
  if (!ok) failures++;
  console.log(`${name.padEnd(60)} ${String(detail).padEnd(28)} ${ok ? 'PASS' : 'FAIL'}`);
}
function relErr(out, ref) {
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(out[i])) return Infinity;
    num += (out[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}

// ---- deterministic random numbers ----
let seed = 12345;
function rand() {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
}
const uniform = (a, b) => a + (b - a) * rand();
const randomArray = (n, a, b) => Float32Array.from({ length: n }, () => uniform(a, b));
const randint = (n) => Math.floor(rand() * n);

// ---- bf16 rounding (round to nearest even), as the GPU stores matrices in a bf16 context ----
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bf16Bits(x) {
  f32[0] = x;
  const u = u32[0];
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
function fromBf16(bits) {
  u32[0] = bits << 16;
  return f32[0];
}
const roundBf16 = (arr) => Float32Array.from(arr, (x) => fromBf16(bf16Bits(x)));

// ---- the model ----
const cfg = { layers: 2, hidden: 128, heads: 2, inter: 256, vocab: 30, types: 2, positions: 160 };
const H = cfg.hidden, I = cfg.inter;

function makeWeights() {
  const a = Math.sqrt(3 / H), ai = Math.sqrt(3 / I);
  const w = {
    word: randomArray(cfg.vocab * H, -1, 1), position: randomArray(cfg.positions * H, -0.5, 0.5),
    tokenType: randomArray(cfg.types * H, -0.5, 0.5), embG: randomArray(H, 0.7, 1.3), embB: randomArray(H, -0.1, 0.1),
    layers: [],
    headW: randomArray(H * H, -a, a), headB: randomArray(H, -0.1, 0.1), headG: randomArray(H, 0.7, 1.3), headBeta: randomArray(H, -0.1, 0.1),
    decW: randomArray(cfg.vocab * H, -a, a), decB: randomArray(cfg.vocab, -0.2, 0.2),
  };
  for (let l = 0; l < cfg.layers; l++) {
    w.layers.push({
      wq: randomArray(H * H, -2 * a, 2 * a), wk: randomArray(H * H, -2 * a, 2 * a), wv: randomArray(H * H, -a, a),
      bq: randomArray(H, -0.1, 0.1), bk: randomArray(H, -0.1, 0.1), bv: randomArray(H, -0.1, 0.1),
      wo: randomArray(H * H, -a, a), bo: randomArray(H, -0.1, 0.1), g1: randomArray(H, 0.7, 1.3), b1: randomArray(H, -0.1, 0.1),
      wi: randomArray(I * H, -a, a), bi: randomArray(I, -0.1, 0.1), wo2: randomArray(H * I, -ai, ai), bo2: randomArray(H, -0.1, 0.1),
      g2: randomArray(H, 0.7, 1.3), b2: randomArray(H, -0.1, 0.1),
    });
  }
  return w;
}

function upload(ctx, w) {
  const mat = (a, rows, cols) => ctx.uploadWeight(a, 'f32', rows, cols, 'matrix');
  const vec = (a) => ctx.uploadWeight(a, 'f32', 1, a.length, 'vector');
  const wordBits = Uint16Array.from(w.word, bf16Bits);  // raw bf16 source: converted on the GPU
  return {
    word: ctx.uploadWeight(wordBits, 'bf16', cfg.vocab, H, 'matrix'), position: mat(w.position, cfg.positions, H),
    tokenType: mat(w.tokenType, cfg.types, H), embG: vec(w.embG), embB: vec(w.embB),
    layers: w.layers.map((L) => ({
      wq: mat(L.wq, H, H), wk: mat(L.wk, H, H), wv: mat(L.wv, H, H), bq: vec(L.bq), bk: vec(L.bk), bv: vec(L.bv),
      wo: mat(L.wo, H, H), bo: vec(L.bo), g1: vec(L.g1), b1: vec(L.b1), wi: mat(L.wi, I, H), bi: vec(L.bi),
      wo2: mat(L.wo2, H, I), bo2: vec(L.bo2), g2: vec(L.g2), b2: vec(L.b2),
    })),
    headW: mat(w.headW, H, H), headB: vec(w.headB), headG: vec(w.headG), headBeta: vec(w.headBeta),
    decW: mat(w.decW, cfg.vocab, H), decB: vec(w.decB),
  };
}

function program(ids) {
  const tensors = [], ops = [];
  const t = (rows, cols, dtype = 'compute') => tensors.push({ rows, cols, dtype }) - 1;
  const view = (viewOf, col, cols) => tensors.push({ viewOf, col, cols }) - 1;
  let hidden = t('tokens', H);
  ops.push({ op: 'embeddings', out: hidden, word: ids.word, position: ids.position, tokenType: ids.tokenType, lnWeight: ids.embG, lnBias: ids.embB, eps: 1e-12 });
  ids.layers.forEach((L, l) => {
    // Layer 0: the residual through the GEMM's C input, then layerNorm; layer 1: addLayerNorm.
    const gemmResidual = l === 0;
    const addNorm = (out, input, residual, g, b) =>
      ops.push(gemmResidual ? { op: 'layerNorm', out, input, lnWeight: g, lnBias: b, eps: 1e-12 }
        : { op: 'addLayerNorm', out, input, residual, lnWeight: g, lnBias: b, eps: 1e-12 });
    const qkv = t('tokens', 3 * H);
    ops.push({ op: 'linear', out: qkv, input: hidden, weights: [L.wq, L.wk, L.wv], biases: [L.bq, L.bk, L.bv], activation: 'none' });
    const ctxT = t('tokens', H);
    ops.push({ op: 'attention', out: ctxT, q: view(qkv, 0, H), k: view(qkv, H, H), v: view(qkv, 2 * H, H), heads: cfg.heads });
    const attn = t('tokens', H);
    ops.push({ op: 'linear', out: attn, input: ctxT, weights: [L.wo], biases: [L.bo], activation: 'none', ...(gemmResidual ? { residual: hidden } : {}) });
    const h1 = t('tokens', H);
    addNorm(h1, attn, hidden, L.g1, L.b1);
    const inter = t('tokens', I);
    ops.push({ op: 'linear', out: inter, input: h1, weights: [L.wi], biases: [L.bi], activation: 'gelu' });
    const ffn = t('tokens', H);
    ops.push({ op: 'linear', out: ffn, input: inter, weights: [L.wo2], biases: [L.bo2], activation: 'none', ...(gemmResidual ? { residual: h1 } : {}) });
    const h2 = t('tokens', H);
    addNorm(h2, ffn, h1, L.g2, L.b2);
    hidden = h2;
  });
  const g = t('headRows', H);
  ops.push({ op: 'gatherRows', out: g, input: hidden, rows: 'headRows' });
  const dense = t('headRows', H);
  ops.push({ op: 'linear', out: dense, input: g, weights: [ids.headW], biases: [ids.headB], activation: 'gelu' });
  const normed = t('headRows', H);
  ops.push({ op: 'layerNorm', out: normed, input: dense, lnWeight: ids.headG, lnBias: ids.headBeta, eps: 1e-12 });
  const logits = t('headRows', cfg.vocab, 'f32');
  ops.push({ op: 'linear', out: logits, input: normed, weights: [ids.decW], biases: [ids.decB], activation: 'none' });
  const logp = t('headRows', cfg.vocab, 'f32');
  ops.push({ op: 'logSoftmax', out: logp, input: logits });
  const cls = t('sequences', H);
  ops.push({ op: 'firstTokens', out: cls, input: hidden });
  const mean = t('groups', H, 'f32');
  ops.push({ op: 'meanRows', out: mean, input: hidden });
  const rows = t('hiddenRows', H, 'f32');
  ops.push({ op: 'gatherRows', out: rows, input: hidden, rows: 'hiddenRows' });
  return { tensors, ops, outputs: [{ name: 'logprobs', tensor: logp }, { name: 'cls', tensor: cls }, { name: 'mean', tensor: mean }, { name: 'hidden', tensor: rows }] };
}

// ---- float64 reference ----
function layerNorm(x, off, n, g, b, out, outOff) {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[off + i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[off + i] - mean) ** 2;
  const inv = 1 / Math.sqrt(v / n + 1e-12);
  for (let i = 0; i < n; i++) out[outOff + i] = (x[off + i] - mean) * inv * g[i] + b[i];
}
function linear(x, M, K, W, N, b) {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let acc = b ? b[n] : 0;
      for (let k = 0; k < K; k++) acc += x[m * K + k] * W[n * K + k];
      y[m * N + n] = acc;
    }
  return y;
}
// erf with |error| < 1.2e-7 relative is not enough for fp32 checks: use a series / continued fraction in float64.
function erf(x) {
  const ax = Math.abs(x);
  let r;
  if (ax < 2.5) {  // Maclaurin series
    let term = ax, sum = ax;
    for (let n = 1; n < 60; n++) {
      term *= -ax * ax / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {  // continued fraction for erfc
    let f = 0;
    for (let n = 60; n >= 1; n--) f = (n / 2) / (ax + f);
    r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  }
  return x < 0 ? -r : r;
}
const gelu = (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));

function reference(w0, batch, bf16) {
  const w = structuredClone(w0);
  w.word = roundBf16(w.word);  // uploaded as bf16 bits
  if (bf16) {
    for (const k of ['word', 'position', 'tokenType', 'headW', 'decW']) w[k] = roundBf16(w[k]);
    for (const L of w.layers) for (const k of ['wq', 'wk', 'wv', 'wo', 'wi', 'wo2']) L[k] = roundBf16(L[k]);
  }
  const T = batch.inputIds.length;
  let hidden = new Float64Array(T * H);
  const row = new Float64Array(H);
  let t = 0;
  for (const len of batch.seqLengths)
    for (let p = 0; p < len; p++, t++) {
      for (let j = 0; j < H; j++) row[j] = w.word[batch.inputIds[t] * H + j] + w.tokenType[batch.tokenTypeIds[t] * H + j] + w.position[p * H + j];
      layerNorm(row, 0, H, w.embG, w.embB, hidden, t * H);
    }
  const addLN = (x, r, g, b) => {
    const out = new Float64Array(T * H), tmp = new Float64Array(H);
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < H; j++) tmp[j] = x[i * H + j] + r[i * H + j];
      layerNorm(tmp, 0, H, g, b, out, i * H);
    }
    return out;
  };
  const d = H / cfg.heads;
  for (const L of w.layers) {
    const wqkv = new Float32Array([...L.wq, ...L.wk, ...L.wv]), bqkv = new Float32Array([...L.bq, ...L.bk, ...L.bv]);
    const qkv = linear(hidden, T, H, wqkv, 3 * H, bqkv);
    const ctx = new Float64Array(T * H);
    let start = 0;
    for (const len of batch.seqLengths) {
      const s = new Float64Array(len);
      for (let h = 0; h < cfg.heads; h++)
        for (let i = 0; i < len; i++) {
          let mx = -Infinity;
          for (let j = 0; j < len; j++) {
            let dot = 0;
            for (let e = 0; e < d; e++) dot += qkv[(start + i) * 3 * H + h * d + e] * qkv[(start + j) * 3 * H + H + h * d + e];
            s[j] = dot / Math.sqrt(d);
            mx = Math.max(mx, s[j]);
          }
          let sum = 0;
          for (let j = 0; j < len; j++) sum += (s[j] = Math.exp(s[j] - mx));
          for (let j = 0; j < len; j++)
            for (let e = 0; e < d; e++) ctx[(start + i) * H + h * d + e] += (s[j] / sum) * qkv[(start + j) * 3 * H + 2 * H + h * d + e];
        }
      start += len;
    }
    const h1 = addLN(linear(ctx, T, H, L.wo, H, L.bo), hidden, L.g1, L.b1);
    const inter = linear(h1, T, H, L.wi, I, L.bi).map(gelu);
    hidden = addLN(linear(inter, T, I, L.wo2, H, L.bo2), h1, L.g2, L.b2);
  }
  const R = batch.headRows.length;
  const g = new Float64Array(R * H);
  batch.headRows.forEach((r, i) => g.set(hidden.subarray(r * H, (r + 1) * H), i * H));
  const dense = linear(g, R, H, w.headW, H, w.headB).map(gelu);
  const normed = new Float64Array(R * H);
  for (let r = 0; r < R; r++) layerNorm(dense, r * H, H, w.headG, w.headBeta, normed, r * H);
  const logits = linear(normed, R, H, w.decW, cfg.vocab, w.decB);
  for (let r = 0; r < R; r++) {
    const seg = logits.subarray(r * cfg.vocab, (r + 1) * cfg.vocab);
    const m = Math.max(...seg);
    const lse = m + Math.log(seg.reduce((a, x) => a + Math.exp(x - m), 0));
    for (let v = 0; v < cfg.vocab; v++) seg[v] -= lse;
  }
  const cls = [];
  let start = 0;
  for (const len of batch.seqLengths) {
    cls.push(...hidden.subarray(start * H, (start + 1) * H));
    start += len;
  }
  const mean = [];
  for (let gi = 0; gi + 1 < batch.groupOffsets.length; gi++) {
    const m = new Float64Array(H);
    const a = batch.groupOffsets[gi], b = batch.groupOffsets[gi + 1];
    for (let i = a; i < b; i++) for (let j = 0; j < H; j++) m[j] += hidden[batch.groupRows[i] * H + j];
    mean.push(...m.map((x) => x / (b - a)));
  }
  const rows = [];
  for (const r of batch.hiddenRows) rows.push(...hidden.subarray(r * H, (r + 1) * H));
  return { logprobs: logits, cls, mean, hidden: rows };
}

function makeBatch(lengths) {
  const T = lengths.reduce((a, b) => a + b, 0);
  const groupRows = [];
  for (let t = T - lengths[lengths.length - 1]; t < T; t++) groupRows.push(t);
  const g1 = groupRows.length;
  groupRows.push(0, randint(T), randint(T));
  return {
    inputIds: Int32Array.from({ length: T }, () => randint(cfg.vocab)),
    tokenTypeIds: Int32Array.from({ length: T }, () => randint(cfg.types)),
    seqLengths: Int32Array.from(lengths),
    headRows: Int32Array.from([randint(T), randint(T), 0, T - 1, 3 % T, 3 % T]),
    hiddenRows: Int32Array.from([T - 1, 0, randint(T)]),
    groupOffsets: Int32Array.from([0, g1, groupRows.length]),
    groupRows: Int32Array.from(groupRows),
  };
}

async function testContext(dtype, weights) {
  // bf16: one rounding per stored activation, amplified by the peaked attention of these weights (~6e-3 .. 1e-2
  // typical; the GEMM-residual form rounds each sum, ~15% more than addLayerNorm). A real bug is off by O(1).
  const tol = dtype === 'fp32' ? 1e-5 : 2e-2;
  const ctx = new addon.Context({ device: 0, dtype, profile: true });
  const ids = upload(ctx, weights);
  const prog = ctx.compile(program(ids));
  check(`${dtype}: compile returns a program id`, typeof prog === 'number');
  const lengths = sim ? [1, 5, 64, 70] : [1, 2, 63, 64, 65, 130];
  const batch = makeBatch(lengths);
  const out = await ctx.run(prog, batch);
  const ref = reference(weights, batch, dtype === 'bf16');
  for (const name of ['logprobs', 'cls', 'mean', 'hidden']) {
    const ok = out[name] instanceof Float32Array && out[name].length === ref[name].length;
    const err = ok ? relErr(out[name], ref[name]) : Infinity;
    check(`${dtype}: ${name} vs float64 reference`, err <= tol, `relerr ${err.toExponential(3)} (tol ${tol})`);
  }
  // No MLM positions in this batch: zero-row tensors, an empty output.
  const empty = await ctx.run(prog, { ...batch, headRows: new Int32Array(0) });
  check(`${dtype}: empty headRows gives an empty logprobs output`, empty.logprobs.length === 0 && empty.cls.length === batch.seqLengths.length * H);
  // Several runs in flight: same results, in any completion order.
  const batches = [batch, makeBatch([7, 3]), batch];
  const results = await Promise.all(batches.map((b) => ctx.run(prog, b)));
  const same = results[0].hidden.every((x, i) => x === out.hidden[i]) && results[2].cls.every((x, i) => x === out.cls[i]);
  check(`${dtype}: 3 runs in flight, repeated batch gives identical bits`, same);
  const profile = ctx.lastProfile();
  check(`${dtype}: lastProfile() has gemm/attention/layernorm`, ['gemm', 'attention', 'layernorm'].every((k) => profile[k] >= 0),
    Object.keys(profile).join(','));
  const mem = ctx.memory();
  check(`${dtype}: memory()`, mem.weightBytes > 0 && mem.peakPoolBytes > 0 && mem.deviceTotalBytes > 0,
    `weights ${(mem.weightBytes / 1024).toFixed(0)} KiB`);
  // Validation errors are thrown synchronously, with code INVALID_ARGUMENT.
  const expectThrow = (name, f, needle) => {
    let err;
    try {
      f();
    } catch (e) {
      err = e;
    }
    check(`${dtype}: ${name}`, err && err.code === 'INVALID_ARGUMENT' && err.message.includes(needle), err ? err.message.slice(0, 28) : 'no error');
  };
  expectThrow('bad headRows value throws', () => ctx.run(prog, { ...batch, headRows: Int32Array.from([0, 99999]) }), 'headRows[1]');
  expectThrow('bad program throws', () => ctx.compile({ tensors: [], ops: [{ op: 'linear', out: 0 }], outputs: [] }), 'input');
  const withGelu = program(ids);
  withGelu.ops.find((op) => op.residual !== undefined && op.op === 'linear').activation = 'gelu';
  expectThrow('linear with a residual and gelu throws', () => ctx.compile(withGelu), "activation 'none'");
  expectThrow('unknown op throws', () => ctx.compile({ tensors: [{ rows: 'tokens', cols: 4, dtype: 'f32' }], ops: [{ op: 'conv', out: 0 }], outputs: [] }), 'unknown op');
  expectThrow('wrong typed array throws', () => ctx.uploadWeight(new Float32Array(4), 'bf16', 2, 2, 'matrix'), 'Uint16Array');
  ctx.dispose();
  ctx.dispose();
  let after;
  try {
    ctx.memory();
  } catch (e) {
    after = e;
  }
  check(`${dtype}: dispose() is idempotent, later calls throw`, !!after, after?.message ?? '');
  return out;
}

async function testOom(weights) {
  // The optional pool cap makes the OOM path cheap to reach: a batch too big for it rejects with CUDA_OOM and
  // the context keeps working.
  const ctx = new addon.Context({ device: 0, dtype: 'bf16', maxPoolBytes: 1 << 20 });
  const prog = ctx.compile(program(upload(ctx, weights)));
  const small = makeBatch([9, 4]);
  const first = await ctx.run(prog, small);
  let err;
  try {
    await ctx.run(prog, makeBatch(Array(30).fill(150)));
  } catch (e) {
    err = e;
  }
  check('bf16: run over the pool cap rejects with CUDA_OOM', err?.code === 'CUDA_OOM', err?.code ?? 'resolved');
  const again = await ctx.run(prog, small);
  check('bf16: context works after CUDA_OOM (same bits)', again.hidden.every((x, i) => x === first.hidden[i]));
  ctx.dispose();
}

const info = addon.probe();
check('probe()', info.devices.length > 0 && info.runtimeVersion > 0,
  `${info.devices[0]?.name} cc ${info.devices[0]?.computeCapability}`);
console.log(`  driver ${info.driverVersion}, runtime ${info.runtimeVersion}, cuBLASLt ${info.cublasLtVersion}`);
const weights = makeWeights();
await testContext('fp32', weights);
await testContext('bf16', weights);
await testOom(weights);
console.log(`\n${checks} checks, ${failures} failed`);
process.exit(failures ? 1 : 0);
