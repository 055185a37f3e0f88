/** The CLI end to end, as a user (or the independent harness) runs it: real processes, real files, exit codes. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertClose, CHECKPOINTS, FIXTURES, flat, readJson, ROOT } from './helpers.js';

const BIN = join(ROOT, 'bin', 'igbert.js');
const MODEL = join(CHECKPOINTS, 'mlm-h64');

function igbert(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, maxBuffer: 64 << 20 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'igbert-cli-'));
const jsonLines = (text: string): any[] => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

interface Ref {
  records: { id: string; heavy: string; light: string; embeddings: Record<string, number[]>; residue_embeddings: number[][]; hidden_state_layer_1: number[][] }[];
}
const reference = readJson<Ref>(join(FIXTURES, 'reference', 'mlm-h64.json'));
const csv = 'id,heavy,light\n' + reference.records.map((r) => `${r.id},${r.heavy},${r.light}`).join('\n') + '\n';

describe('igbert embed', () => {
  test('writes one object per row in input order with the reference numbers (file output)', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'in.csv'), csv);
    const run = igbert(['embed', '--model', MODEL, '--input', join(dir, 'in.csv'), '--output', join(dir, 'out.jsonl')]);
    assert.equal(run.code, 0, run.stderr);
    const rows = jsonLines(readFileSync(join(dir, 'out.jsonl'), 'utf8'));
    assert.deepEqual(rows.map((r) => r.id), reference.records.map((r) => r.id));
    rows.forEach((row, i) => {
      assert.deepEqual(Object.keys(row), ['id', 'embedding']);
      assertClose(row.embedding, reference.records[i]!.embeddings['mean']!, `${row.id} mean`);
    });
    assert.equal(existsSync(join(dir, 'out.jsonl.errors.jsonl')), false);
  });

  test('--residues, --pooling cls and --output - (stdout)', () => {
    const run = igbert(['embed', '--model', MODEL, '--input', '-', '--output', '-', '--residues', '--pooling', 'cls'], csv);
    assert.equal(run.code, 0, run.stderr);
    const rows = jsonLines(run.stdout);
    rows.forEach((row, i) => {
      const ref = reference.records[i]!;
      assert.deepEqual(Object.keys(row), ['id', 'embedding', 'residue_embeddings']);
      assertClose(row.embedding, ref.embeddings['cls']!, `${row.id} cls`);
      assert.equal(row.residue_embeddings.length, ref.heavy.length + ref.light.length);
      assertClose(flat(row.residue_embeddings), flat(ref.residue_embeddings), `${row.id} residues`);
    });
  });

  test('--layer 1 selects hidden_states[1]', () => {
    const run = igbert(['embed', '--model', MODEL, '--input', '-', '--output', '-', '--layer', '1', '--pooling', 'cls'], csv);
    assert.equal(run.code, 0, run.stderr);
    jsonLines(run.stdout).forEach((row, i) => {
      assertClose(row.embedding, reference.records[i]!.hidden_state_layer_1[0]!, `${row.id} layer 1 cls`);
    });
  });

  test('bad rows go to <output>.errors.jsonl, good rows are all written, exit code 3', () => {
    const dir = tmp();
    const input = 'id,heavy,light\nok1,EVQLV,DIQMT\ngap,EV-QL,\nempty,,\ndigit,EVQ1L,DIQ\nok2,,DIQMTQ\nlower,evqlv,\n';
    writeFileSync(join(dir, 'in.csv'), input);
    const out = join(dir, 'out.jsonl');
    const run = igbert(['embed', '--model', MODEL, '--input', join(dir, 'in.csv'), '--output', out]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /3 row\(s\) rejected/);
    assert.deepEqual(jsonLines(readFileSync(out, 'utf8')).map((r) => r.id), ['ok1', 'ok2', 'lower']);
    const errors = jsonLines(readFileSync(`${out}.errors.jsonl`, 'utf8'));
    assert.deepEqual(errors.map((e) => [e.row, e.id]), [[2, 'gap'], [3, 'empty'], [4, 'digit']]);
    assert.deepEqual(Object.keys(errors[0]), ['row', 'id', 'code', 'error', 'chain', 'position', 'character']);
    assert.deepEqual([errors[0].chain, errors[0].position, errors[0].character], ['H', 3, '-']);
    assert.deepEqual([errors[2].chain, errors[2].position, errors[2].character], ['H', 4, '1']);
    assert.match(errors[0].error, /--strip-gaps/);
  });

  test('--strip-gaps removes alignment gaps instead of rejecting the row', () => {
    const run = igbert(['embed', '--model', MODEL, '--input', '-', '--output', '-', '--strip-gaps'], 'id,heavy,light\ng,EV-Q.L,\nu,EVQL,\n');
    assert.equal(run.code, 0, run.stderr);
    const [gapped, ungapped] = jsonLines(run.stdout);
    assert.deepEqual(gapped.embedding, ungapped.embedding);
  });

  const usageCases: [string, string[], RegExp][] = [
    ['unknown pooling', ['--pooling', 'max'], /--pooling must be one of/],
    ['non-integer layer', ['--layer', 'two'], /--layer must be an integer/],
    ['layer out of range', ['--layer', '7'], /layer 7 does not exist/],
    ['pooler without pooler weights', ['--pooling', 'pooler'], /no pooler weights/],
    ['unknown option', ['--bogus'], /unknown option/],
  ];
  for (const [label, extra, message] of usageCases) {
    test(`usage error: ${label} → exit 2`, () => {
      const run = igbert(['embed', '--model', MODEL, '--input', '-', '--output', '-', ...extra], csv);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, '');
    });
  }

  test('missing required option → exit 2', () => {
    const run = igbert(['embed', '--model', MODEL, '--output', '-']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--input/);
  });

  const failureCases: [string, () => string, RegExp][] = [
    ['missing model folder', () => join(tmp(), 'nope'), /does not exist/],
    ['folder with only pytorch_model.bin', () => {
      const dir = tmp();
      writeFileSync(join(dir, 'config.json'), readFileSync(join(MODEL, 'config.json')));
      writeFileSync(join(dir, 'vocab.txt'), readFileSync(join(MODEL, 'vocab.txt')));
      writeFileSync(join(dir, 'pytorch_model.bin'), 'not a pickle');
      return dir;
    }, /never unpickle|safetensors/i],
    ['unsupported activation', () => {
      const dir = tmp();
      for (const f of ['vocab.txt', 'model.safetensors']) writeFileSync(join(dir, f), readFileSync(join(MODEL, f)));
      const config = readJson(join(MODEL, 'config.json'));
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, hidden_act: 'gelu_new' }));
      return dir;
    }, /hidden_act "gelu_new" is not supported/],
  ];
  for (const [label, makeModel, message] of failureCases) {
    test(`failure: ${label} → exit 1 with a clear message`, () => {
      const run = igbert(['embed', '--model', makeModel(), '--input', '-', '--output', '-'], csv);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, message);
    });
  }

  test('missing input file → exit 1, no output file left behind', () => {
    const dir = tmp();
    const run = igbert(['embed', '--model', MODEL, '--input', join(dir, 'absent.csv'), '--output', join(dir, 'out.jsonl')]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /does not exist/);
    assert.equal(existsSync(join(dir, 'out.jsonl')), false);
  });
});

describe('igbert init', () => {
  test('--random --preset tiny writes a loadable checkpoint; same seed gives the same bytes', () => {
    const a = join(tmp(), 'a');
    const b = join(tmp(), 'b');
    const c = join(tmp(), 'c');
    for (const [dir, seed] of [[a, '7'], [b, '7'], [c, '8']] as const) {
      const run = igbert(['init', '--random', '--preset', 'tiny', '--output', dir, '--seed', seed]);
      assert.equal(run.code, 0, run.stderr);
    }
    for (const f of ['config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'model.safetensors']) {
      assert.ok(existsSync(join(a, f)), f);
    }
    assert.deepEqual(readFileSync(join(a, 'model.safetensors')), readFileSync(join(b, 'model.safetensors')));
    assert.notDeepEqual(readFileSync(join(a, 'model.safetensors')), readFileSync(join(c, 'model.safetensors')));
    const config = readJson(join(a, 'config.json'));
    assert.equal(config.hidden_size, 128);
    assert.equal(config.num_attention_heads, 2);
    const run = igbert(['embed', '--model', a, '--input', '-', '--output', '-'], csv);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(jsonLines(run.stdout)[0].embedding.length, 128);
  });

  test('usage errors: no --random, unknown preset, non-empty folder', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'full'));
    writeFileSync(join(dir, 'full', 'x'), '');
    const cases: [string[], RegExp][] = [
      [['init', '--output', join(dir, 'n')], /needs --random/],
      [['init', '--random', '--preset', 'huge', '--output', join(dir, 'm')], /--preset must be one of/],
      [['init', '--random', '--output', join(dir, 'full')], /not empty/],
    ];
    for (const [args, message] of cases) {
      const run = igbert(args);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    }
  });
});

describe('environment variables', () => {
  /** Every IGBERT_* variable read under `dir` (process.env / env lookups in JS and TS, getenv in C++). */
  const readsUnder = (dir: string, extensions: RegExp): Set<string> => {
    const found = new Set<string>();
    for (const path of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
      if (!extensions.test(path) || path.split(/[\\/]/).includes('build')) continue;
      const text = readFileSync(join(dir, path), 'utf8');
      for (const m of text.matchAll(/env(?:\.|\[['"])(IGBERT_[A-Z0-9_]+)|getenv\("(IGBERT_[A-Z0-9_]+)"\)/g)) found.add((m[1] ?? m[2])!);
    }
    return found;
  };

  test('every IGBERT_* variable the code reads is documented: `igbert --help` for the CLI, native/cuda/README.md for the addon', () => {
    const cli = readsUnder(join(ROOT, 'src'), /\.ts$/);
    const native = readsUnder(join(ROOT, 'native', 'cuda'), /\.(cpp|cu|h|mjs)$/);
    assert.ok(cli.has('IGBERT_CUDA_ADDON') && cli.has('IGBERT_CACHE_DIR'), `the scan finds the CLI's variables: ${[...cli]}`);
    assert.ok(native.has('IGBERT_CUDA_GEMM_TUNE') && native.has('IGBERT_CUDA_ARCH'), `the scan finds the addon's variables: ${[...native]}`);
    const help = igbert(['--help']).stdout;
    assert.deepEqual([...cli].filter((name) => !help.includes(name)), [], 'missing from igbert --help');
    const readme = readFileSync(join(ROOT, 'native', 'cuda', 'README.md'), 'utf8');
    assert.deepEqual([...native].filter((name) => !readme.includes(name)), [], 'missing from native/cuda/README.md');
  });
});
