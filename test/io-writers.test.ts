/**
 * Result writers: each format written, resumed from a checkpoint after garbage was appended (as by a killed run),
 * merged from shards — always byte-identical to one straight write — and read back with independent readers
 * (hyparquet and our own NPY parser here; pyarrow, pandas and numpy when a Python has them).
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import { mergeOutputs } from '../src/io/merge.js';
import { partialPath } from '../src/io/partialFile.js';
import { addRow, parquetLayout, writeParquetFile, type ParquetColumn } from '../src/io/parquetTable.js';
import { npyIdsPath, openResultWriter, OUTPUT_FORMATS, type ResultRow, type WriterCheckpoint } from '../src/io/resultWriter.js';
import { NO_PYTHON, python, PYTHON, readNpy, tempDir } from './pipeline-helpers.js';

const WIDTH = 5;
const vector = (i: number): Float32Array => Float32Array.from({ length: WIDTH }, (_, j) => Math.fround(Math.sin(i * 7 + j) * 3.3));
const embeddingRows = (n: number): ResultRow[] =>
  Array.from({ length: n }, (_, i) => ({ id: `ab${i}`, kept: i % 3 ? `k${i}` : '', embedding: vector(i) }));
const scalarRows = (n: number): ResultRow[] =>
  Array.from({ length: n }, (_, i) => ({ id: `ab,${i}`, score: i % 2 ? i * 0.25 : i, note: i % 4 ? null : 'q"uote' }));
const residueRows = (n: number): ResultRow[] =>
  Array.from({ length: n }, (_, i) => ({ id: `r${i}`, embedding: vector(i), residue_embeddings: [vector(i + 1), vector(i + 2)], flags: { i } }));

/** Which rows each format can hold. */
const ROWS: Record<(typeof OUTPUT_FORMATS)[number], (n: number) => ResultRow[]> = {
  jsonl: residueRows,
  csv: scalarRows,
  npy: embeddingRows,
  parquet: residueRows,
};

async function writeAll(path: string, rows: ResultRow[]): Promise<void> {
  const writer = await openResultWriter(path);
  for (const row of rows) await writer.write(row);
  await writer.finish();
}

/** Writes `rows` as a run killed after committing `at` rows and resumed would: garbage after the commit included. */
async function writeInterrupted(path: string, rows: ResultRow[], at: number): Promise<void> {
  let writer = await openResultWriter(path);
  for (const row of rows.slice(0, at)) await writer.write(row);
  const checkpoint: WriterCheckpoint = JSON.parse(JSON.stringify(await writer.commit()));
  for (const row of rows.slice(at, at + 2)) await writer.write(row); // written but never committed
  await writer.commit();
  await writer.abandon(false);
  appendFileSync(partialPath(path), 'half a row');
  writer = await openResultWriter(path, undefined, checkpoint);
  for (const row of rows.slice(at)) await writer.write(row);
  await writer.finish();
}

const filesOf = (path: string): string[] => (path.endsWith('.npy') ? [path, npyIdsPath(path)] : [path]);

describe('writers: resume and merge are byte-identical to one straight write', () => {
  for (const format of OUTPUT_FORMATS) {
    test(format, async () => {
      const dir = tempDir();
      const rows = ROWS[format](23);
      const straight = join(dir, `straight.${format}`);
      await writeAll(straight, rows);
      assert.equal(existsSync(partialPath(straight)), false);

      const resumed = join(dir, `resumed.${format}`);
      await writeInterrupted(resumed, rows, 9);
      filesOf(straight).forEach((file, i) => assert.deepEqual(readFileSync(filesOf(resumed)[i]!), readFileSync(file), file));

      // Shards of 0, 10, 13 rows (an empty shard included), merged in order.
      const parts = [rows.slice(0, 0), rows.slice(0, 10), rows.slice(10)].map((_, k) => join(dir, `part-${k}.${format}`));
      await writeAll(parts[0]!, []);
      await writeAll(parts[1]!, rows.slice(0, 10));
      await writeAll(parts[2]!, rows.slice(10));
      const merged = join(dir, `merged.${format}`);
      await mergeOutputs(merged, parts);
      filesOf(straight).forEach((file, i) => assert.deepEqual(readFileSync(filesOf(merged)[i]!), readFileSync(file), `merged ${file}`));
    });
  }
});

describe('what the files hold', () => {
  test('NPY: our header parser reads the matrix; the ids file holds the other columns', async () => {
    const path = join(tempDir(), 'e.npy');
    const rows = embeddingRows(7);
    await writeAll(path, rows);
    const { shape, data } = readNpy(path);
    assert.deepEqual(shape, [7, WIDTH]);
    rows.forEach((row, i) => assert.deepEqual(data.subarray(i * WIDTH, (i + 1) * WIDTH), row['embedding']));
    assert.equal(readFileSync(npyIdsPath(path), 'utf8').split('\n')[0], 'id,kept');
  });

  test('Parquet: hyparquet reads every value back; fixed-size vectors, lists of vectors, int64, double, JSON text', async () => {
    const path = join(tempDir(), 'r.parquet');
    const rows: ResultRow[] = residueRows(3).map((row, i) => ({ ...row, n: i, x: i + 0.5, ok: i % 2 === 0, maybe: i === 1 ? null : 'y' }));
    await writeAll(path, rows);
    const file = await asyncBufferFromFile(path);
    const metadata = await parquetMetadataAsync(file);
    assert.ok(metadata.key_value_metadata?.some((kv) => kv.key === 'ARROW:schema'));
    const back = await parquetReadObjects({ file });
    back.forEach((row, i) => {
      const expected = rows[i]!;
      assert.equal(row['id'], expected['id']);
      assert.deepEqual(Float32Array.from(row['embedding']), expected['embedding']);
      assert.deepEqual(row['residue_embeddings'].map((v: number[]) => Float32Array.from(v)), expected['residue_embeddings']);
      assert.equal(row['flags'], JSON.stringify({ i }));
      assert.deepEqual([Number(row['n']), row['x'], row['ok'], row['maybe']], [expected['n'], expected['x'], expected['ok'], expected['maybe']]);
    });
  });

  test('pyarrow and pandas read Parquet (fixed_size_list<float>[H]) and NPY like our readers', { skip: PYTHON ? false : NO_PYTHON }, async () => {
    const dir = tempDir();
    const rows = residueRows(4);
    await writeAll(join(dir, 'r.parquet'), rows);
    await writeAll(join(dir, 'e.npy'), embeddingRows(4));
    const result = python(
      `
import sys, json, numpy as np, pandas as pd, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
m = np.load(sys.argv[2])
ids = pd.read_csv(sys.argv[3], keep_default_na=False)
df = pd.read_parquet(sys.argv[1])
print(json.dumps({
  "types": {f.name: str(f.type) for f in t.schema},
  "embedding": t.column("embedding").to_pylist(),
  "residues": t.column("residue_embeddings").to_pylist(),
  "npy": m.tolist(), "npy_dtype": str(m.dtype), "ids": ids["id"].tolist(), "pandas_rows": len(df),
}))`,
      [join(dir, 'r.parquet'), join(dir, 'e.npy'), npyIdsPath(join(dir, 'e.npy'))],
    );
    assert.deepEqual(result.types, {
      id: 'string',
      embedding: `fixed_size_list<element: float>[${WIDTH}]`,
      residue_embeddings: `list<element: fixed_size_list<element: float>[${WIDTH}]>`,
      flags: 'string',
    });
    result.embedding.forEach((v: number[], i: number) => assert.deepEqual(Float32Array.from(v), rows[i]!['embedding']));
    assert.deepEqual(result.residues[0].map((v: number[]) => Float32Array.from(v)), rows[0]!['residue_embeddings']);
    assert.equal(result.npy_dtype, 'float32');
    result.npy.forEach((v: number[], i: number) => assert.deepEqual(Float32Array.from(v), vector(i)));
    assert.deepEqual(result.ids, ['ab0', 'ab1', 'ab2', 'ab3']);
    assert.equal(result.pandas_rows, 4);
  });
});

describe('Parquet vector columns are shredded directly, to the same bytes as hyparquet-writer\'s generic path', () => {
  /** The file hyparquet-writer's own `write` makes of these rows: one row group per entry of `groups` (row counts). */
  function stockParquet(path: string, columns: ParquetColumn[], stored: unknown[][], groups: number[]): void {
    const writer = new ParquetWriter({ writer: fileWriter(path), ...parquetLayout(columns), createdBy: 'igbert' });
    const generic = (value: unknown): unknown =>
      typeof value === 'number' && Number.isSafeInteger(value)
        ? BigInt(value)
        : value instanceof Float32Array
          ? Array.from(value)
          : Array.isArray(value)
            ? value.map(generic)
            : value;
    let start = 0;
    for (const size of groups) {
      const group = stored.slice(start, (start += size));
      const columnData = columns.map((column, i) => ({
        name: column.name,
        data: group.map((row) => (column.kind === 'double' ? row[i] : generic(row[i]))),
        statistics: column.kind !== 'vector' && column.kind !== 'vectors',
      }));
      writer.write({ columnData, rowGroupSize: size });
    }
    writer.finish();
  }

  async function check(rows: ResultRow[], groups: number[]): Promise<string> {
    const dir = tempDir();
    const columns: ParquetColumn[] = [];
    const stored = rows.map((row, i) => addRow(columns, row, i + 1));
    const fast = join(dir, 'fast.parquet');
    await writeParquetFile(fast, columns, (async function* () { yield* stored; })());
    stockParquet(join(dir, 'stock.parquet'), columns, stored, groups);
    assert.deepEqual(readFileSync(fast), readFileSync(join(dir, 'stock.parquet')));
    return fast;
  }

  test('1,024-wide embeddings over two row groups and several pages, with scalars and nulls', async () => {
    const wide = (i: number): Float32Array => Float32Array.from({ length: 1024 }, (_, j) => Math.fround(Math.sin(i * 1031 + j) * 2.7));
    const rows = Array.from({ length: 1030 }, (_, i) => ({ id: `ab${i}`, note: i % 7 ? null : 'n', n: i, x: i + 0.5, ok: i % 2 === 0, embedding: wide(i) }));
    const path = await check(rows, [1024, 6]);
    const back = await parquetReadObjects({ file: await asyncBufferFromFile(path), rowStart: 1020, rowEnd: 1030 });
    back.forEach((row, k) => assert.deepEqual(Float32Array.from(row['embedding']), rows[1020 + k]!.embedding));
  });

  test('lists of vectors (residue embeddings), one of them a single vector; NaN and infinities kept', async () => {
    const rows: ResultRow[] = residueRows(9).map((row, i) => ({ ...row, residue_embeddings: i === 3 ? [vector(50)] : row['residue_embeddings'] }));
    (rows[2]!['embedding'] as Float32Array).set([NaN, Infinity, -Infinity, -0]);
    const path = await check(rows, [9]);
    const back = await parquetReadObjects({ file: await asyncBufferFromFile(path) });
    back.forEach((row, i) => {
      assert.deepEqual(Float32Array.from(row['embedding']), rows[i]!['embedding']);
      assert.deepEqual(row['residue_embeddings'].map((v: number[]) => Float32Array.from(v)), rows[i]!['residue_embeddings']);
    });
  });

  for (const width of [1, 8, 9, 300]) {
    test(`vectors and lists of 1-3 vectors ${width} wide: level runs across rows, pages split inside lists`, async () => {
      // No value repeats (repeating ones would make hyparquet-writer choose a dictionary).
      const at = (i: number): Float32Array => Float32Array.from({ length: width }, (_, j) => Math.fround(Math.cos(i * 331 + j)));
      const rows: ResultRow[] = Array.from({ length: 500 }, (_, i) => ({
        id: `r${i}`,
        embedding: at(4 * i),
        residue_embeddings: Array.from({ length: 1 + (i % 3) }, (_, k) => at(4 * i + k + 1)),
      }));
      await check(rows, [500]);
    });
  }

  test('rows outside the pattern (an empty list of vectors) take the generic path, still the same bytes', async () => {
    const rows: ResultRow[] = residueRows(4).map((row, i) => ({ ...row, residue_embeddings: i === 1 ? [] : row['residue_embeddings'] }));
    await check(rows, [4]);
  });
});

describe('Parquet row groups are written as rows come: the same bytes as a file assembled at the end', () => {
  const wide = (i: number): Float32Array => Float32Array.from({ length: 1024 }, (_, j) => Math.fround(Math.cos(i * 977 + j)));
  const cases: [string, (i: number) => number][] = [
    ['column types stable', (i) => i],
    ['a column widened from int to double after the first group', (i) => (i < 1500 ? i : i + 0.5)],
  ];
  for (const [label, score] of cases) {
    test(label, async () => {
      const dir = tempDir();
      const rows: ResultRow[] = Array.from({ length: 2100 }, (_, i) => ({ id: `ab${i}`, score: score(i), embedding: wide(i) }));
      await writeAll(join(dir, 'straight.parquet'), rows);
      assert.equal(existsSync(join(dir, 'straight.parquet.assembling')), false);
      await writeInterrupted(join(dir, 'resumed.parquet'), rows, 1100); // resumed: assembled from the spool at the end
      assert.deepEqual(readFileSync(join(dir, 'straight.parquet')), readFileSync(join(dir, 'resumed.parquet')));
      const file = await asyncBufferFromFile(join(dir, 'straight.parquet'));
      assert.equal((await parquetMetadataAsync(file)).row_groups.length, 3);
      const back = await parquetReadObjects({ file, rowStart: 2090 });
      back.forEach((row, k) => {
        assert.equal(Number(row['score']), score(2090 + k));
        assert.deepEqual(Float32Array.from(row['embedding']), wide(2090 + k));
      });
    });
  }
});

describe('refusals', () => {
  const cases: [string, string, ResultRow[], RegExp][] = [
    ['CSV with an array', 'a.csv', [{ id: 'a', embedding: vector(0) }], /CSV cannot hold/],
    ['CSV row with a new column', 'b.csv', [{ id: 'a' }, { id: 'b', extra: 1 }], /column "extra" that the first row did not have/],
    ['NPY without a vector', 'c.npy', [{ id: 'a', score: 1 }], /no vector columns/],
    ['NPY with two vectors', 'd.npy', [{ id: 'a', x: vector(0), y: vector(1) }], /2 vector columns/],
    ['NPY with another width', 'e.npy', [{ id: 'a', x: vector(0) }, { id: 'b', x: new Float32Array(2) }], /not a vector of 5 values/],
    ['Parquet with mixed types', 'f.parquet', [{ id: 'a', v: 1 }, { id: 'b', v: 'x' }], /holds both int and string/],
  ];
  for (const [label, name, rows, message] of cases) {
    test(label, async () => {
      const path = join(tempDir(), name);
      const writer = await openResultWriter(path);
      await assert.rejects(async () => {
        for (const row of rows) await writer.write(row);
      }, message);
      await writer.abandon(true);
      assert.equal(existsSync(partialPath(path)), false);
    });
  }
  test('NPY and Parquet need a file; unknown extensions need --format', async () => {
    await assert.rejects(openResultWriter('-', 'npy'), /needs a file/);
    await assert.rejects(openResultWriter('x.txt'), /cannot tell the output format/);
  });
});
