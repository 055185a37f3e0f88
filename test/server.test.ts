/** `igbert serve` over real HTTP on loopback: every route, against the reference numbers and the library. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertAbsClose, assertClose, CHECKPOINTS, FIXTURES, flat, readJson, scoresReference } from './helpers.js';
import { post, request, startServer, validate, type Running } from './serverHelpers.js';

interface EmbedReference {
  records: { id: string; heavy: string; light: string; embeddings: Record<string, number[]>; residue_embeddings: number[][]; hidden_state_layer_1: number[][] }[];
}
const reference = readJson<EmbedReference>(join(FIXTURES, 'reference', 'mlm-h64.json'));
const records = reference.records.filter((r) => !r.heavy.includes('*') && !r.light.includes('*'));
const scores = scoresReference('mlm-h64');
const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

let running: Running;
let url: string;
before(async () => {
  running = await startServer();
  url = running.url;
});
after(() => running.close());

describe('POST /v1/embed', () => {
  test('mean pooling: the reference numbers, one result per item in item order', async () => {
    const { status, body } = await post(`${url}/v1/embed`, { items: records.map(({ id, heavy, light }) => ({ id, heavy, light })) });
    assert.equal(status, 200);
    assert.deepEqual(body.results.map((r: any) => r.id), records.map((r) => r.id));
    body.results.forEach((result: any, i: number) => {
      assert.deepEqual(Object.keys(result), ['id', 'embedding']);
      assertClose(result.embedding, records[i]!.embeddings['mean']!, `${result.id} mean`);
    });
  });

  test('cls pooling with residues, layer 1, and ids defaulting to the item index', async () => {
    const items = records.slice(0, 2).map(({ heavy, light }, i) => ({ heavy, light, ...(i === 1 ? { id: '' } : {}) }));
    const { body } = await post(`${url}/v1/embed`, { items, pooling: 'cls', residues: true });
    body.results.forEach((result: any, i: number) => {
      const ref = records[i]!;
      assert.equal(result.id, String(i));
      assertClose(result.embedding, ref.embeddings['cls']!, `${ref.id} cls`);
      assertClose(flat(result.residue_embeddings), flat(ref.residue_embeddings), `${ref.id} residues`);
    });
    const layer = await post(`${url}/v1/embed`, { items, pooling: 'cls', layer: 1 });
    layer.body.results.forEach((result: any, i: number) => assertClose(result.embedding, records[i]!.hidden_state_layer_1[0]!, 'layer 1'));
  });

  test('pooler pooling on a checkpoint with pooler weights equals the library', async () => {
    const pooler = await startServer({}, join(CHECKPOINTS, 'model-pooler'));
    try {
      const items = [{ heavy: 'EVQLVESGG', light: 'DIQMT' }];
      const { status, body } = await post(`${pooler.url}/v1/embed`, { items, pooling: 'pooler' });
      assert.equal(status, 200);
      const [expected] = await pooler.model.embed(items, { pooling: 'pooler' });
      assertClose(body.results[0].embedding, expected!.embedding, 'pooler');
    } finally {
      await pooler.close();
    }
  });
});

describe('POST /v1/score, /v1/mutate, /v1/fill', () => {
  const items = scores.records.map(({ id, heavy, light }) => ({ id, heavy, light }));

  test('score: exact PLL and wt-marginal equal the reference terms', async () => {
    for (const method of ['pll', 'wt-marginal'] as const) {
      const { status, body } = await post(`${url}/v1/score`, { items, method, per_residue: true });
      assert.equal(status, 200);
      body.results.forEach((result: any, i: number) => {
        const ref = scores.records[i]!;
        const terms = method === 'pll' ? ref.pll_terms : ref.wt_marginal_terms;
        assert.equal(result.id, ref.id);
        assert.equal(result.method, method);
        assertAbsClose(result.per_residue, terms, `${ref.id} ${method} terms`);
        assertAbsClose([result.log_likelihood, result.mean_log_likelihood], [sum(terms), sum(terms) / terms.length], `${ref.id} ${method}`);
        assert.ok(Math.abs(result.perplexity - Math.exp(-result.mean_log_likelihood)) < 1e-9);
        assert.equal(result.heavy_log_likelihood === null, ref.heavy === '');
        assert.equal(result.light_log_likelihood === null, ref.light === '');
      });
    }
    const plain = await post(`${url}/v1/score`, { items: items.slice(0, 1) });
    assert.deepEqual(Object.keys(plain.body.results[0]), [
      'id', 'method', 'log_likelihood', 'mean_log_likelihood', 'perplexity', 'heavy_log_likelihood', 'light_log_likelihood',
    ]);
  });

  test('mutate: mutation sets (request-wide and per item) equal the reference, one row per (item, set) as the CLI writes', async () => {
    const byRecord = new Map<string, { id: string; mutations: string; masked_marginal: number; wt_marginal: number }[]>();
    for (const m of scores.mutations) byRecord.set(m.id, [...(byRecord.get(m.id) ?? []), m]);
    const mutated = items.filter((item) => byRecord.has(item.id)).map((item) => ({ ...item, mutations: byRecord.get(item.id)!.map((m) => m.mutations).join(';') }));
    const expected = mutated.flatMap((item) => byRecord.get(item.id)!);
    for (const method of ['masked-marginal', 'wt-marginal'] as const) {
      const { status, body } = await post(`${url}/v1/mutate`, { items: mutated, method });
      assert.equal(status, 200);
      assert.deepEqual(body.results.map((r: any) => Object.keys(r)), expected.map(() => ['id', 'method', 'mutations', 'score']));
      assert.deepEqual(body.results.map((r: any) => [r.id, r.method, r.mutations]), expected.map((m) => [m.id, method, m.mutations]));
      assertAbsClose(body.results.map((r: any) => r.score), expected.map((m) => (method === 'wt-marginal' ? m.wt_marginal : m.masked_marginal)), method);
    }
    const first = scores.mutations[0]!;
    const shared = await post(`${url}/v1/mutate`, { items: items.filter((item) => item.id === first.id), mutations: first.mutations });
    assertAbsClose([shared.body.results[0].score], [first.masked_marginal], 'shared mutations');
  });

  test('mutate with scan: every substitution of the region, as the reference scan', async () => {
    const scan = scores.scans[0]!;
    const { status, body } = await post(`${url}/v1/mutate`, { items: [{ id: scan.id, heavy: scan.heavy, light: scan.light }], scan: true, region: scan.region });
    assert.equal(status, 200);
    const substitutions = body.results;
    assert.equal(substitutions.length, scan.positions.length * 19);
    assert.deepEqual(Object.keys(substitutions[0]), ['id', 'method', 'chain', 'position', 'wt', 'mut', 'score']);
    for (const position of scan.positions) {
      const rows = substitutions.filter((s: any) => s.chain === position.chain && s.position === position.position);
      assert.equal(rows.length, 19);
      for (const row of rows) {
        assert.equal(row.wt, position.wt);
        assertAbsClose([row.score], [position.scores[scores.amino_acids.indexOf(row.mut)]!], `${row.chain}${row.position}${row.mut}`);
      }
    }
  });

  test('fill: greedy designs and candidates equal the reference', async () => {
    for (const fill of scores.fills) {
      const { status, body } = await post(`${url}/v1/fill`, { items: [{ id: fill.id, heavy: fill.heavy, light: fill.light }] });
      assert.equal(status, 200);
      const [result] = body.results;
      assert.equal(result.designs[0].heavy, fill.greedy_parallel.heavy);
      assert.equal(result.designs[0].light, fill.greedy_parallel.light);
      assertAbsClose([result.designs[0].logprob], [fill.greedy_parallel.logprob], `${fill.id} logprob`);
      assert.deepEqual(result.positions.map((p: any) => [p.chain, p.position]), fill.positions.map((p) => [p.chain, p.position]));
    }
    const sampled = await post(`${url}/v1/fill`, { items: [{ heavy: 'EVQLV**GGG', light: 'DIQ' }], strategy: 'sample', num: 3, seed: 7, candidates: 2 });
    assert.equal(sampled.body.results[0].designs.length, 3);
    assert.equal(sampled.body.results[0].positions[0].candidates.length, 2);
    const again = await post(`${url}/v1/fill`, { items: [{ heavy: 'EVQLV**GGG', light: 'DIQ' }], strategy: 'sample', num: 3, seed: 7, candidates: 2 });
    assert.deepEqual(again.body, sampled.body, 'same seed, same designs');
  });
});

describe('POST /v1/embeddings (OpenAI-compatible)', () => {
  test('"HEAVY|LIGHT" strings; float and base64 encodings carry the same float32 values as /v1/embed', async () => {
    const input = records.map((r) => `${r.heavy}|${r.light}`);
    const floats = await post(`${url}/v1/embeddings`, { model: 'anything', input });
    assert.equal(floats.status, 200);
    assert.equal(floats.body.object, 'list');
    assert.equal(floats.body.model, 'mlm-h64');
    const tokens = records.reduce((n, r) => n + r.heavy.length + r.light.length + (r.heavy && r.light ? 3 : 2), 0);
    assert.deepEqual(floats.body.usage, { prompt_tokens: tokens, total_tokens: tokens });
    const native = await post(`${url}/v1/embed`, { items: records.map(({ heavy, light }) => ({ heavy, light })) });
    const base64 = await post(`${url}/v1/embeddings`, { input, encoding_format: 'base64' });
    floats.body.data.forEach((entry: any, i: number) => {
      assert.deepEqual([entry.object, entry.index], ['embedding', i]);
      assert.deepEqual(entry.embedding, native.body.results[i].embedding);
      const bytes = Buffer.from(base64.body.data[i].embedding, 'base64');
      const decoded = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      assert.deepEqual([...decoded], entry.embedding.map(Math.fround));
    });
    const single = await post(`${url}/v1/embeddings`, { input: `${records[2]!.heavy}|` });
    assert.deepEqual(single.body.data[0].embedding, native.body.results[2].embedding);
  });
});

describe('GET routes', () => {
  test('/health, /info, /openapi.json, /docs, /metrics', async () => {
    assert.deepEqual((await request(`${url}/health`)).body, { status: 'ok' });
    const info = (await request(`${url}/info`)).body;
    assert.equal(info.model.id, 'mlm-h64');
    assert.equal(info.model.dtype, 'fp32');
    assert.equal(info.model.device, 'cpu');
    assert.equal(info.model.revision, null);
    assert.equal(info.limits.max_items_per_request, 256);
    assert.equal(info.auth, false);
    const openapi = (await request(`${url}/openapi.json`)).body;
    assert.equal(openapi.openapi, '3.1.0');
    for (const path of ['/v1/embed', '/v1/score', '/v1/mutate', '/v1/fill', '/v1/embeddings']) {
      assert.ok(openapi.paths[path].post.requestBody, path);
      assert.ok(openapi.paths[path].post.responses['422'], `${path} documents 422`);
    }
    assert.equal(openapi.paths['/v1/embed'].post.requestBody.content['application/json'].schema.properties.items.maxItems, 256);
    const docs = await request(`${url}/docs`);
    assert.match(docs.headers.get('content-type')!, /text\/html/);
    assert.match(docs.body, /POST \/v1\/score/);
    const metrics = await request(`${url}/metrics`);
    assert.match(metrics.body, /igbert_requests_total\{route="\/v1\/embed",status="200"\} \d+/);
    assert.match(metrics.body, /igbert_batch_items_count\{task="embed"\} \d+/);
    assert.match(metrics.body, /igbert_tokens_total\{task="score"\} \d+/);
    assert.match(metrics.body, /igbert_queue_tokens 0/);
  });
});

describe('responses match the documented schemas', () => {
  test('every JSON route answers what /openapi.json says it does', async () => {
    const openapi = (await request(`${url}/openapi.json`)).body;
    const item = { heavy: 'EVQLVESGG', light: 'DIQMT' };
    const calls: [string, unknown][] = [
      ['/v1/embed', { items: [item, { heavy: 'EVQ' }], residues: true }],
      ['/v1/score', { items: [item, { light: 'DIQ' }], per_residue: true }],
      ['/v1/mutate', { items: [item], mutations: 'H:E1Q;H:V2A,L:D1E' }],
      ['/v1/mutate', { items: [item], scan: true, region: 'H:1-2' }],
      ['/v1/fill', { items: [{ heavy: 'EV*LV', light: 'D*Q' }], strategy: 'sample', num: 2 }],
      ['/v1/embeddings', { input: ['EVQ|DIQ'] }],
      ['/v1/embeddings', { input: 'EVQ|', encoding_format: 'base64' }],
      ['/info', undefined],
      ['/health', undefined],
    ];
    for (const [path, body] of calls) {
      const response = body === undefined ? await request(`${url}${path}`) : await post(`${url}${path}`, body);
      assert.equal(response.status, 200, path);
      const operation = openapi.paths[path][body === undefined ? 'get' : 'post'];
      validate(response.body, operation.responses['200'].content['application/json'].schema);
    }
    const error = await post(`${url}/v1/embed`, { items: [{ heavy: 'E1' }] });
    validate(error.body, openapi.components.schemas.Error);
  });
});

describe('--ui DIR', () => {
  test('serves the folder under /ui/, nothing outside it, no dotfiles', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'igbert-ui-'));
    writeFileSync(join(folder, 'index.html'), '<h1>igbert</h1>');
    writeFileSync(join(folder, 'app.js'), 'export {};');
    writeFileSync(join(folder, '.secret'), 'no');
    const ui = await startServer({ uiFolder: folder });
    try {
      const index = await request(`${ui.url}/ui/`);
      assert.equal(index.status, 200);
      assert.equal(index.body, '<h1>igbert</h1>');
      assert.match(index.headers.get('content-type')!, /text\/html/);
      assert.match((await request(`${ui.url}/ui/app.js`)).headers.get('content-type')!, /javascript/);
      for (const path of ['/ui/.secret', '/ui/%2e%2e/package.json', '/ui/..%2fpackage.json', '/ui/missing.html']) {
        assert.equal((await request(`${ui.url}${path}`)).status, 404, path);
      }
    } finally {
      await ui.close();
    }
  });
});
