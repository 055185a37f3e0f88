/** igbert score / mutate / fill end to end: real processes, real files, reference numbers, exit codes. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertAbsClose, CHECKPOINTS, ROOT, scoresReference } from './helpers.js';

const BIN = join(ROOT, 'bin', 'igbert.js');
const MODEL = join(CHECKPOINTS, 'mlm-h64');
const reference = scoresReference('mlm-h64');

function igbert(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, maxBuffer: 64 << 20 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
const tmp = (): string => mkdtempSync(join(tmpdir(), 'igbert-tasks-'));
const jsonLines = (text: string): any[] => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const csvOf = (records: { id: string; heavy: string; light: string }[]): string =>
  'id,heavy,light\n' + records.map((r) => `${r.id},${r.heavy},${r.light}`).join('\n') + '\n';
const csv = csvOf(reference.records);
const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

describe('igbert score', () => {
  test('pll with --per-residue: reference terms, sums, order, keys; --plot writes one SVG per antibody', () => {
    const dir = tmp();
    const run = igbert(['score', '--model', MODEL, '--input', '-', '--output', '-', '--per-residue', '--plot', join(dir, 'plots')], csv);
    assert.equal(run.code, 0, run.stderr);
    const rows = jsonLines(run.stdout);
    assert.deepEqual(rows.map((r) => r.id), reference.records.map((r) => r.id));
    rows.forEach((row, i) => {
      const ref = reference.records[i]!;
      assert.deepEqual(Object.keys(row), [
        'id', 'method', 'log_likelihood', 'mean_log_likelihood', 'perplexity', 'heavy_log_likelihood', 'light_log_likelihood', 'per_residue',
      ]);
      assert.equal(row.method, 'pll');
      assertAbsClose(row.per_residue, ref.pll_terms, `${ref.id} terms`);
      assertAbsClose([row.log_likelihood], [sum(ref.pll_terms)], `${ref.id} pll`, 1e-3);
      assert.equal(row.heavy_log_likelihood === null, ref.heavy === '');
      assert.equal(row.light_log_likelihood === null, ref.light === '');
    });
    const svgs = readdirSync(join(dir, 'plots')).sort();
    assert.deepEqual(svgs, reference.records.map((r) => `${r.id}.svg`).sort());
    const svg = readFileSync(join(dir, 'plots', 'pair-1.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /pair-1 \u2014 per-residue log-probability/);
    assert.match(svg, /Heavy chain/);
  });

  test('wt-marginal to CSV: scalar columns', () => {
    const dir = tmp();
    const out = join(dir, 'scores.csv');
    const run = igbert(['score', '--model', MODEL, '--input', '-', '--output', out, '--method', 'wt-marginal'], csv);
    assert.equal(run.code, 0, run.stderr);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'id,method,log_likelihood,mean_log_likelihood,perplexity,heavy_log_likelihood,light_log_likelihood');
    const [id, method, logLikelihood] = lines[1]!.split(',');
    assert.deepEqual([id, method], ['pair-1', 'wt-marginal']);
    assertAbsClose([Number(logLikelihood)], [sum(reference.records[0]!.wt_marginal_terms)], 'pair-1 wt-marginal', 1e-3);
  });

  test('rows with masked residues are rejected (exit 3), the rest are scored', () => {
    const dir = tmp();
    const out = join(dir, 'out.jsonl');
    writeFileSync(join(dir, 'in.csv'), 'id,heavy,light\nok,EVQLV,DIQ\nmasked,EV*LV,DIQ\n');
    const run = igbert(['score', '--model', MODEL, '--input', join(dir, 'in.csv'), '--output', out]);
    assert.equal(run.code, 3, run.stderr);
    assert.deepEqual(jsonLines(readFileSync(out, 'utf8')).map((r) => r.id), ['ok']);
    const [error] = jsonLines(readFileSync(`${out}.errors.jsonl`, 'utf8'));
    assert.deepEqual([error.row, error.chain, error.position], [2, 'H', 3]);
  });

  test('usage errors → exit 2: --per-residue to CSV, unknown method', () => {
    for (const [args, message] of [
      [['--per-residue', '--output', 'x.csv'], /CSV cannot hold/],
      [['--method', 'ppl', '--output', '-'], /--method must be one of pll, wt-marginal/],
    ] as const) {
      const run = igbert(['score', '--model', MODEL, '--input', '-', ...args], csv);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    }
  });

  test('--help documents the definitions and gives an example', () => {
    const run = igbert(['score', '--help']);
    assert.equal(run.code, 0);
    for (const pattern of [/pseudo-log-likelihood/, /wt-marginal/, /perplexity = exp\(-mean_log_likelihood\)/, /natural log/, /Example:\n  igbert score/]) {
      assert.match(run.stdout, pattern);
    }
  });
});

describe('igbert mutate', () => {
  const pair = reference.records.find((r) => r.id === 'pair-1')!;
  const sets = reference.mutations.filter((m) => m.id === 'pair-1');

  test('--mutations with several sets: one row per (record, set), reference scores (JSONL and CSV)', () => {
    const run = igbert(
      ['mutate', '--model', MODEL, '--input', '-', '--output', '-', '--mutations', sets.map((s) => s.mutations).join(';')],
      csvOf([pair]),
    );
    assert.equal(run.code, 0, run.stderr);
    const rows = jsonLines(run.stdout);
    assert.deepEqual(rows.map((r) => Object.keys(r)), sets.map(() => ['id', 'method', 'mutations', 'score']));
    assert.ok(rows.every((r) => r.method === 'masked-marginal'));
    assert.deepEqual(rows.map((r) => r.mutations), sets.map((s) => s.mutations));
    assertAbsClose(rows.map((r) => r.score), sets.map((s) => s.masked_marginal), 'masked-marginal');

    const dir = tmp();
    const out = join(dir, 'effects.csv');
    const wt = igbert(
      ['mutate', '--model', MODEL, '--input', '-', '--output', out, '--method', 'wt-marginal', '--mutations', sets[0]!.mutations, '--mutations', sets[1]!.mutations],
      csvOf([pair]),
    );
    assert.equal(wt.code, 0, wt.stderr);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'id,method,mutations,score');
    assert.equal(lines.length, 3);
    assertAbsClose([Number(lines[2]!.split(',').at(-1))], [sets[1]!.wt_marginal], 'wt-marginal csv');
  });

  test('a wild-type mismatch rejects that row only (exit 3), naming chain and position', () => {
    const dir = tmp();
    const out = join(dir, 'out.jsonl');
    writeFileSync(join(dir, 'in.csv'), 'id,heavy,light\nok,SEVQ,DIQ\nbad,AEVQ,DIQ\nshort,,DIQ\n');
    const run = igbert(['mutate', '--model', MODEL, '--input', join(dir, 'in.csv'), '--output', out, '--mutations', 'H:S1A']);
    assert.equal(run.code, 3, run.stderr);
    assert.deepEqual(jsonLines(readFileSync(out, 'utf8')).map((r) => r.id), ['ok']);
    const errors = jsonLines(readFileSync(`${out}.errors.jsonl`, 'utf8'));
    assert.deepEqual(errors.map((e) => [e.row, e.chain, e.position]), [[2, 'H', 1], [3, 'H', 1]]);
    assert.match(errors[0].error, /wild type is S, but the sequence has A/);
    assert.match(errors[1].error, /no heavy chain/);
  });

  test('--scan --region --heatmap: 19 long-form rows per position with reference scores; one SVG', () => {
    const scan = reference.scans.find((s) => s.id === 'pair-2')!;
    const dir = tmp();
    const out = join(dir, 'scan.csv');
    const run = igbert(
      ['mutate', '--model', MODEL, '--input', '-', '--output', out, '--scan', '--region', scan.region, '--heatmap', join(dir, 'maps')],
      csvOf([scan]),
    );
    assert.equal(run.code, 0, run.stderr);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'id,method,chain,position,wt,mut,score');
    assert.equal(lines.length - 1, scan.positions.length * 19);
    for (const line of lines.slice(1)) {
      const [id, method, chain, position, wt, mut, score] = line.split(',');
      const expected = scan.positions.find((p) => p.chain === chain && p.position === Number(position))!;
      assert.equal(id, 'pair-2');
      assert.equal(method, 'masked-marginal');
      assert.equal(wt, expected.wt);
      assert.notEqual(mut, wt);
      assertAbsClose([Number(score)], [expected.scores[reference.amino_acids.indexOf(mut!)]!], `${chain}${position}${mut}`);
    }
    assert.deepEqual(readdirSync(join(dir, 'maps')), ['pair-2.svg']);
    const svg = readFileSync(join(dir, 'maps', 'pair-2.svg'), 'utf8');
    assert.match(svg, /pair-2 \u2014 deep mutational scan/);
    assert.match(svg, /log p\(mut\) \u2212 log p\(wt\)/);
  });

  const usage: [string[], RegExp][] = [
    [['--mutations', 'H:S30'], /--mutations: "H:S30" is not a mutation/],
    [['--scan', '--mutations', 'H:E1A'], /drop --mutations/],
    [['--region', 'H:1-3'], /--region and --heatmap belong to --scan/],
    [['--scan', '--region', 'Q:1-3'], /--region: "Q:1-3" is not a region/],
    [['--method', 'masked'], /--method must be one of masked-marginal, wt-marginal/],
  ];
  for (const [args, message] of usage) {
    test(`usage error ${args.join(' ')} → exit 2`, () => {
      const run = igbert(['mutate', '--model', MODEL, '--input', '-', '--output', '-', ...args], csv);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    });
  }

  test('per-row sets from the CSV column "mutations"; a row with a bad string is rejected, naming it', () => {
    const input =
      'id,heavy,light,mutations\n' +
      `pair-1,${pair.heavy},${pair.light},"${sets[1]!.mutations}"\n` +
      `again,${pair.heavy},${pair.light},"${sets[0]!.mutations};${sets[2]!.mutations}"\n` +
      `bad,${pair.heavy},${pair.light},H:E1\n`;
    const run = igbert(['mutate', '--model', MODEL, '--input', '-', '--output', '-'], input);
    assert.equal(run.code, 3, run.stderr);
    const rows = jsonLines(run.stdout);
    assert.deepEqual(rows.map((r) => [r.id, r.mutations]), [
      ['pair-1', sets[1]!.mutations],
      ['again', sets[0]!.mutations],
      ['again', sets[2]!.mutations],
    ]);
    assertAbsClose(rows.map((r) => r.score), [1, 0, 2].map((k) => sets[k]!.masked_marginal), 'column sets');
    assert.match(run.stderr, /record 3 \(id "bad"\): "H:E1" is not a mutation/);
  });

  test('without --mutations the input needs a "mutations" column (a usage error, exit 2); a row with it blank is rejected', () => {
    const run = igbert(['mutate', '--model', MODEL, '--input', '-', '--output', '-'], csvOf([pair]));
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /mutate needs mutation sets: pass --mutations, or give the input a "mutations" column/);
    const blank = igbert(['mutate', '--model', MODEL, '--input', '-', '--output', '-'], `id,heavy,light,mutations\nb,${pair.heavy},${pair.light},\n`);
    assert.equal(blank.code, 3, blank.stderr);
    assert.match(blank.stderr, /has no mutations: pass --mutations/);
  });

  test('--help documents the notation, both scores and the scan, with examples', () => {
    const run = igbert(['mutate', '--help']);
    assert.equal(run.code, 0);
    for (const pattern of [/"H:S30A"/, /masked-marginal/, /log p\(mutant\) - log p\(wild type\)/, /--scan/, /igbert mutate --model/]) {
      assert.match(run.stdout, pattern);
    }
  });
});

describe('igbert fill', () => {
  const fills = reference.fills;

  test('greedy parallel: the transformers designs; every mask listed with reference log-probs', () => {
    const run = igbert(['fill', '--model', MODEL, '--input', '-', '--output', '-', '--candidates', '3'], csvOf(fills));
    assert.equal(run.code, 0, run.stderr);
    const rows = jsonLines(run.stdout);
    rows.forEach((row, i) => {
      const ref = fills[i]!;
      assert.deepEqual(Object.keys(row), ['id', 'designs', 'positions']);
      assert.deepEqual(row.designs.map((d: any) => [d.heavy, d.light]), [[ref.greedy_parallel.heavy, ref.greedy_parallel.light]]);
      assert.equal(row.positions.length, ref.positions.length);
      row.positions.forEach((p: any, k: number) => {
        assert.deepEqual([p.chain, p.position], [ref.positions[k]!.chain, ref.positions[k]!.position]);
        assert.equal(p.candidates.length, 3);
        for (const c of p.candidates) {
          assertAbsClose([c.logprob], [ref.positions[k]!.log_probs[reference.vocab.indexOf(c.residue)]!], `${ref.id} ${c.residue}`);
        }
      });
    });
  });

  test('--mask with sampling: same seed, same output; CSV has one row per design', () => {
    const args = ['fill', '--model', MODEL, '--input', '-', '--mask', 'H:3-6', '--strategy', 'sample', '--num', '4', '--seed', '5', '--order', 'confidence'];
    const input = csvOf([{ id: 'x', heavy: 'EVQLVESGG', light: 'DIQ' }]);
    const a = igbert([...args, '--output', '-'], input);
    const b = igbert([...args, '--output', '-'], input);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    for (const design of jsonLines(a.stdout)[0].designs) {
      assert.match(design.heavy, /^EV[A-Z]{4}SGG$/);
      assert.equal(design.light, 'DIQ');
    }
    const dir = tmp();
    const run = igbert([...args, '--output', join(dir, 'd.csv')], input);
    assert.equal(run.code, 0, run.stderr);
    const lines = readFileSync(join(dir, 'd.csv'), 'utf8').trim().split('\n');
    assert.equal(lines[0], 'id,design,heavy,light,logprob');
    assert.equal(lines.length, 5);
  });

  test('rows without masks are rejected (exit 3)', () => {
    const dir = tmp();
    const out = join(dir, 'out.jsonl');
    const run = igbert(['fill', '--model', MODEL, '--input', '-', '--output', out], csvOf([{ id: 'm', heavy: 'EV*L', light: '' }, { id: 'none', heavy: 'EVQL', light: '' }]));
    assert.equal(run.code, 3, run.stderr);
    assert.deepEqual(jsonLines(readFileSync(out, 'utf8')).map((r) => r.id), ['m']);
    assert.match(readFileSync(`${out}.errors.jsonl`, 'utf8'), /no residues to fill/);
    assert.equal(existsSync(out), true);
  });

  const usage: [string[], RegExp][] = [
    [['--num', '3'], /greedy filling gives one design/],
    [['--temperature', '0.5'], /apply to strategy "sample" only/],
    [['--strategy', 'sample', '--temperature', '0'], /--temperature must be greater than 0/],
    [['--strategy', 'sample', '--top-k', '0'], /--top-k must be an integer of at least 1/],
    [['--mask', 'H:5-2'], /must not run backwards/],
    [['--order', 'random'], /--order must be one of parallel, confidence/],
  ];
  for (const [args, message] of usage) {
    test(`usage error ${args.join(' ')} → exit 2`, () => {
      const run = igbert(['fill', '--model', MODEL, '--input', '-', '--output', '-', ...args], csvOf(fills));
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    });
  }

  test('--help documents masks, strategies, orders and output, with examples', () => {
    const run = igbert(['fill', '--help']);
    assert.equal(run.code, 0);
    for (const pattern of [/--mask H:95-102/, /greedy/, /softmax\(log p \/ temperature\)/, /confidence/, /igbert fill --model/]) {
      assert.match(run.stdout, pattern);
    }
  });
});
