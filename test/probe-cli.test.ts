/** `igbert probe fit` / `igbert probe predict` end to end: real processes, files, exit codes, the embedding cache. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CHECKPOINTS, FIXTURES, ROOT } from './helpers.js';

const BIN = join(ROOT, 'bin', 'igbert.js');
const MODEL = join(CHECKPOINTS, 'mlm-h64');
const TABLE = join(FIXTURES, 'probe', 'antibodies.csv');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'igbert-probe-cli-'));
const CACHE = tmp();

function igbert(args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, IGBERT_CACHE_DIR: CACHE } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const csvRows = (text: string): string[][] => text.trim().split('\n').map((line) => line.split(','));

describe('igbert probe', () => {
  const dir = tmp();
  const head = join(dir, 'affinity.json');

  test('fit: head, Markdown report, SVG scatter; the bad row is listed and gives exit 3', () => {
    const run = igbert(['probe', 'fit', '--model', MODEL, '--input', TABLE, '--target', 'affinity', '--output', head]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /5-fold CV on 47 rows: r2 -?\d\.\d{3} ± \d\.\d{3}, spearman .*, rmse/);
    assert.match(run.stderr, /rows 1, 47 are the same antibody with different labels/);
    const written = JSON.parse(readFileSync(head, 'utf8'));
    assert.equal(written.format, 'igbert-probe-head/1');
    assert.deepEqual([written.model.kind, written.features.recipe, written.metrics.folds.length], ['ridge', 'mean', 5]);
    const report = readFileSync(join(dir, 'affinity.md'), 'utf8');
    assert.match(report, /\| R² \| -?\d\.\d{3} ± \d\.\d{3} \|/);
    assert.match(report, /!\[out-of-fold predictions against measurements\]\(affinity\.scatter\.svg\)/);
    const svg = readFileSync(join(dir, 'affinity.scatter.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal(svg.match(/<circle /g)?.length, 47);
    const errors = readFileSync(`${head}.errors.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(errors.map((e) => [e.row, e.id]), [[48, 'bad-seq']]);
  });

  test('fit again with another target: embeddings come from the cache', () => {
    const run = igbert(['probe', 'fit', '--model', MODEL, '--input', TABLE, '--target', 'kd_nm', '--transform', 'neglog10', '--output', join(dir, 'kd.json')]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /from the cache/);
  });

  test('predict: one row per accepted input row, in the original units too', () => {
    const out = join(dir, 'predictions.csv');
    const run = igbert(['probe', 'predict', '--model', MODEL, '--head', join(dir, 'kd.json'), '--input', TABLE, '--output', out]);
    assert.equal(run.code, 3, run.stderr);
    const [header, ...rows] = csvRows(readFileSync(out, 'utf8'));
    assert.deepEqual(header, ['row', 'id', 'prediction', 'predicted_kd_nm']);
    assert.equal(rows.length, 47);
    for (const [, , prediction, kd] of rows) assert.ok(Math.abs(10 ** -Number(prediction) - Number(kd)) <= 1e-9 * Number(kd));
  });

  test('classification with --positive on a clean file: exit 0, no errors file', () => {
    const clean = join(dir, 'clean.csv');
    writeFileSync(clean, readFileSync(TABLE, 'utf8').split('\n').filter((l) => !l.startsWith('bad-seq')).join('\n'));
    const out = join(dir, 'class.json');
    const run = igbert(['probe', 'fit', '--model', MODEL, '--input', clean, '--target', 'class', '--task', 'classification',
      '--positive', 'binder', '--features', 'cls', '--folds', '3', '--output', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /3-fold CV on 47 rows: roc_auc \d\.\d{3} ± \d\.\d{3}, accuracy/);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')).target.classes, ['non-binder', 'binder']);
    assert.equal(existsSync(`${out}.errors.jsonl`), false);
  });

  test('pooler-head on a checkpoint with a pooler', () => {
    const out = join(dir, 'pooler.json');
    const run = igbert(['probe', 'fit', '--model', join(CHECKPOINTS, 'model-pooler'), '--input', TABLE, '--target', 'affinity',
      '--features', 'pooler-head', '--folds', '3', '--output', out]);
    assert.equal(run.code, 3, run.stderr);
    const written = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(written.model.initialisedFrom, 'checkpoint');
    assert.equal(written.model.pooler.weight.length, 48 * 48);
  });

  const usage: [string, string[], RegExp][] = [
    ['missing --target', [], /required option '--target <column>'/],
    ['unknown column', ['--target', 'kd'], /no column "kd"; its columns are id, heavy, light/],
    ['--threshold without classification', ['--target', 'affinity', '--threshold', '5'], /needs --task classification/],
    ['unknown feature recipe', ['--target', 'affinity', '--features', 'max'], /--features must be one of/],
    ['output is not .json', ['--target', 'affinity', '--output', join(dir, 'x.csv')], /--output must be a \.json file/],
  ];
  for (const [label, extra, message] of usage) {
    test(`usage error: ${label} → exit 2`, () => {
      const run = igbert(['probe', 'fit', '--model', MODEL, '--input', TABLE, '--output', join(dir, 'u.json'), ...extra]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    });
  }

  test('a target with no variance → exit 1', () => {
    const run = igbert(['probe', 'fit', '--model', MODEL, '--input', TABLE, '--target', 'flat', '--output', join(dir, 'f.json')]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /column "flat" has no variance/);
  });

  test('predict with a file that is not a head → exit 2', () => {
    const bogus = join(dir, 'bogus.json');
    writeFileSync(bogus, '{"format": "something else"}');
    const run = igbert(['probe', 'predict', '--model', MODEL, '--head', bogus, '--input', TABLE, '--output', join(dir, 'p.csv')]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /not an igbert probe head/);
  });
});
