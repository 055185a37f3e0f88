/**
 * One NPY writer and one CSV writer for Node and the web page (#16): the page's downloads and the CLI's files come
 * from the same isomorphic modules (src/io/npy.ts, src/io/csv.ts), byte for byte, with the typed errors.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { UsageError } from '../src/errors.js';
import { csvText, CsvTable } from '../src/io/csv.js';
import { npyBytes, npyHeader, parseNpyHeader } from '../src/io/npy.js';
import { openResultWriter, npyIdsPath } from '../src/io/resultWriter.js';
import { ROOT } from './helpers.js';
import { readNpy, tempDir } from './pipeline-helpers.js';

const vectors = [Float32Array.of(1, -2.5, 3), Float32Array.of(0.1, 0, -0)];

describe('shared writers', () => {
  test('NPY: the page\'s bytes are the CLI writer\'s file, and numpy\'s header rules hold', async () => {
    const path = join(tempDir(), 'e.npy');
    const writer = await openResultWriter(path);
    for (const [i, embedding] of vectors.entries()) await writer.write({ id: `a${i}`, embedding });
    await writer.finish();
    const page = npyBytes(vectors, 3);
    assert.deepEqual(Buffer.from(page), readFileSync(path));
    const { shape, data } = readNpy(path);
    assert.deepEqual(shape, [2, 3]);
    assert.deepEqual(data, Float32Array.of(...vectors[0]!, ...vectors[1]!));
    assert.deepEqual(parseNpyHeader(npyHeader(7, 1024), 'x.npy'), { rows: 7, width: 1024 });
    assert.throws(() => npyBytes([Float32Array.of(1, 2)], 3), (e: unknown) => e instanceof UsageError && /row 1 has 2 values, not 3/.test(e.message));
    assert.throws(() => parseNpyHeader(new Uint8Array(128), 'bad.npy'), (e: unknown) => e instanceof UsageError && /not an NPY float32 matrix/.test(e.message));
  });

  test('CSV: one quoting rule; the page\'s text is the CLI writer\'s file; arrays are refused with a typed error', async () => {
    const rows = [
      { id: 'a,1', note: 'say "hi"', score: 0.5, missing: null },
      { id: 'b\nc', note: '', score: Number.NaN, missing: 'x' },
    ];
    const path = join(tempDir(), 's.csv');
    const writer = await openResultWriter(path);
    for (const row of rows) await writer.write(row);
    await writer.finish();
    const expected = 'id,note,score,missing\n"a,1","say ""hi""",0.5,\n"b\nc",,,x\n';
    assert.equal(readFileSync(path, 'utf8'), expected);
    assert.equal(csvText(['id', 'note', 'score', 'missing'], rows.map((row) => Object.values(row) as (string | number | null)[])), expected);
    const table = new CsvTable();
    assert.throws(() => table.row({ id: 'a', embedding: [1, 2] }), (e: unknown) => e instanceof UsageError && /CSV cannot hold/.test(e.message));
    assert.equal(npyIdsPath('x.npy'), 'x.ids.csv');
  });

  test('web/lib/files.ts keeps no writer of its own', () => {
    const source = readFileSync(join(ROOT, 'web', 'lib', 'files.ts'), 'utf8');
    assert.doesNotMatch(source, /function (csvText|npyBytes)|NUMPY|replaceAll\('"'/);
    assert.doesNotMatch(source, /new Error\(/, 'typed errors only');
  });
});
