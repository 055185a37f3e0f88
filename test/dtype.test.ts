/** fp16 and int8 weights: converted once into the cache, reused by the next load, close to fp32. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { IgBert } from '../src/index.js';
import { CHECKPOINTS, FIXTURES, readJson } from './helpers.js';
import { cosine } from './support/compare.js';

const records = readJson(join(FIXTURES, 'reference', 'mlm-h64.json')).records.map(({ id, heavy, light }: any) => ({ id, heavy, light }));


test('fp16 and int8: cached conversion, embeddings close to fp32', async () => {
  process.env['IGBERT_CACHE_DIR'] = mkdtempSync(join(tmpdir(), 'igbert-cache-'));
  const fp32 = await (await IgBert.load(join(CHECKPOINTS, 'mlm-h64'))).embed(records);
  for (const [dtype, minCosine] of [['fp16', 0.9999], ['int8', 0.995]] as const) {
    const notes: string[] = [];
    const first = await IgBert.load(join(CHECKPOINTS, 'mlm-h64'), { dtype, onProgress: (m) => notes.push(m) });
    assert.equal(first.engineInfo.precision, dtype);
    assert.equal(notes.filter((n) => n.startsWith('converting')).length, 1, 'first load converts');
    const embeddings = await first.embed(records);
    embeddings.forEach((e, i) => assert.ok(cosine(e.embedding, fp32[i]!.embedding) >= minCosine, `${dtype} ${e.id}`));
    await first.dispose();
    const again: string[] = [];
    const second = await IgBert.load(join(CHECKPOINTS, 'mlm-h64'), { dtype, onProgress: (m) => again.push(m) });
    assert.deepEqual(again, [], 'second load reuses the cache');
    assert.deepEqual((await second.embed(records))[0]!.embedding, embeddings[0]!.embedding, 'same batch, same bits');
    // int8 quantises activations per batch, so a record alone differs from the same record in a batch by
    // quantisation error (documented); fp16 computes in float32 and is batch-invariant to rounding.
    const alone = (await second.embed(records.slice(0, 1)))[0]!.embedding;
    assert.ok(cosine(alone, embeddings[0]!.embedding) >= (dtype === 'int8' ? 0.999 : 0.999999), `${dtype} alone vs batch`);
    await second.dispose();
  }
  assert.equal(readdirSync(join(process.env['IGBERT_CACHE_DIR'], 'converted')).length, 2);
  delete process.env['IGBERT_CACHE_DIR'];
});
