/** writeFileAtomically (src/io/atomicFile.ts): the one way igbert replaces a file in place. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { writeFileAtomically } from '../src/io/atomicFile.js';

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
});
