/**
 * `igbert probe fit` on the real data sets of ../shared/data (FLAb trastuzumab Kd, Jain 2017 biophysical
 * properties) with a small random checkpoint: the numbers mean nothing, but the whole pipeline must run on real
 * antibodies and report. Skips, saying why, when the data folder is absent.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { ROOT, SHARED_DATA } from './helpers.js';

const BIN = join(ROOT, 'bin', 'igbert.js');
const FLAB = join(SHARED_DATA, 'flab_shanehsazzadeh2023_trastuzumab_kd.csv');
const JAIN = join(SHARED_DATA, 'jain2017_biophysical.csv');
const missing = [FLAB, JAIN].filter((f) => !existsSync(f));
const skip = missing.length > 0 ? `real data absent (${missing.join(', ')}); see ../shared/data/SOURCES.md` : false;

const dir = mkdtempSync(join(tmpdir(), 'igbert-probe-data-'));
const model = join(dir, 'tiny-random');

function igbert(args: string[]): { code: number; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, IGBERT_CACHE_DIR: join(dir, 'cache') } });
  return { code: result.status ?? -1, stderr: result.stderr };
}

describe('probe on real data with a random tiny checkpoint', { skip }, () => {
  before(() => {
    const run = igbert(['init', '--random', '--preset', 'tiny', '--seed', '1', '--output', model]);
    assert.equal(run.code, 0, run.stderr);
  });

  const cases: [string, string, string[], number][] = [
    ['FLAb trastuzumab (Shanehsazzadeh 2023), -log10 Kd', FLAB, ['--target', 'fitness', '--transform', 'neglog10'], 422],
    ['Jain 2017 HEK titer', JAIN, ['--target', 'hek_titer_mg_l'], 137],
    ['Jain 2017 Fab Tm', JAIN, ['--target', 'fab_tm_c'], 137],
  ];
  cases.forEach(([label, input, args, rows], i) => {
    test(label, () => {
      const head = join(dir, `head-${i}.json`);
      const run = igbert(['probe', 'fit', '--model', model, '--input', input, ...args, '--output', head]);
      assert.equal(run.code, 0, run.stderr);
      const line = run.stderr.match(/5-fold CV on \d+ rows: .*/)?.[0];
      assert.ok(line, run.stderr);
      console.log(`${label}: ${line}`);
      const written = JSON.parse(readFileSync(head, 'utf8'));
      assert.equal(written.training.rows, rows);
      assert.equal(written.metrics.folds.length, 5);
      assert.ok(Number.isFinite(written.metrics.summary.r2.mean));
      assert.ok(existsSync(head.replace(/\.json$/, '.md')) && existsSync(head.replace(/\.json$/, '.scatter.svg')));
    });
  });
});
