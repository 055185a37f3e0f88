/** Input readers: CSV/TSV/FASTA/JSONL, gzip, column detection, extra columns, rows rejected by the reader itself. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FileError, UsageError } from '../src/errors.js';
import { inputFormat, readRecords, type NumberedRecord, type ReadOptions } from '../src/io/readRecords.js';

const dir = mkdtempSync(join(tmpdir(), 'igbert-io-'));
let fileCount = 0;
function file(name: string, content: string | Buffer): string {
  const path = join(dir, `${fileCount++}-${name}`);
  writeFileSync(path, content);
  return path;
}

async function read(path: string, options: ReadOptions = {}): Promise<NumberedRecord[]> {
  const rows: NumberedRecord[] = [];
  for await (const row of readRecords(path, options)) rows.push(row);
  return rows;
}

const summary = (rows: NumberedRecord[]) =>
  rows.map((r) => (r.invalid ? { row: r.row, invalid: r.invalid.message } : { row: r.row, ...r.record }));

describe('CSV and TSV', () => {
  test('default columns, extra columns as text, 1-based rows after the header', async () => {
    const rows = await read(file('a.csv', 'id,heavy,light,mutations,kd\nm1,EVQL,DIQM,H1A,0.5\nm2,QVQ,,,\n'));
    assert.deepEqual(summary(rows), [
      { row: 1, id: 'm1', heavy: 'EVQL', light: 'DIQM' },
      { row: 2, id: 'm2', heavy: 'QVQ', light: '' },
    ]);
    assert.deepEqual(rows[0]!.extra, { mutations: 'H1A', kd: '0.5' });
    assert.deepEqual(rows[1]!.extra, { mutations: '', kd: '' });
  });

  const headerCases: [string, string, Record<string, string | undefined>][] = [
    ['OAS paired', 'sequence_id_heavy,sequence_alignment_aa_heavy,sequence_alignment_aa_light', { id: 'sequence_id_heavy', heavy: 'sequence_alignment_aa_heavy', light: 'sequence_alignment_aa_light' }],
    ['VH/VL', 'name,VH,VL', { id: 'name', heavy: 'VH', light: 'VL' }],
    ['HC/LC', 'ID,HC,LC', { id: 'ID', heavy: 'HC', light: 'LC' }],
    ['heavy_chain/light_chain', 'sequence_id,heavy_chain,light_chain', { id: 'sequence_id', heavy: 'heavy_chain', light: 'light_chain' }],
    ['heavy only, no id', 'Heavy', { id: undefined, heavy: 'Heavy', light: undefined }],
  ];
  for (const [label, header, expected] of headerCases) {
    test(`column detection: ${label}`, async () => {
      let seen: Record<string, string | undefined> | undefined;
      const values = header.split(',').map((_, i) => ['x', 'EVQL', 'DIQ'][i]).join(',');
      const rows = await read(file('h.csv', `${header}\n${values}\n`), { onColumns: (c) => (seen = { ...c }) });
      assert.deepEqual({ id: seen?.id, heavy: seen?.heavy, light: seen?.light }, expected);
      assert.equal(rows[0]!.record.heavy, header.split(',').length > 1 ? 'EVQL' : 'x');
    });
  }

  test('--heavy-col / --light-col / --id-col choose the columns; the others become extra', async () => {
    const rows = await read(file('c.csv', 'a,b,c,heavy\n1,EVQL,DIQ,XXXX\n'), { columns: { id: 'a', heavy: 'b', light: 'c' } });
    assert.deepEqual(rows[0]!.record, { id: '1', heavy: 'EVQL', light: 'DIQ' });
    assert.deepEqual(rows[0]!.extra, { heavy: 'XXXX' });
  });

  const usageCases: [string, string, ReadOptions, RegExp][] = [
    ['no chain column', 'id,seq\n1,EVQL\n', {}, /no chain column found/],
    ['named column missing', 'id,heavy\n1,EVQL\n', { columns: { light: 'VL' } }, /--light-col "VL" is not a column/],
    ['duplicate header', 'id,heavy,heavy\n1,A,B\n', {}, /names column "heavy" twice/],
    ['empty file', '', {}, /is empty/],
  ];
  for (const [label, content, options, message] of usageCases) {
    test(`usage error: ${label}`, async () => {
      await assert.rejects(read(file('u.csv', content), options), (e: unknown) => e instanceof UsageError && message.test(e.message));
    });
  }

  test('a row with the wrong number of fields is rejected, the next rows still come', async () => {
    const rows = await read(file('f.csv', 'id,heavy,light\na,EVQL,DIQ\nb,EVQL,DIQ,extra\nc,EVQL\nd,QV,DI\n'));
    assert.deepEqual(rows.map((r) => [r.row, r.record.id, Boolean(r.invalid)]), [[1, 'a', false], [2, 'b', true], [3, 'c', true], [4, 'd', false]]);
    assert.match(rows[1]!.invalid!.message, /row 2 has 4 field\(s\) but the header has 3/);
  });

  test('CRLF and LF line ends, even mixed in one file (a row edited on another system)', async () => {
    const rows = await read(file('m.csv', 'id,heavy,light\r\na,EVQL,DIQ\r\nb,QV,DI\nc,EV,\r\n'));
    assert.deepEqual(summary(rows).map((r) => ('id' in r ? [r.id, r.heavy, r.light] : r)), [['a', 'EVQL', 'DIQ'], ['b', 'QV', 'DI'], ['c', 'EV', '']]);
  });

  test('TSV by extension, gzip by magic bytes (also .tsv.gz), --strip-gaps', async () => {
    const tsv = 'id\theavy\tlight\nt1\tEV-QL\tDI.Q\n';
    for (const path of [file('t.tsv', tsv), file('t.tsv.gz', gzipSync(tsv))]) {
      assert.deepEqual((await read(path, { stripGaps: true }))[0]!.record, { id: 't1', heavy: 'EVQL', light: 'DIQ' });
    }
  });

  test('an unclosed quote rejects its row (the rest of the file is in it), naming the line; a missing file a FileError', async () => {
    assert.deepEqual(summary(await read(file('q.csv', 'id,heavy\nb,EVQ\n"a,EVQL\n'))), [
      { row: 1, id: 'b', heavy: 'EVQ', light: '' },
      { row: 2, invalid: 'row 2 (from line 3) opens a quote that is never closed, so the rest of the file (line 3) reads as one field: close the quote, or remove it.' },
    ]);
    await assert.rejects(read(join(dir, 'absent.csv')), (e: unknown) => e instanceof FileError && /does not exist/.test(e.message));
    await assert.rejects(read(file('bad.csv.gz', Buffer.from([0x1f, 0x8b, 1, 2, 3]))), (e: unknown) => e instanceof FileError && /gzip/.test(e.message));
  });
});

describe('FASTA', () => {
  test('pairs by suffix (_H/_L, |heavy/|light, _VL/_VH in either order), orphans and unnamed chains rejected', async () => {
    const fasta = [
      '>m1_H some description', 'EVQL', 'VESG', '>m1_L', 'DIQM',
      '>m2|light', 'DIQ', '>m2|heavy', 'QVQ',
      '>m3_VH', 'EVQ', // no light next to it
      '>m4_VL', 'DIQ', '>m4_VH', 'EVQ',
      '>plain', 'EVQ',
      '', '; comment',
      '>m5_HC', 'EV', '>m5_LC', 'DI',
    ].join('\n');
    const rows = await read(file('p.fasta', fasta));
    assert.deepEqual(summary(rows).map((r) => ('invalid' in r ? [r.row, 'invalid'] : [r.row, r.id, r.heavy, r.light])), [
      [1, 'm1', 'EVQLVESG', 'DIQM'],
      [2, 'm2', 'QVQ', 'DIQ'],
      [3, 'invalid'],
      [4, 'm4', 'EVQ', 'DIQ'],
      [5, 'invalid'],
      [6, 'm5', 'EV', 'DI'],
    ]);
    assert.match(rows[2]!.invalid!.message, /"m3_VH" has no light chain/);
    assert.equal(rows[2]!.record.id, 'm3');
    assert.match(rows[4]!.invalid!.message, /cannot tell the chain of FASTA record "plain"/);
  });

  test('--chain H: every record is a heavy chain named by its whole name; gzipped', async () => {
    const rows = await read(file('s.fa.gz', gzipSync('>nb1_H\nQVQL\n>nb2\nEVQ\n')), { chain: 'H' });
    assert.deepEqual(summary(rows), [
      { row: 1, id: 'nb1_H', heavy: 'QVQL', light: '' },
      { row: 2, id: 'nb2', heavy: 'EVQ', light: '' },
    ]);
  });

  test('sequence before any header is a FileError; --chain with CSV a UsageError', async () => {
    await assert.rejects(read(file('x.fasta', 'EVQL\n>a_H\nEV\n')), (e: unknown) => e instanceof FileError && /line 1 is not FASTA/.test(e.message));
    await assert.rejects(read(file('x.csv', 'id,heavy\na,EV\n'), { chain: 'H' }), UsageError);
  });
});

describe('JSONL', () => {
  test('objects with the CSV column names; bad lines rejected; other keys as text', async () => {
    const lines = [
      '{"id":"j1","VH":"EVQL","VL":"DIQ","kd":1.5,"tags":["a"],"note":null}',
      '',
      'not json',
      '[1,2]',
      '{"id":7,"VH":"QVQ","VL":null}',
      '{"id":"j3","VH":12}',
    ].join('\n');
    const rows = await read(file('a.jsonl', lines));
    assert.deepEqual(rows.map((r) => [r.row, r.record.id, r.invalid ? 'invalid' : r.record.heavy]), [
      [1, 'j1', 'EVQL'], [2, undefined, 'invalid'], [3, undefined, 'invalid'], [4, '7', 'QVQ'], [5, 'j3', 'invalid'],
    ]);
    assert.deepEqual(rows[0]!.extra, { kd: '1.5', tags: '["a"]', note: '' });
    assert.match(rows[1]!.invalid!.message, /row 2 is not valid JSON/);
    assert.match(rows[2]!.invalid!.message, /not a JSON object/);
    assert.match(rows[4]!.invalid!.message, /"VH" must be a string/);
  });
});

test('input format from the extension (.gz ignored) or --input-format', () => {
  const cases: [string, string | undefined, string][] = [
    ['a.csv', undefined, 'csv'], ['a.CSV.gz', undefined, 'csv'], ['a.tsv', undefined, 'tsv'], ['a.tab', undefined, 'tsv'],
    ['a.fasta', undefined, 'fasta'], ['a.fa.gz', undefined, 'fasta'], ['a.jsonl', undefined, 'jsonl'], ['a.ndjson', undefined, 'jsonl'],
    ['-', undefined, 'csv'], ['-', 'fasta', 'fasta'], ['a.txt', 'jsonl', 'jsonl'],
  ];
  for (const [path, format, expected] of cases) assert.equal(inputFormat(path, format), expected, `${path} ${format}`);
  assert.throws(() => inputFormat('a.txt'), /cannot tell the input format/);
  assert.throws(() => inputFormat('a.csv', 'xml'), /--input-format must be one of/);
});
