/**
 * Issue #13, tried as a new user would: files are never destroyed, good rows never lost, mistakes fail before the work,
 * progress moves, one error style. Real processes and files, the small committed checkpoint (fast).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { publishFile } from '../src/io/outputTarget.js';
import { CHECKPOINTS, ROOT } from './helpers.js';
import { jsonLines, tempDir } from './pipeline-helpers.js';

const BIN = join(ROOT, 'bin', 'igbert.js');
const MODEL = join(CHECKPOINTS, 'mlm-h64');
const CSV = 'id,heavy,light\na,EVQLV,DIQMT\nb,QVQL,\n';

function igbert(args: string[], input?: string | Buffer): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, maxBuffer: 64 << 20 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** A folder with the input s.csv (and s.jsonl, the same rows as JSON Lines). */
function workspace(): string {
  const dir = tempDir('igbert-hardening-');
  writeFileSync(join(dir, 's.csv'), CSV);
  writeFileSync(join(dir, 's.jsonl'), '{"id":"a","heavy":"EVQLV","light":"DIQMT"}\n{"id":"b","heavy":"QVQL"}\n');
  return dir;
}

describe('files: nothing is ever destroyed (#13 items 1-2)', () => {
  const NO_MODEL = join(tempDir(), 'no-model'); // the check comes before the model is loaded
  const sameFileCases: [string, (dir: string) => string[]][] = [
    ['embed: --output is the --input', (dir) => ['embed', '--model', NO_MODEL, '--input', join(dir, 's.jsonl'), '--output', join(dir, 's.jsonl')]],
    ['score: the same CSV', (dir) => ['score', '--model', NO_MODEL, '--input', join(dir, 's.csv'), '--output', join(dir, 's.csv')]],
    ['a symbolic link to the input', (dir) => {
      symlinkSync(join(dir, 's.jsonl'), join(dir, 'link.jsonl'));
      return ['mutate', '--model', NO_MODEL, '--input', join(dir, 's.jsonl'), '--output', join(dir, 'link.jsonl'), '--mutations', 'H:E1A'];
    }],
    ['a hard link to the input', (dir) => {
      linkSync(join(dir, 's.jsonl'), join(dir, 'hard.jsonl'));
      return ['fill', '--model', NO_MODEL, '--input', join(dir, 's.jsonl'), '--output', join(dir, 'hard.jsonl'), '--mask', 'H:1'];
    }],
    ['NPY: its ids file is the input', (dir) => {
      writeFileSync(join(dir, 'e.ids.csv'), CSV);
      return ['embed', '--model', NO_MODEL, '--input', join(dir, 'e.ids.csv'), '--output', join(dir, 'e.npy')];
    }],
    ['tokenize', (dir) => {
      writeFileSync(join(dir, 't.jsonl'), 'E V Q L\n');
      return ['tokenize', '--model', NO_MODEL, '--input', join(dir, 't.jsonl'), '--output', join(dir, 't.jsonl')];
    }],
    ['probe predict: --output is the head', (dir) => {
      writeFileSync(join(dir, 'head.json'), '{}');
      return ['probe', 'predict', '--model', NO_MODEL, '--head', join(dir, 'head.json'), '--input', join(dir, 's.csv'), '--output', join(dir, 'head.json')];
    }],
    ['merge: the output is a shard (hard link)', (dir) => {
      linkSync(join(dir, 's.jsonl'), join(dir, 'm.jsonl'));
      return ['merge', '--output', join(dir, 'm.jsonl'), join(dir, 's.jsonl')];
    }],
    ['an output inside the model folder (its config.json)', (dir) => {
      cpSync(MODEL, join(dir, 'model'), { recursive: true });
      return ['embed', '--model', join(dir, 'model'), '--input', join(dir, 's.csv'), '--output', join(dir, 'model', 'config.json')];
    }],
    ['convert: --output is the model folder', (dir) => {
      mkdirSync(join(dir, 'model'));
      return ['convert', '--model', join(dir, 'model'), '--output', join(dir, 'model')];
    }],
  ];
  for (const [label, args] of sameFileCases) {
    test(`refused before any work, every file left as it was: ${label} → exit 2`, () => {
      const dir = workspace();
      const run = igbert(args(dir));
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /^igbert: error: .* is (also the|inside the) (input|head|model folder|shard)\b.*\n$/);
      assert.equal(readFileSync(join(dir, 's.csv'), 'utf8'), CSV);
      assert.match(readFileSync(join(dir, 's.jsonl'), 'utf8'), /^\{"id":"a","heavy":"EVQLV","light":"DIQMT"\}\n/);
      assert.equal(existsSync(join(dir, 'head.json')) ? readFileSync(join(dir, 'head.json'), 'utf8') : '{}', '{}');
      assert.deepEqual(readdirSync(dir).filter((name) => /partial|progress|errors/.test(name)), []);
    });
  }

  test('a symbolic link is written through: the link stays, its target gets the rows (a new target too)', () => {
    const dir = workspace();
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real', 'new.jsonl'), join(dir, 'to-new.jsonl'));
    writeFileSync(join(dir, 'real', 'old.jsonl'), 'old\n');
    symlinkSync(join('real', 'old.jsonl'), join(dir, 'to-old.jsonl'));
    for (const link of ['to-new.jsonl', 'to-old.jsonl']) {
      const run = igbert(['embed', '--model', MODEL, '--input', join(dir, 's.csv'), '--output', join(dir, link)]);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(lstatSync(join(dir, link)).isSymbolicLink(), `${link} is still a link`);
      assert.deepEqual(jsonLines(readFileSync(join(dir, link), 'utf8')).map((r) => r.id), ['a', 'b']);
    }
  });

  test('a FIFO is streamed to: no partial file, no rename, it stays a FIFO; --resume is refused', () => {
    const dir = workspace();
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const script = `cat "${fifo}" > "${join(dir, 'got')}" & "${process.execPath}" "${BIN}" embed --model "${MODEL}" --input "${join(dir, 's.csv')}" --output "${fifo}"; code=$?; wait; exit $code`;
    const run = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.ok(lstatSync(fifo).isFIFO());
    assert.deepEqual(jsonLines(readFileSync(join(dir, 'got'), 'utf8')).map((r) => r.id), ['a', 'b']);
    assert.deepEqual(readdirSync(dir).sort(), ['fifo', 'got', 's.csv', 's.jsonl']);
    const resume = igbert(['embed', '--model', MODEL, '--input', join(dir, 's.csv'), '--output', fifo, '--resume']);
    assert.equal(resume.code, 2);
    assert.match(resume.stderr, /--resume needs --output FILE/);
  });

  test('devices: /dev/null takes a stream, /dev/stdout is stdout, other devices are refused and left alone', () => {
    const dir = workspace();
    const toNull = igbert(['embed', '--model', MODEL, '--input', join(dir, 's.csv'), '--output', '/dev/null']);
    assert.equal(toNull.code, 0, toNull.stderr);
    const toStdout = igbert(['embed', '--model', MODEL, '--input', join(dir, 's.csv'), '--output', '/dev/stdout']);
    assert.equal(toStdout.code, 0, toStdout.stderr);
    assert.deepEqual(jsonLines(toStdout.stdout).map((r) => r.id), ['a', 'b']);
    for (const device of ['/dev/zero', '/dev/full']) {
      const run = igbert(['embed', '--model', MODEL, '--input', join(dir, 's.csv'), '--output', device, '--format', 'jsonl']);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /is a device/);
      assert.ok(lstatSync(device).isCharacterDevice());
    }
    const folder = igbert(['embed', '--model', MODEL, '--input', join(dir, 's.csv'), '--output', dir, '--format', 'jsonl']);
    assert.equal(folder.code, 2, folder.stderr);
    assert.match(folder.stderr, /is a folder/);
  });

  test('publishing never renames over a non-regular file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'done.partial'), 'rows\n');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    mkdirSync(join(dir, 'folder'));
    for (const name of ['fifo', 'folder']) {
      await assert.rejects(publishFile(join(dir, 'done.partial'), join(dir, name)), /is not a regular file/);
    }
    assert.ok(lstatSync(join(dir, 'fifo')).isFIFO());
    await publishFile(join(dir, 'done.partial'), join(dir, 'done'));
    assert.equal(readFileSync(join(dir, 'done'), 'utf8'), 'rows\n');
  });
});

describe('--resume onto a finished output, and merge, check what made the files (#13 items 3-4)', () => {
  const embed = (dir: string, output: string, ...extra: string[]) =>
    igbert(['embed', '--model', MODEL, '--input', join(dir, 's.csv'), '--output', join(dir, output), '--chunk-rows', '1', ...extra]);

  test('--resume onto a finished output compares the options as for an unfinished one', () => {
    const dir = workspace();
    assert.equal(embed(dir, 'o.jsonl').code, 0);
    const made = readFileSync(join(dir, 'o.jsonl'));
    const other = embed(dir, 'o.jsonl', '--pooling', 'cls', '--resume');
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, /cannot resume .*o\.jsonl: the run that made it had other options \(pooling: was "mean", now "cls"\)/);
    const same = embed(dir, 'o.jsonl', '--resume');
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stderr, /o\.jsonl is complete \(made with the same options\): nothing to do/);
    assert.deepEqual(readFileSync(join(dir, 'o.jsonl')), made);
  });

  test('--resume refuses an output changed since, or one no recorded run made', () => {
    const dir = workspace();
    assert.equal(embed(dir, 'o.jsonl').code, 0);
    writeFileSync(join(dir, 'o.jsonl'), 'edited\n');
    const changed = embed(dir, 'o.jsonl', '--resume');
    assert.equal(changed.code, 2, changed.stderr);
    assert.match(changed.stderr, /o\.jsonl changed since the run that made it/);
    writeFileSync(join(dir, 'mine.jsonl'), 'not ours\n');
    const unknown = embed(dir, 'mine.jsonl', '--resume');
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /there is no .*mine\.jsonl\.progress\.json saying which options made it/);
    assert.equal(readFileSync(join(dir, 'mine.jsonl'), 'utf8'), 'not ours\n');
  });

  test('merge refuses a shard given twice, shards out of order, a missing shard, another job\'s shard, a non-shard', () => {
    const dir = workspace();
    for (const k of [0, 1]) assert.equal(embed(dir, `p${k}.jsonl`, '--shard', `${k}/2`).code, 0);
    assert.equal(embed(dir, 'cls1.jsonl', '--shard', '1/2', '--pooling', 'cls').code, 0);
    assert.equal(embed(dir, 'whole.jsonl').code, 0);
    writeFileSync(join(dir, 'u1.jsonl'), readFileSync(join(dir, 'p1.jsonl')));
    const { finished: _, ...unfinished } = JSON.parse(readFileSync(join(dir, 'p1.jsonl.progress.json'), 'utf8'));
    writeFileSync(join(dir, 'u1.jsonl.progress.json'), JSON.stringify(unfinished));
    const merge = (...shards: string[]) => igbert(['merge', '--output', join(dir, 'm.jsonl'), ...shards.map((name) => join(dir, name))]);
    const cases: [string[], RegExp][] = [
      [['p0.jsonl', 'p0.jsonl'], /shard 0\/2 is given twice/],
      [['p1.jsonl', 'p0.jsonl'], /out of order: .*p1\.jsonl is shard 1\/2 but comes first; give the shards in order 0 to 1/],
      [['p0.jsonl'], /shard 1\/2 is missing: merge needs all 2 shards/],
      [['p0.jsonl', 'cls1.jsonl'], /cls1\.jsonl comes from another job than .*p0\.jsonl \(pooling: "mean" there, "cls" here\)/],
      [['whole.jsonl'], /whole\.jsonl was not made with --shard/],
      [['p0.jsonl', 'u1.jsonl'], /u1\.jsonl is unfinished: rerun that shard with --resume first/],
    ];
    for (const [shards, message] of cases) {
      const run = merge(...shards);
      assert.equal(run.code, 2, `${shards}: ${run.stderr}`);
      assert.match(run.stderr, message, shards.join(' '));
      assert.equal(existsSync(join(dir, 'm.jsonl')), false);
    }
    const good = merge('p0.jsonl', 'p1.jsonl');
    assert.equal(good.code, 0, good.stderr);
    assert.deepEqual(readFileSync(join(dir, 'm.jsonl')), readFileSync(join(dir, 'whole.jsonl')));
  });
});

describe('fail before the work: what each format can hold (#13 items 8, 10)', () => {
  const NO_MODEL = join(tempDir(), 'no-model'); // refused before the model is even looked for
  const cases: [string, string[], RegExp][] = [
    ['embed to CSV', ['embed', '--output', 'x.csv'], /CSV cannot hold column "embedding" \(a float32 vector\); write \.jsonl, \.npy or \.parquet instead/],
    ['embed --residues to NPY', ['embed', '--residues', '--output', 'x.npy'], /NPY cannot hold column "residue_embeddings" .*; write \.jsonl or \.parquet instead, or drop --residues/],
    ['score --per-residue to Parquet', ['score', '--per-residue', '--output', 's.parquet'], /Parquet cannot hold column "per_residue" \(a list of numbers of varying length\); write \.jsonl instead, or drop --per-residue/],
    ['score --per-residue to CSV', ['score', '--per-residue', '--output', 's.csv'], /CSV cannot hold column "per_residue"/],
    ['score to NPY', ['score', '--output', 's.npy'], /NPY holds one float32 vector per row, and these rows have none; write \.jsonl, \.csv or \.parquet instead/],
    ['mutate to NPY', ['mutate', '--mutations', 'H:E1A', '--output', 'm.npy'], /NPY holds one float32 vector per row/],
    ['fill to NPY', ['fill', '--mask', 'H:1', '--output', 'f.npy'], /NPY cannot hold column "designs" \(nested objects\); write \.jsonl or \.parquet instead/],
    ['fill to stdout as Parquet', ['fill', '--mask', 'H:1', '--output', '-', '--format', 'parquet'], /parquet output needs a file/],
    ['--format that contradicts the extension', ['embed', '--output', 'k.csv', '--format', 'jsonl'], /--format jsonl, but \S*k\.csv ends in \.csv \(CSV\); make them agree/],
    ['tokenize to CSV', ['tokenize', '--output', 't.csv'], /CSV cannot hold column "input_ids"/],
    ['--keep-cols naming an output column', ['fill', '--mask', 'H:1', '--output', 'f.csv', '--keep-cols', 'heavy'], /--keep-cols "heavy": the output already has a column of that name/],
  ];
  for (const [label, args, message] of cases) {
    test(`${label} → exit 2 before the model loads`, () => {
      const dir = workspace();
      const run = igbert([args[0] as string, '--model', NO_MODEL, '--input', join(dir, 's.csv'), ...args.slice(1).map((a) => (/\.\w+$/.test(a) ? join(dir, a) : a))]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.deepEqual(readdirSync(dir).sort(), ['s.csv', 's.jsonl']);
    });
  }

  test('--keep-cols id keeps the id, as documented (it is the output\'s id column)', () => {
    const run = igbert(['embed', '--model', MODEL, '--input', '-', '--output', '-', '--keep-cols', 'id,light'], CSV);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(jsonLines(run.stdout).map((r) => Object.keys(r)), [['id', 'light', 'embedding'], ['id', 'light', 'embedding']]);
  });

  test('--format agrees with the extension when both are given, and decides when the extension does not', () => {
    const dir = workspace();
    const agreeing = igbert(['embed', '--model', MODEL, '--input', join(dir, 's.csv'), '--output', join(dir, 'e.json'), '--format', 'jsonl']);
    assert.equal(agreeing.code, 0, agreeing.stderr);
    const deciding = igbert(['embed', '--model', MODEL, '--input', join(dir, 's.csv'), '--output', join(dir, 'e.out'), '--format', 'jsonl']);
    assert.equal(deciding.code, 0, deciding.stderr);
    assert.deepEqual(jsonLines(readFileSync(join(dir, 'e.out'), 'utf8')).map((r) => r.id), ['a', 'b']);
  });
});

describe('option mistakes are usage errors, row problems stay rows (#13 item 9)', () => {
  const NO_MODEL = join(tempDir(), 'no-model');
  const beforeLoading: [string, string[], RegExp][] = [
    ['mutate with neither --mutations nor a mutations column', ['mutate'], /mutate needs mutation sets: pass --mutations, or give the input a "mutations" column \(found: id, heavy, light\)/],
    ['mutate --mutations at position 0', ['mutate', '--mutations', 'H:E1A;H:E0A'], /--mutations: "H:E0A": positions are 1-based/],
  ];
  for (const [label, args, message] of beforeLoading) {
    test(`${label} → exit 2 before the model loads`, () => {
      const dir = workspace();
      const run = igbert([args[0] as string, '--model', NO_MODEL, '--input', join(dir, 's.csv'), '--output', join(dir, 'o.jsonl'), ...args.slice(1)]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.deepEqual(readdirSync(dir).sort(), ['s.csv', 's.jsonl']);
    });
  }

  const fitNoRow: [string, string[], RegExp][] = [
    ['fill --mask H:1-500', ['fill', '--mask', 'H:1-500'], /--mask H:1-500 fits no row of the input \(row 1: goes beyond the heavy chain \(5 residues\)\); nothing was processed/],
    ['mutate --scan --region H:200-210', ['mutate', '--scan', '--region', 'H:200-210'], /--region H:200-210 fits no row/],
    ['mutate --mutations H:E200A', ['mutate', '--mutations', 'H:E200A'], /--mutations H:E200A fits no row/],
    ['fill --mask L:6 (a light chain of 5, and one absent)', ['fill', '--mask', 'L:6'], /--mask L:6 fits no row of the input \(row 1: goes beyond the light chain \(5 residues\)\)/],
  ];
  for (const [label, args, message] of fitNoRow) {
    test(`${label}: beyond every row's chain → exit 2, no output written`, () => {
      const dir = workspace();
      const run = igbert([args[0] as string, '--model', MODEL, '--input', join(dir, 's.csv'), '--output', join(dir, 'o.jsonl'), ...args.slice(1)]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.deepEqual(readdirSync(dir).sort(), ['s.csv', 's.jsonl']);
    });
  }

  test('a region that fits some rows rejects only the others (exit 3)', () => {
    const dir = workspace();
    const run = igbert(['fill', '--model', MODEL, '--input', join(dir, 's.csv'), '--output', join(dir, 'o.jsonl'), '--mask', 'H:5']);
    assert.equal(run.code, 3, run.stderr);
    assert.deepEqual(jsonLines(readFileSync(join(dir, 'o.jsonl'), 'utf8')).map((r) => r.id), ['a']);
    const [error] = jsonLines(readFileSync(join(dir, 'o.jsonl.errors.jsonl'), 'utf8'));
    assert.equal(error.row, 2);
    assert.match(error.error, /--mask H:5 goes beyond the heavy chain \(4 residues\)/);
  });

  test('--strict with stdin is refused (it reads the input twice; stdin would give no rows the second time)', () => {
    const run = igbert(['embed', '--model', MODEL, '--input', '-', '--output', '-', '--strict'], CSV);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--strict needs --input FILE/);
  });
});

describe('good rows are never lost: damaged CSV (#13 item 6)', () => {
  test('an unclosed quote on line 3 of 4: the row before it is processed; the message names the line it opened on', () => {
    const dir = workspace();
    writeFileSync(join(dir, 'q.csv'), 'id,heavy,light\na,EVQLV,DIQMT\nb,"QVQL,\nc,EVQ,DIQ\n');
    const run = igbert(['embed', '--model', MODEL, '--input', join(dir, 'q.csv'), '--output', join(dir, 'q.jsonl')]);
    assert.equal(run.code, 3, run.stderr);
    assert.deepEqual(jsonLines(readFileSync(join(dir, 'q.jsonl'), 'utf8')).map((r) => r.id), ['a']);
    const errors = jsonLines(readFileSync(join(dir, 'q.jsonl.errors.jsonl'), 'utf8'));
    assert.equal(errors.length, 1);
    assert.equal(errors[0].row, 2);
    assert.match(errors[0].error, /^row 2 \(from line 3\) opens a quote that is never closed, so the rest of the file \(lines 3-4\) reads as one field/);
  });

  test('a stray quote inside a field rejects that row only; the rows after it are processed', () => {
    const dir = workspace();
    writeFileSync(join(dir, 'q.csv'), 'id,heavy,light\na,EV"QLV,DIQMT\nb,QVQL,\nc,EVQ,DIQ\n');
    const run = igbert(['embed', '--model', MODEL, '--input', join(dir, 'q.csv'), '--output', join(dir, 'q.jsonl')]);
    assert.equal(run.code, 3, run.stderr);
    assert.deepEqual(jsonLines(readFileSync(join(dir, 'q.jsonl'), 'utf8')).map((r) => r.id), ['b', 'c']);
    const [error] = jsonLines(readFileSync(join(dir, 'q.jsonl.errors.jsonl'), 'utf8'));
    assert.equal(error.row, 1);
    assert.match(error.error, /^row 1 \(line 2\) has a quote inside a field/);
  });

  test('binary garbage as CSV: a short message with an escaped excerpt, never raw bytes (#13 item 13)', () => {
    let state = 7;
    const garbage = Buffer.from(Array.from({ length: 400 }, () => ((state = (state * 1103515245 + 12345) >>> 0) >>> 16) & 0xff));
    for (const input of [garbage, Buffer.concat([Buffer.from('id,heavy\na,EVQL\n'), garbage])]) {
      const run = igbert(['embed', '--model', MODEL, '--input', '-', '--output', '-'], input);
      assert.notEqual(run.code, 0, run.stderr);
      for (const line of run.stderr.trimEnd().split('\n')) {
        assert.doesNotMatch(line, /[\p{C}\uFFFD]/u, `no control characters, no undecodable bytes: ${JSON.stringify(line)}`);
        assert.ok(line.length < 300, `short: ${line.length} characters`);
      }
    }
  });
});

describe('good rows are never lost: a row too long for memory (#13 item 5)', () => {
  test('--max-residues N rejects longer rows into the errors file with the reason, before any model work', () => {
    const run = igbert(['embed', '--model', MODEL, '--input', '-', '--output', '-', '--max-residues', '9'], CSV);
    assert.equal(run.code, 3, run.stderr);
    assert.deepEqual(jsonLines(run.stdout).map((r) => r.id), ['b']);
    assert.match(run.stderr, /rejected row 1: record 1 \(id "a"\) has 10 residues, more than --max-residues 9: longer rows may not fit in memory; raise --max-residues to try anyway\./);
    const zero = igbert(['score', '--model', MODEL, '--input', '-', '--output', '-', '--max-residues', '0'], CSV);
    assert.equal(zero.code, 2, zero.stderr);
    assert.match(zero.stderr, /--max-residues must be an integer of at least 1/);
  });
});

describe('good rows are never lost: closed pipes and full disks (#13 item 7)', () => {
  test('a reader that closes stdout early (| head -c 10): quiet, exit 0, as Unix tools end', () => {
    const dir = workspace();
    const rows = Array.from({ length: 40 }, (_, i) => `r${i},${'EVQLVESGGG'.repeat(10)},`).join('\n');
    writeFileSync(join(dir, 'big.csv'), `id,heavy,light\n${rows}\n`);
    const script =
      `"${process.execPath}" "${BIN}" embed --model "${MODEL}" --input "${join(dir, 'big.csv')}" --output - --residues --chunk-rows 4 ` +
      `2> "${join(dir, 'stderr')}" | head -c 10 > /dev/null; echo "\${PIPESTATUS[0]}"`;
    const run = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    assert.equal(run.stdout.trim(), '0', readFileSync(join(dir, 'stderr'), 'utf8'));
    assert.equal(readFileSync(join(dir, 'stderr'), 'utf8'), '');
  });

  test('help and version text read through | head: quiet, exit 0 (was an unhandled EPIPE with a stack trace)', () => {
    const dir = workspace();
    for (const args of [['tokenize', '--help'], ['embed', '--help'], ['--help'], ['--version']]) {
      // The reader closes the pipe at once (as `| head -1` does after its line): node's write of the text then fails
      // with EPIPE, asynchronously.
      const script = `"${process.execPath}" "${BIN}" ${args.join(' ')} 2> "${join(dir, 'stderr')}" | (exec 0<&-; true); echo "\${PIPESTATUS[0]}"`;
      const run = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
      assert.equal(run.stdout.trim(), '0', `${args.join(' ')}: ${readFileSync(join(dir, 'stderr'), 'utf8')}`);
      assert.equal(readFileSync(join(dir, 'stderr'), 'utf8'), '', args.join(' '));
    }
  });

  test('a full disk: a clear error, the committed rows kept, and --resume finishes the same output', () => {
    const dir = workspace();
    const input = join(dir, 'in.csv');
    writeFileSync(input, 'id,heavy,light\na,EVQLV,DIQMT\nb,QVQL,\nc,EV1L,\nd,EVQ,DIQ\n');
    const args = (output: string) => ['embed', '--model', MODEL, '--input', input, '--output', output, '--chunk-rows', '2'];
    assert.equal(igbert(args(join(dir, 'whole.jsonl'))).code, 3);
    // The error log of chunk 2 (row 3 is bad) lands on /dev/full: ENOSPC after chunk 1 was committed.
    const out = join(dir, 'o.jsonl');
    symlinkSync('/dev/full', `${out}.errors.jsonl.partial`);
    const full = igbert(args(out));
    assert.equal(full.code, 1, full.stderr);
    assert.match(full.stderr, /igbert: error: cannot write .*o\.jsonl\.errors\.jsonl: no space left on the device; free some space/);
    assert.match(full.stderr, /stopped after 2 committed rows; run the same command with --resume to continue from there/);
    assert.doesNotMatch(full.stderr, /internal error|    at /);
    assert.equal(JSON.parse(readFileSync(`${out}.progress.json`, 'utf8')).rowsDone, 2);
    rmSync(`${out}.errors.jsonl.partial`);
    const resumed = igbert([...args(out), '--resume']);
    assert.equal(resumed.code, 3, resumed.stderr);
    assert.deepEqual(readFileSync(out), readFileSync(join(dir, 'whole.jsonl')));
    assert.deepEqual(readFileSync(`${out}.errors.jsonl`), readFileSync(join(dir, 'whole.jsonl.errors.jsonl')));
  });
});

describe('one error style (#13 item 13)', () => {
  const commanderErrors: [string, string[], RegExp][] = [
    ['a missing required option', ['embed', '--model', MODEL, '--output', 'x.jsonl'], /^igbert: error: required option '--input <file>' not specified \(see igbert embed --help\)\n$/],
    ['an unknown option', ['score', '--input', '-', '--output', '-', '--nope'], /^igbert: error: unknown option '--nope' \(see igbert score --help\)\n$/],
    ['an unknown command', ['embedd'], /^igbert: error: unknown command 'embedd'/],
    ['a subcommand of probe', ['probe', 'fit', '--model', MODEL], /^igbert: error: required option .* \(see igbert probe fit --help\)\n$/],
  ];
  for (const [label, args, message] of commanderErrors) {
    test(`commander's own errors read like ours: ${label} → exit 2`, () => {
      const run = igbert(args);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    });
  }

  test('every seed option has one rule and one message: 0 to 2^32-1', () => {
    const seedRuns: string[][] = [
      ['fill', '--model', MODEL, '--input', '-', '--output', '-', '--seed'],
      ['init', '--random', '--output', join(tempDir(), 'm'), '--seed'],
      ['probe', 'fit', '--model', MODEL, '--input', 'x.csv', '--target', 't', '--output', 'h.json', '--seed'],
    ];
    for (const args of seedRuns) {
      for (const seed of ['-1', '-5', '99999999999999999999', '4294967296', '1.5', 'abc']) {
        const run = igbert([...args, seed], CSV);
        assert.equal(run.code, 2, `${args[0]} --seed ${seed}: ${run.stderr}`);
        assert.equal(run.stderr, `igbert: error: --seed must be an integer from 0 to 4294967295; got ${JSON.stringify(seed)}.\n`);
      }
    }
  });

  test('rejected rows of a stdout run are "listed above", not "see (stderr)"', () => {
    const run = igbert(['embed', '--model', MODEL, '--input', '-', '--output', '-'], 'id,heavy\nok,EVQL\nbad,EV1QL\n');
    assert.equal(run.code, 3, run.stderr);
    assert.doesNotMatch(run.stderr, /\(stderr\)/);
    assert.match(run.stderr, /rejected row 2: .*\nigbert: 1 row\(s\) rejected \(listed above\); all other rows were processed\.\n$/);
  });

  test('a gap names the option that removes it, without "the CLI has"', () => {
    const run = igbert(['embed', '--model', MODEL, '--input', '-', '--output', '-'], 'id,heavy\ng,EV-QL\n');
    assert.equal(run.code, 3, run.stderr);
    assert.doesNotMatch(run.stderr, /the CLI has/);
    assert.match(run.stderr, /character "-" is not allowed: gaps are not residues.*; pass --strip-gaps to remove them\./);
  });

  test('int8 speed is worded as in the README (~2.8x)', () => {
    for (const command of ['embed', 'score', 'mutate', 'fill']) {
      const help = igbert([command, '--help']).stdout;
      assert.match(help, /~2\.8x faster on CPU/, command);
      assert.doesNotMatch(help, /~3x/, command);
    }
  });
});
