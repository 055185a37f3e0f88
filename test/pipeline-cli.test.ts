/**
 * The record pipeline end to end, as a user runs it (real processes, real files, exit codes): bad rows, --strict,
 * input formats and --keep-cols, output formats read back and compared with JSONL, a run killed with SIGKILL and
 * resumed, shards merged back. Real sequences come from ../shared/data (skipped with a message when absent), the
 * model is a random tiny checkpoint made by `igbert init` (512 positions, so real pairs fit).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { CHECKPOINTS, ROOT, SHARED_DATA } from './helpers.js';
import { jsonLines, NO_PYTHON, python, PYTHON, readNpy, tempDir } from './pipeline-helpers.js';

const BIN = join(ROOT, 'bin', 'igbert.js');
const SMALL_MODEL = join(CHECKPOINTS, 'mlm-h64'); // 128 positions: fast, for short made-up chains
const REAL = join(SHARED_DATA, 'therasabdab_paired.csv');
const NO_REAL = existsSync(REAL) ? false : `${REAL} is absent (real sequences live in ../shared/data)`;

function igbert(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, maxBuffer: 256 << 20 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

let tiny = '';
let realLines: string[] = [];
before(() => {
  tiny = join(tempDir(), 'tiny');
  const made = igbert(['init', '--random', '--preset', 'tiny', '--output', tiny, '--seed', '3']);
  assert.equal(made.code, 0, made.stderr);
  if (!NO_REAL) realLines = readFileSync(REAL, 'utf8').trimEnd().split('\n');
});

/** The header and the first `n` real rows, with row i (1-based) replaced by `bad[i]` where given. */
function realCsv(n: number, bad: Record<number, string> = {}): string {
  const rows = realLines.slice(1, n + 1).map((line, i) => bad[i + 1] ?? line);
  return [realLines[0], ...rows].join('\n') + '\n';
}

describe('bad rows', () => {
  const long = 'E'.repeat(130);
  const csv = [
    'id,heavy,light,note',
    'ok1,EVQLV,DIQMT,a',
    'gap,EV-QL,,b',
    'empty,,,c',
    'digit,EVQ1L,DIQ,d',
    `long,${long},,e`,
    'fields,EVQL,DIQ',
    'lower,evqlv,,f',
    'ok2,,DIQMTQ,g',
  ].join('\n');
  const expectedErrors = [
    [2, 'gap', 'INVALID_INPUT'],
    [3, 'empty', 'INVALID_INPUT'],
    [4, 'digit', 'INVALID_INPUT'],
    [5, 'long', 'SEQUENCE_TOO_LONG'],
    [6, 'fields', 'INVALID_INPUT'],
  ];

  test('every kind of bad row goes to <output>.errors.jsonl, every good row is written, exit 3', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.csv'), csv);
    const out = join(dir, 'out.jsonl');
    const run = igbert(['embed', '--model', SMALL_MODEL, '--input', join(dir, 'in.csv'), '--output', out, '--keep-cols', 'note']);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /5 row\(s\) rejected/);
    assert.deepEqual(jsonLines(readFileSync(out, 'utf8')).map((r) => [r.id, r.note]), [['ok1', 'a'], ['lower', 'f'], ['ok2', 'g']]);
    const errors = jsonLines(readFileSync(`${out}.errors.jsonl`, 'utf8'));
    assert.deepEqual(errors.map((e) => [e.row, e.id, e.code]), expectedErrors);
    assert.match(errors[0].error, /--strip-gaps/);
    assert.match(errors[4].error, /has 3 field\(s\) but the header has 4/);
    assert.ok(JSON.parse(readFileSync(`${out}.progress.json`, 'utf8')).finished, 'the record says the run finished');
  });

  test('--strict: checks every row first, lists the bad ones, exits 1 and writes no output', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.csv'), csv);
    const out = join(dir, 'out.jsonl');
    const run = igbert(['embed', '--model', SMALL_MODEL, '--input', join(dir, 'in.csv'), '--output', out, '--strict']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /--strict: 5 row\(s\) are invalid.*first: row 2/);
    assert.equal(existsSync(out), false);
    assert.deepEqual(jsonLines(readFileSync(`${out}.errors.jsonl`, 'utf8')).map((e) => e.row), [2, 3, 4, 5, 6]);
  });

  test('FASTA and JSONL rows that cannot be read are rejected the same way', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.fasta'), '>a_H\nEVQL\n>a_L\nDIQ\n>b_H\nEVQ\n>c\nEV\n>d|heavy\nQVQ\n>d|light\nDIQ\n');
    const fasta = igbert(['embed', '--model', SMALL_MODEL, '--input', join(dir, 'in.fasta'), '--output', join(dir, 'f.jsonl')]);
    assert.equal(fasta.code, 3, fasta.stderr);
    assert.deepEqual(jsonLines(readFileSync(join(dir, 'f.jsonl'), 'utf8')).map((r) => r.id), ['a', 'd']);
    assert.deepEqual(jsonLines(readFileSync(join(dir, 'f.jsonl.errors.jsonl'), 'utf8')).map((e) => [e.row, e.id]), [[2, 'b'], [3, 'c']]);

    writeFileSync(join(dir, 'in.jsonl'), '{"id":"x","heavy":"EVQL"}\n{oops\n{"id":"y","light":"DIQ"}\n');
    const jsonl = igbert(['embed', '--model', SMALL_MODEL, '--input', join(dir, 'in.jsonl'), '--output', join(dir, 'j.jsonl')]);
    assert.equal(jsonl.code, 3, jsonl.stderr);
    assert.deepEqual(jsonLines(readFileSync(join(dir, 'j.jsonl'), 'utf8')).map((r) => r.id), ['x', 'y']);
    assert.match(readFileSync(join(dir, 'j.jsonl.errors.jsonl'), 'utf8'), /"row":2.*not valid JSON/);
  });
});

describe('inputs', () => {
  test('auto-detected VH/VL columns, --keep-cols (id and chain columns too), gzipped stdin, a note naming the columns', () => {
    const csv = 'name,VH,VL,target\nn1,EVQLV,DIQMT,HER2\nn2,QVQL,,PD1\n';
    const run = igbert(['embed', '--model', SMALL_MODEL, '--input', '-', '--output', '-', '--keep-cols', 'target,VH'], gzipSync(csv) as unknown as string);
    assert.equal(run.code, 0, run.stderr);
    const rows = jsonLines(run.stdout);
    assert.deepEqual(rows.map((r) => Object.keys(r)), [['id', 'target', 'VH', 'embedding'], ['id', 'target', 'VH', 'embedding']]);
    assert.deepEqual(rows.map((r) => [r.id, r.target, r.VH]), [['n1', 'HER2', 'EVQLV'], ['n2', 'PD1', 'QVQL']]);
    assert.match(run.stderr, /input columns: id=name, heavy=VH, light=VL/);
  });

  test('FASTA with --chain L gives the same embedding as the CSV light-only row; --quiet is quiet', () => {
    const fasta = igbert(['embed', '--model', SMALL_MODEL, '--input', '-', '--input-format', 'fasta', '--chain', 'L', '--output', '-', '--quiet'], '>k1\nDIQMT\n');
    const csv = igbert(['embed', '--model', SMALL_MODEL, '--input', '-', '--output', '-', '--quiet'], 'id,light\nk1,DIQMT\n');
    assert.equal(fasta.code, 0, fasta.stderr);
    assert.deepEqual(jsonLines(fasta.stdout), jsonLines(csv.stdout));
    assert.equal(fasta.stderr + csv.stderr, '');
  });

  const usageCases: [string, string[], RegExp][] = [
    ['missing --keep-cols column', ['--keep-cols', 'nope'], /--keep-cols: "nope" not in the input/],
    ['bad --shard', ['--shard', '3/3'], /--shard must be k\/N/],
    ['--resume to stdout', ['--resume'], /--resume needs --output FILE/],
    ['unknown --format', ['--format', 'xlsx'], /--format must be one of/],
  ];
  for (const [label, extra, message] of usageCases) {
    test(`usage error: ${label} → exit 2`, () => {
      const run = igbert(['embed', '--model', SMALL_MODEL, '--input', '-', '--output', '-', ...extra], 'id,heavy\na,EVQL\n');
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    });
  }
});

describe('output formats on real sequences', { skip: NO_REAL }, () => {
  test('NPY and Parquet hold exactly the JSONL embeddings (float32), ids and kept columns in input order', async (t) => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.csv'), realCsv(300));
    const base = ['embed', '--model', tiny, '--input', join(dir, 'in.csv'), '--keep-cols', 'status', '--quiet'];
    for (const name of ['out.jsonl', 'out.npy', 'out.parquet']) {
      const run = igbert([...base, '--output', join(dir, name)]);
      assert.equal(run.code, 0, run.stderr);
    }
    const expected = jsonLines(readFileSync(join(dir, 'out.jsonl'), 'utf8'));
    assert.equal(expected.length, 300);
    const { shape, data } = readNpy(join(dir, 'out.npy'));
    assert.deepEqual(shape, [300, 128]);
    const ids = readFileSync(join(dir, 'out.ids.csv'), 'utf8').trimEnd().split('\n');
    assert.equal(ids[0], 'id,status');
    const parquet = await parquetReadObjects({ file: await asyncBufferFromFile(join(dir, 'out.parquet')) });
    expected.forEach((row, i) => {
      const fromJson = Float32Array.from(row.embedding as number[]);
      assert.deepEqual(data.subarray(i * 128, (i + 1) * 128), fromJson, `npy row ${i}`);
      assert.equal(ids[i + 1], `${row.id},${row.status}`);
      assert.deepEqual([parquet[i]!['id'], parquet[i]!['status']], [row.id, row.status]);
      assert.deepEqual(Float32Array.from(parquet[i]!['embedding']), fromJson, `parquet row ${i}`);
    });
    if (PYTHON) {
      const check = python(
        `
import sys, json, numpy as np, pandas as pd, pyarrow.parquet as pq
rows = [json.loads(l) for l in open(sys.argv[1])]
j = np.array([r["embedding"] for r in rows], dtype=np.float32)
t = pq.read_table(sys.argv[2]); df = pd.read_parquet(sys.argv[2]); m = np.load(sys.argv[3])
p = np.array(t.column("embedding").to_pylist(), dtype=np.float32)
print(json.dumps({"type": str(t.schema.field("embedding").type), "npy": bool((m == j).all()), "parquet": bool((p == j).all()),
  "ids": df["id"].tolist() == [r["id"] for r in rows], "status": df["status"].tolist() == [r["status"] for r in rows]}))`,
        [join(dir, 'out.jsonl'), join(dir, 'out.parquet'), join(dir, 'out.npy')],
      );
      assert.deepEqual(check, { type: 'fixed_size_list<element: float>[128]', npy: true, parquet: true, ids: true, status: true });
    } else {
      t.diagnostic(`pyarrow/numpy cross-check skipped: ${NO_PYTHON}`);
    }
  });
});

/** Starts a run, kills it with SIGKILL once its checkpoint has `minRows` rows, and resolves when it is dead. */
async function killMidway(args: string[], progressFile: string, minRows: number): Promise<number> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let waited = 0; waited < 60_000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const rows = existsSync(progressFile) ? (JSON.parse(readFileSync(progressFile, 'utf8')) as { rowsDone: number }).rowsDone : 0;
    if (rows >= minRows) {
      child.kill('SIGKILL');
      await exited;
      return rows;
    }
    if (child.exitCode !== null) break;
  }
  child.kill('SIGKILL');
  throw new Error('the run ended before it could be killed midway; give it more rows');
}

describe('--resume after kill -9', { skip: NO_REAL }, () => {
  for (const format of ['jsonl', 'parquet', 'npy']) {
    test(`${format}: the resumed output (and its error log) is byte-identical to an uninterrupted run`, async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'in.csv'), realCsv(240, { 7: 'bad7,EV1L,DIQ,x,x,x,x', 200: 'bad200,,,x,x,x,x' }));
      const args = (out: string) => ['embed', '--model', tiny, '--input', join(dir, 'in.csv'), '--output', out, '--chunk-rows', '16', '--quiet'];
      const whole = join(dir, `whole.${format}`);
      assert.equal(igbert(args(whole)).code, 3);

      const out = join(dir, `killed.${format}`);
      const committed = await killMidway(args(out), `${out}.progress.json`, 64);
      const checkpointAtKill = readFileSync(`${out}.progress.json`, 'utf8');
      assert.ok(committed >= 64 && committed < 240, `killed after ${committed} rows`);
      assert.equal(existsSync(out), false);
      assert.ok(existsSync(`${out}.partial`));

      // The temporary file of a record write the kill interrupted (planted: the kill rarely lands mid-write).
      const stale = join(dir, `.killed.${format}.progress.json.${spawnSync('true').pid}.1.abc.tmp`);
      writeFileSync(stale, '{"half":');
      const resumed = igbert([...args(out), '--resume']);
      assert.equal(resumed.code, 3, resumed.stderr);
      assert.deepEqual(readdirSync(dir).filter((name) => name.startsWith('.')), [], 'no hidden temporary file is left');
      assert.deepEqual(readFileSync(out), readFileSync(whole));
      assert.deepEqual(readFileSync(`${out}.errors.jsonl`, 'utf8'), readFileSync(`${whole}.errors.jsonl`, 'utf8'));
      if (format === 'npy') assert.deepEqual(readFileSync(join(dir, 'killed.ids.csv')), readFileSync(join(dir, 'whole.ids.csv')));
      for (const leftover of ['.partial', '.errors.jsonl.partial']) assert.equal(existsSync(out + leftover), false, leftover);
      assert.ok(JSON.parse(readFileSync(`${out}.progress.json`, 'utf8')).finished, 'the record says the run finished');

      const again = igbert([...args(out), '--resume', '--quiet']);
      assert.equal(again.code, 3, 'a finished output is not redone; its exit code still says rows were rejected');

      // Killed after the output was renamed into place but before the record said so: publishing completes.
      writeFileSync(`${out}.progress.json`, checkpointAtKill);
      const publish = igbert([...args(out), '--resume']);
      assert.equal(publish.code, 3, publish.stderr);
      assert.ok(JSON.parse(readFileSync(`${out}.progress.json`, 'utf8')).finished);
      assert.deepEqual(readFileSync(out), readFileSync(whole));
    });
  }

  test('--resume refuses a checkpoint written with other options', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.csv'), realCsv(200));
    const args = ['embed', '--model', tiny, '--input', join(dir, 'in.csv'), '--output', join(dir, 'o.jsonl'), '--chunk-rows', '16', '--quiet'];
    await killMidway(args, join(dir, 'o.jsonl.progress.json'), 32);
    const run = igbert([...args, '--resume', '--pooling', 'cls']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /pooling: was "mean", now "cls"/);
  });
});

describe('--shard k/N and igbert merge', { skip: NO_REAL }, () => {
  for (const format of ['jsonl', 'parquet', 'npy']) {
    test(`${format}: 3 shards cover every row once; merged they are byte-identical to one run`, () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'in.csv'), realCsv(150, { 3: 'bad3,EV1L,,x,x,x,x', 120: 'bad120,,,x,x,x,x' }));
      const args = (out: string) => ['embed', '--model', tiny, '--input', join(dir, 'in.csv'), '--output', out, '--chunk-rows', '20', '--quiet'];
      const whole = join(dir, `whole.${format}`);
      assert.equal(igbert(args(whole)).code, 3);
      const parts = [0, 1, 2].map((k) => join(dir, `part-${k}.${format}`));
      const codes = parts.map((part, k) => igbert([...args(part), '--shard', `${k}/3`]).code);
      assert.deepEqual(codes, [3, 0, 3], 'shard 0 holds row 3, shard 2 row 120');
      if (format === 'jsonl') {
        const ids = parts.flatMap((part) => jsonLines(readFileSync(part, 'utf8')).map((r) => r.id));
        assert.deepEqual(ids, jsonLines(readFileSync(whole, 'utf8')).map((r) => r.id));
        assert.equal(ids.length, 148);
        assert.deepEqual(Buffer.concat(parts.map((p) => readFileSync(p))), readFileSync(whole), 'plain concatenation');
      }
      const merged = join(dir, `merged.${format}`);
      const run = igbert(['merge', '--output', merged, ...parts]);
      assert.equal(run.code, 3, run.stderr);
      assert.deepEqual(readFileSync(merged), readFileSync(whole));
      assert.deepEqual(readFileSync(`${merged}.errors.jsonl`, 'utf8'), readFileSync(`${whole}.errors.jsonl`, 'utf8'));
      if (format === 'npy') assert.deepEqual(readFileSync(join(dir, 'merged.ids.csv')), readFileSync(join(dir, 'whole.ids.csv')));
    });
  }

  test('more shards than chunks: the extra shards are empty, and merge still rebuilds the output', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.csv'), 'id,heavy\na,EVQL\nb,QVQL\nc,EVQ\n');
    const args = (out: string) => ['embed', '--model', SMALL_MODEL, '--input', join(dir, 'in.csv'), '--output', out, '--chunk-rows', '2'];
    assert.equal(igbert([...args(join(dir, 'whole.jsonl')), '--quiet']).code, 0);
    const parts = [0, 1, 2, 3].map((k) => join(dir, `p${k}.jsonl`));
    const runs = parts.map((part, k) => igbert([...args(part), '--shard', `${k}/4`]));
    assert.match(runs[0]!.stderr, /shard 0\/4: no rows/);
    assert.deepEqual(parts.map((p) => jsonLines(readFileSync(p, 'utf8')).length), [0, 2, 0, 1]);
    assert.equal(igbert(['merge', '--output', join(dir, 'm.jsonl'), ...parts]).code, 0);
    assert.deepEqual(readFileSync(join(dir, 'm.jsonl')), readFileSync(join(dir, 'whole.jsonl')));
  });
});
