/** Pipeline parts without a model: shard ranges, progress lines, the resume check. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertSameJob, type JobCheckpoint } from '../src/cli/checkpoint.js';
import { defaultMaxResidues, forwardBytes } from '../src/cli/residueCap.js';
import { IGBERT_CONFIG, TINY_CONFIG } from '../src/config.js';
import { InputError } from '../src/errors.js';
import { Progress } from '../src/cli/progress.js';
import { runRecordPipeline } from '../src/cli/pipeline.js';
import { parseShard, shardRange } from '../src/cli/shard.js';
import type { NumberedRecord } from '../src/io/readRecords.js';
import { jsonLines, tempDir } from './pipeline-helpers.js';

describe('--shard', () => {
  test('ranges are whole chunks, cover every row exactly once, in order', () => {
    for (const [rows, chunk, shards] of [[0, 4, 3], [1, 4, 3], [10, 4, 3], [1104, 100, 7], [1000, 1, 8], [5, 10, 4]] as const) {
      const ranges = Array.from({ length: shards }, (_, k) => shardRange(rows, { index: k, count: shards }, chunk));
      assert.equal(ranges[0]!.start, 0);
      assert.equal(ranges.at(-1)!.end, rows);
      ranges.forEach((range, k) => {
        if (k > 0) assert.equal(range.start, ranges[k - 1]!.end, `${rows}/${chunk}/${shards} contiguous`);
        assert.ok(range.start % chunk === 0 || range.start === rows, 'starts on a chunk boundary');
      });
    }
  });

  test('k/N parsing', () => {
    assert.deepEqual(parseShard('0/1'), { index: 0, count: 1 });
    assert.deepEqual(parseShard(' 7/8 '), { index: 7, count: 8 });
    for (const bad of ['8/8', '1/0', '-1/4', '1', 'a/b', '1/2/3']) assert.throws(() => parseShard(bad), /--shard must be k\/N/, bad);
  });
});

describe('progress (#13 item 11, #16: one renderer)', () => {
  const fake = (isTTY: boolean) => {
    let now = 0;
    const lines: string[] = [];
    return { lines, tick: (ms: number) => (now += ms), stream: { isTTY, write: (t: string) => lines.push(t) }, now: () => now };
  };

  test('log file: a plain line per interval with rows, residues, rates and ETA from input bytes; a summary (none for a short run)', () => {
    const short = fake(false);
    const quick = new Progress({ quiet: false, stream: short.stream, now: short.now, intervalMs: 1000 });
    quick.worked(5, 50);
    quick.finish({ rejected: 0, written: 5 });
    assert.deepEqual(short.lines, []);

    const f = fake(false);
    const progress = new Progress({ quiet: false, stream: f.stream, now: f.now, intervalMs: 1000, total: { bytes: 1000 } });
    f.tick(500);
    progress.worked(50, 5000, 100);
    assert.equal(f.lines.length, 0, 'not before the interval');
    f.tick(500);
    progress.worked(50, 5000, 250);
    assert.deepEqual(f.lines, ['igbert: 100 rows, 10.0k residues; 100.0 rows/s, 10.0k residues/s; 25.0%, ETA 3.0 s\n']);
    progress.finish({ rejected: 3, written: 97 });
    assert.match(f.lines[1]!, /^igbert: 100 rows read \(97 processed, 3 rejected\), 97 written in 1\.0 s: 100\.0 rows\/s, 10\.0k residues\/s\n$/);
  });

  test('terminal: one line redrawn in place at most every 250 ms, cleared before the summary; quiet prints nothing', () => {
    const f = fake(true);
    const progress = new Progress({ quiet: false, stream: f.stream, now: f.now, total: { rows: 400 } });
    f.tick(300);
    progress.worked(100, 0);
    f.tick(100);
    progress.worked(100, 0);
    assert.deepEqual(f.lines.length, 1, 'redrawn at most every 250 ms');
    assert.match(f.lines[0]!, /^\r\x1b\[Kigbert: 100 rows, 0 residues; .* 25\.0%, ETA 0\.9 s$/);
    progress.finish({ rejected: 0, written: 200 });
    assert.match(f.lines[1]!, /^\r\x1b\[Kigbert: 200 rows read/);
    const q = fake(true);
    const quiet = new Progress({ quiet: true, stream: q.stream, now: q.now });
    q.tick(1000);
    quiet.worked(1, 1);
    quiet.finish({ rejected: 0, written: 1 });
    assert.deepEqual(q.lines, []);
  });

  test('the summary names the engine and, spread over several GPUs, each one\'s rate (#14)', () => {
    const f = fake(false);
    const work = [
      { label: 'NVIDIA H200, GPU 0', batches: 3, sequences: 300, tokens: 69000, busySeconds: 0.9 },
      { label: 'NVIDIA H200, GPU 1', batches: 2, sequences: 200, tokens: 46000, busySeconds: 0.6, failed: 'lost' },
    ];
    const progress = new Progress({ quiet: false, stream: f.stream, now: f.now, intervalMs: 1000, engine: 'cuda (2 GPUs), bf16, igbert-cuda', devices: () => work });
    f.tick(1000);
    progress.worked(500, 115000);
    assert.match(f.lines[0]!, /; NVIDIA H200, GPU 0: 300\.0 seq\/s, NVIDIA H200, GPU 1: 200\.0 seq\/s \(taken out\)\n$/);
    progress.finish({ rejected: 0, written: 500 });
    assert.match(f.lines[1]!, /written in 1\.0 s on cuda \(2 GPUs\), bf16, igbert-cuda: 500\.0 rows\/s, .*GPU 0: 300\.0 seq\/s/);
  });

  test('the pipeline reports per batch of work, not per input chunk', async () => {
    const dir = tempDir();
    const rows = Array.from({ length: 60 }, (_, i) => `r${i},EVQL`).join('\n');
    writeFileSync(join(dir, 'in.csv'), `id,heavy\n${rows}\n`);
    const f = fake(false);
    const calls: number[] = [];
    const steps = {
      prepare: ({ record }: NumberedRecord) => record,
      async process(records: { id?: string }[]) {
        calls.push(records.length);
        f.tick(1000);
        return records.map((record) => ({ id: record.id }));
      },
    };
    const options = { input: join(dir, 'in.csv'), output: join(dir, 'o.jsonl'), maxBatchTokens: 60, progress: { stream: f.stream, now: f.now, intervalMs: 1000 } };
    assert.equal(await runRecordPipeline(options, steps), 0);
    assert.deepEqual(calls, [10, 10, 10, 10, 10, 10], 'batches of 60 tokens: 10 rows of 6 tokens');
    assert.deepEqual(
      f.lines.filter((line) => / rows, /.test(line)).map((line) => /(\d+) rows/.exec(line)?.[1]),
      ['10', '20', '30', '40', '50', '60'],
    );
    assert.deepEqual(jsonLines(readFileSync(join(dir, 'o.jsonl'), 'utf8')).map((r) => r.id), Array.from({ length: 60 }, (_, i) => `r${i}`));
  });
});

describe('units of work across chunks', () => {
  // 60 rows of 6 tokens, chunks of 10 rows, units of 5 rows (30 tokens): two units per chunk, two in flight.
  const input = `id,heavy\n${Array.from({ length: 60 }, (_, i) => `r${i},EVQL`).join('\n')}\n`;
  const engine = {
    engineInfo: { runtime: 'test', device: 'cuda', precision: 'bf16', batching: {}, layout: 'padded', concurrency: 2 } as const,
  };
  const run = async (process: (ids: string[]) => Promise<void>) => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.csv'), input);
    const steps = {
      engine,
      prepare: ({ record }: NumberedRecord) => record,
      async process(records: { id?: string }[]) {
        await process(records.map((record) => record.id as string));
        return records.map((record) => ({ id: record.id }));
      },
    };
    const output = join(dir, 'o.jsonl');
    const code = await runRecordPipeline({ input: join(dir, 'in.csv'), output, chunkRows: 10, maxBatchTokens: 30, quiet: true }, steps);
    return { code, ids: jsonLines(readFileSync(output, 'utf8')).map((row) => row.id) };
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const chunkOf = (ids: string[]) => Math.floor(Number(ids[0]!.slice(1)) / 10);

  test("the next chunk's first unit starts while a chunk's last one still runs; never more in flight than the engine takes", async () => {
    const events: string[] = [];
    let inFlight = 0;
    let most = 0;
    const { code, ids } = await run(async (unit) => {
      most = Math.max(most, ++inFlight);
      events.push(`start ${chunkOf(unit)}`);
      // The last unit of chunks 0 and 3 is slow: the engine would sit idle until it ends if chunks waited for each
      // other. (Chunk 3 is only read once chunk 0 is written: at most three chunks in memory.)
      await sleep(unit[0] === 'r5' || unit[0] === 'r35' ? 200 : 1);
      events.push(`end ${chunkOf(unit)}`);
      inFlight--;
    });
    assert.equal(code, 0);
    assert.deepEqual(ids, Array.from({ length: 60 }, (_, i) => `r${i}`));
    assert.equal(most, 2);
    for (const chunk of [1, 4]) {
      const started = events.indexOf(`start ${chunk}`);
      assert.ok(started < events.lastIndexOf(`end ${chunk - 1}`), `chunk ${chunk} started before chunk ${chunk - 1} ended: ${events.join(', ')}`);
    }
    // Chunk 2 is in memory while chunk 0 waits for its slow unit, so it runs in the free slot rather than waiting
    // for chunk 0 to be written (it once did, and the GPU idled while a chunk's last unit ran).
    assert.ok(events.indexOf('start 2') < events.lastIndexOf('end 0'), `chunk 2 runs beside chunk 0's slow unit: ${events.join(', ')}`);
  });

  test('a failed unit stops the job, and no unit of a later chunk still runs when it ends', async () => {
    let inFlight = 0;
    await assert.rejects(
      run(async (unit) => {
        inFlight++;
        // r15-r19 fail while chunk 2's first unit (started when r10-r14 ended) still runs.
        await sleep(unit[0] === 'r10' ? 5 : unit[0] === 'r15' ? 20 : 40);
        inFlight--;
        if (unit[0] === 'r15') throw new Error('the device is lost');
      }),
      /the device is lost/,
    );
    assert.equal(inFlight, 0);
  });
});

test('--resume names the options that differ and notices a changed input', () => {
  const checkpoint = { job: { pooling: 'mean', layer: 2 }, input: { size: 10, mtimeMs: 5 } } as unknown as JobCheckpoint;
  assert.doesNotThrow(() => assertSameJob(checkpoint, { layer: 2, pooling: 'mean' }, { size: 10, mtimeMs: 5 }, 'o.jsonl'));
  assert.throws(() => assertSameJob(checkpoint, { pooling: 'cls', layer: 2 }, undefined, 'o.jsonl'), /pooling: was "mean", now "cls"/);
  assert.throws(() => assertSameJob(checkpoint, { pooling: 'mean' }, undefined, 'o.jsonl'), /layer: was 2, now unset/);
  assert.throws(() => assertSameJob(checkpoint, { pooling: 'mean', layer: 2 }, { size: 11, mtimeMs: 5 }, 'o.jsonl'), /input file changed/);
});

describe('runRecordPipeline with several result rows per input row', () => {
  const input = 'id,heavy,note\na,EVQL,x\nb,QV,y\n';
  const steps = (grouped: boolean) => ({
    prepare: ({ record }: NumberedRecord) => record,
    async process(records: { id?: string }[]) {
      const groups = records.map((r) => (r.id === 'a' ? [{ id: r.id, k: 1 }, { id: r.id, k: 2 }] : []));
      return grouped ? groups : groups.flat();
    },
  });
  test('grouped results get their own input row\'s kept columns; a result count other than the row count is refused', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.csv'), input);
    const options = { input: join(dir, 'in.csv'), output: join(dir, 'out.jsonl'), keepColumns: ['note'], quiet: true };
    assert.equal(await runRecordPipeline(options, steps(true)), 0);
    assert.deepEqual(jsonLines(readFileSync(join(dir, 'out.jsonl'), 'utf8')), [{ id: 'a', note: 'x', k: 1 }, { id: 'a', note: 'x', k: 2 }]);
    await assert.rejects(runRecordPipeline(options, steps(false)), /one row or one group of rows per input row/);
  });
});

describe('rows that cannot run (#13 item 5)', () => {
  test('the default residue cap: the longest row whose forward pass fits in half the memory', () => {
    const GiB = 2 ** 30;
    for (const memory of [2 * GiB, 8 * GiB, 16 * GiB, 128 * GiB]) {
      const cap = defaultMaxResidues(memory, IGBERT_CONFIG);
      const tokens = cap + 3; // [CLS] heavy [SEP] light [SEP]
      assert.ok(forwardBytes(tokens, IGBERT_CONFIG) <= memory / 2, `${memory}: ${cap} fits`);
      assert.ok(forwardBytes(tokens + 1, IGBERT_CONFIG) > memory / 2, `${memory}: ${cap} is the longest that fits`);
    }
    // The row: 10,000 residues of IgBert (16 heads) needed a 6.4 GB attention tensor, more than 8 GiB holds.
    assert.ok(defaultMaxResidues(8 * GiB, IGBERT_CONFIG) < 10_000);
    assert.ok(defaultMaxResidues(128 * GiB, IGBERT_CONFIG) > 10_000);
    // Fewer heads, smaller layers: a longer cap on the same memory.
    assert.ok(defaultMaxResidues(8 * GiB, TINY_CONFIG) > defaultMaxResidues(8 * GiB, IGBERT_CONFIG));
    assert.equal(defaultMaxResidues(0, IGBERT_CONFIG), 0);
  });

  test('a row the model layer rejects (InputError with its record number) is a rejected row, not a lost job', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.csv'), 'id,heavy\na,EVQL\nhuge,QVQLV\nc,EVQ\n');
    const calls: string[][] = [];
    const steps = {
      prepare: ({ row, record }: NumberedRecord) => ({ row, id: record.id as string }),
      async process(items: { row: number; id: string }[]) {
        calls.push(items.map((item) => item.id));
        const huge = items.find((item) => item.id === 'huge');
        if (huge) throw new InputError(`record ${huge.row}: cannot be allocated.`, { record: huge.row, id: huge.id }, 'SEQUENCE_TOO_LONG');
        return items.map((item) => ({ id: item.id }));
      },
    };
    const output = join(dir, 'out.jsonl');
    assert.equal(await runRecordPipeline({ input: join(dir, 'in.csv'), output, quiet: true }, steps), 3);
    assert.deepEqual(jsonLines(readFileSync(output, 'utf8')), [{ id: 'a' }, { id: 'c' }]);
    assert.deepEqual(jsonLines(readFileSync(`${output}.errors.jsonl`, 'utf8')).map((e) => [e.row, e.id, e.code]), [[2, 'huge', 'SEQUENCE_TOO_LONG']]);
    assert.deepEqual(calls.at(-1), ['a', 'c'], 'the other rows ran again without it');
  });

  test('an error that names no row of the work still stops the job', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.csv'), 'id,heavy\na,EVQL\n');
    const steps = {
      prepare: ({ record }: NumberedRecord) => record,
      async process(): Promise<never> {
        throw new InputError('no record named', {});
      },
    };
    await assert.rejects(runRecordPipeline({ input: join(dir, 'in.csv'), output: join(dir, 'o.jsonl'), quiet: true }, steps), /no record named/);
  });
});
