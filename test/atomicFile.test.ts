/** writeFileAtomically (src/io/atomicFile.ts): the one way igbert replaces a file in place. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { removeStaleTemporaries, writeFileAtomically } from '../src/io/atomicFile.js';
import { startPoint } from '../src/cli/pipeline/resume.js';
import { ROOT } from './helpers.js';

describe('writeFileAtomically', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'igbert-atomic-'));
  after(() => rm(dir, { recursive: true, force: true }));

  test('writes a string, bytes or chunks, replacing what was there, and leaves nothing else behind', async () => {
    const path = join(dir, 'a.json');
    await writeFileAtomically(path, '{"v":1}');
    assert.equal(await readFile(path, 'utf8'), '{"v":1}');
    await writeFileAtomically(path, new TextEncoder().encode('second'), { durable: true });
    assert.equal(await readFile(path, 'utf8'), 'second');
    function* chunks(): Generator<Uint8Array> {
      yield new Uint8Array([1, 2]);
      yield new Uint8Array(0);
      yield new Uint8Array([3]);
    }
    await writeFileAtomically(path, chunks());
    assert.deepEqual([...(await readFile(path))], [1, 2, 3]);
    assert.deepEqual(await readdir(dir), ['a.json']);
  });

  test('a failed write keeps the old file whole and removes its temporary file', async () => {
    const path = join(dir, 'keep.bin');
    await writeFile(path, 'old content');
    function* failing(): Generator<Uint8Array> {
      yield new TextEncoder().encode('half of the new');
      throw new Error('the producer failed');
    }
    await assert.rejects(writeFileAtomically(path, failing(), { durable: true }), /the producer failed/);
    assert.equal(await readFile(path, 'utf8'), 'old content');
    assert.deepEqual((await readdir(dir)).filter((name) => name.includes('keep')), ['keep.bin']);
  });

  test('a target that cannot be replaced (a folder) fails with the rename error and leaves no temporary file', async () => {
    const path = join(dir, 'folder');
    await mkdir(join(path, 'inside'), { recursive: true });
    await assert.rejects(writeFileAtomically(path, 'x'), (error: NodeJS.ErrnoException) => ['EISDIR', 'ENOTEMPTY', 'EEXIST', 'EPERM'].includes(error.code ?? ''));
    assert.deepEqual((await readdir(dir)).filter((name) => name.includes('folder')), ['folder']);
  });

  test('a missing folder fails before anything is written', async () => {
    await assert.rejects(writeFileAtomically(join(dir, 'no', 'such', 'file'), 'x'), { code: 'ENOENT' });
  });

  test('the temporary file of a writer killed mid-write is removed afterwards; a live writer\'s is left alone', async () => {
    const output = join(dir, 'job.jsonl');
    const progress = `${output}.progress.json`;
    // A real writer: a process that starts writing the progress file and never finishes, then is killed.
    const atomicFile = pathToFileURL(join(ROOT, 'src', 'io', 'atomicFile.ts')).href;
    const script = `const { writeFileAtomically } = await import(${JSON.stringify(atomicFile)});
      function* hang() { yield new TextEncoder().encode('{"half":'); console.log('writing'); while (true) {} }
      await writeFileAtomically(${JSON.stringify(progress)}, hang());`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await once(child.stdout, 'data');
    child.kill('SIGKILL');
    await once(child, 'exit');
    const killed = (await readdir(dir)).filter((name) => name.startsWith('.job.jsonl.progress.json.'));
    assert.equal(killed.length, 1, 'the killed writer left its temporary file');
    assert.match(killed[0] as string, new RegExp(`^\\.job\\.jsonl\\.progress\\.json\\.${child.pid}\\.\\d+\\.[a-z0-9]*\\.tmp$`));
    // A write in flight in this (live) process, and files that only look alike: kept.
    const live = `.job.jsonl.progress.json.${process.pid}.1.abc.tmp`;
    const userFiles = ['.job.jsonl.progress.json.backup.tmp', 'job.jsonl', '.job.jsonl.progress.json.tmp.keep'];
    for (const name of [live, ...userFiles]) await writeFile(join(dir, name), 'x');
    await writeFile(progress, '{}');
    assert.deepEqual(await startPoint(output, false, {}, null, () => undefined), {}, 'a fresh start');
    const left = (await readdir(dir)).filter((name) => name.includes('job.jsonl')).sort();
    assert.deepEqual(left, [live, ...userFiles].sort());
    assert.deepEqual(await removeStaleTemporaries(progress), [], 'nothing stale is left');
  });
});
