/**
 * Every error status of `igbert serve`, over real HTTP on loopback: the one table (400 401 404 405 413 415 422 429
 * 500 503), the error body {"error", "error_type", "details"}, auth, CORS, disconnects and graceful draining.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { IgBert } from '../src/index.js';
import { RuntimeFailure } from '../src/errors.js';
import { IgBertServer } from '../src/server/index.js';
import { ERROR_SCHEMA } from '../src/server/httpErrors.js';
import { holdModel, MODEL, post, request, startServer, validate, waitFor, type Running } from './serverHelpers.js';

const LONG_CHAIN = 'DIQMTQSPSEVQLVESGGGLVQPGGSLRLSCAASGFNIKDTYIHWVRQAPGKGLEWVARIYPTNGYTRYADSVKGRFTISADTSKNTAYLQMNSLRAEDTAVYYCSRWGGDGFYAMDYWGQGTLVTVSS';

let plain: Running;
let small: Running;
before(async () => {
  plain = await startServer();
  small = await startServer({ limits: { maxItems: 3, maxChainResidues: 40, maxBodyBytes: 2000, maxResidueEmbeddings: 20, maxQueueTokens: 500 } });
});
after(async () => {
  await plain.close();
  await small.close();
});

function assertError(response: { status: number; body: any }, status: number, type: string, pattern?: RegExp): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body), ['error', 'error_type', 'details']);
  assert.equal(response.body.error_type, type);
  if (pattern) assert.match(response.body.error, pattern);
  validate(response.body, ERROR_SCHEMA); // every detail is documented in /openapi.json
}

describe('422: invalid input names item (from 0), chain, position and character', () => {
  const cases: [string, object, Record<string, unknown>, RegExp][] = [
    ['a digit in a chain', { items: [{ heavy: 'EVQLV' }, { id: 'b', heavy: 'EVQ1L' }] }, { item: 1, id: 'b', chain: 'H', position: 4, character: '1' }, /^item 1 \(id "b"\), heavy chain, position 4: character "1"/],
    ['a gap', { items: [{ light: 'DI-QM' }] }, { item: 0, chain: 'L', position: 3, character: '-' }, /^item 0, light chain, position 3/],
    ['no chain', { items: [{ heavy: 'EV' }, {}, { light: '' }] }, { item: 1 }, /^item 1 has neither a heavy nor a light chain/],
    ['longer than max_position_embeddings', { items: [{ heavy: LONG_CHAIN, light: 'DIQ' }] }, { item: 0, code: 'SEQUENCE_TOO_LONG' }, /exceed the model's limit of 128/],
    ['heavy-mean without a heavy chain', { items: [{ light: 'DIQ' }], pooling: 'heavy-mean' }, { item: 0, chain: 'H' }, /^item 0 has no heavy chain/],
  ];
  for (const [label, body, details, message] of cases) {
    test(label, async () => {
      const response = await post(`${plain.url}/v1/embed`, body);
      assertError(response, 422, 'invalid_input', message);
      for (const [key, value] of Object.entries(details)) assert.equal(response.body.details[key], value, key);
    });
  }

  const taskCases: [string, string, object, Record<string, unknown>][] = [
    ['score: a masked residue', '/v1/score', { items: [{ heavy: 'EV*L' }] }, { item: 0, chain: 'H', position: 3, character: '*' }],
    ['mutate: wrong wild type', '/v1/mutate', { items: [{ heavy: 'EVQL' }], mutations: 'H:A2G' }, { item: 0, chain: 'H', position: 2, character: 'V' }],
    ['mutate: position out of range', '/v1/mutate', { items: [{ heavy: 'EVQL', mutations: 'H:E1A' }, { heavy: 'EVQL', mutations: 'L:D1E' }] }, { item: 1, chain: 'L' }],
    ['mutate: item without mutations', '/v1/mutate', { items: [{ heavy: 'EVQL' }] }, { item: 0 }],
    ['fill: nothing to fill', '/v1/fill', { items: [{ heavy: 'EV*L' }, { heavy: 'EVQL' }] }, { item: 1 }],
    ['embeddings: no "|"', '/v1/embeddings', { input: ['EVQL|DIQ', 'EVQL'] }, { item: 1 }],
  ];
  for (const [label, path, body, details] of taskCases) {
    test(label, async () => {
      const response = await post(`${plain.url}${path}`, body);
      assertError(response, 422, 'invalid_input');
      for (const [key, value] of Object.entries(details)) assert.equal(response.body.details[key], value, key);
    });
  }

  test('a chain over --max-chain-residues', async () => {
    const response = await post(`${small.url}/v1/embed`, { items: [{ heavy: 'A'.repeat(41) }] });
    assertError(response, 422, 'invalid_input', /41 residues; this server accepts at most 40 per chain/);
    assert.deepEqual(response.body.details, { code: 'INVALID_INPUT', item: 0, chain: 'H' });
  });
});

describe('422: invalid request (schema and parameters)', () => {
  const cases: [string, string, object, RegExp][] = [
    ['unknown field (no request can name a model or a path)', '/v1/embed', { items: [{ heavy: 'EV' }], model: '/etc/passwd' }, /^model is not a field of this request/],
    ['unknown item field', '/v1/embed', { items: [{ heavy: 'EV', file: 'x' }] }, /^items\[0\]\.file is not a field/],
    ['wrong type', '/v1/embed', { items: [{ heavy: 42 }] }, /^items\[0\]\.heavy must be string or null, found 42/],
    ['missing items', '/v1/score', {}, /^items is required/],
    ['empty items', '/v1/score', { items: [] }, /^items needs at least 1 element/],
    ['enum', '/v1/embed', { items: [{ heavy: 'EV' }], pooling: 'max' }, /^pooling must be one of/],
    ['not an integer', '/v1/embed', { items: [{ heavy: 'EV' }], layer: 1.5 }, /^layer must be integer/],
    ['layer out of range', '/v1/embed', { items: [{ heavy: 'EV' }], layer: 7 }, /layer 7 does not exist/],
    ['pooler without pooler weights', '/v1/embed', { items: [{ heavy: 'EV' }], pooling: 'pooler' }, /no pooler weights/],
    ['fill: greedy with num 2', '/v1/fill', { items: [{ heavy: 'E*' }], num: 2 }, /greedy filling gives one design/],
    ['fill: bad mask region', '/v1/fill', { items: [{ heavy: 'E*' }], mask: 'Q:1' }, /mask: "Q:1" is not a region/],
    ['mutate: bad shared mutations', '/v1/mutate', { items: [{ heavy: 'EV' }], mutations: 'S30A' }, /^mutations: "S30A" is not a mutation/],
    ['mutate: scan with mutations', '/v1/mutate', { items: [{ heavy: 'EV' }], scan: true, mutations: 'H:E1A' }, /drop "mutations"/],
    ['embeddings: dimensions', '/v1/embeddings', { input: 'EV|', dimensions: 64 }, /dimensions must be 128/],
    ['body is not an object', '/v1/embed', [1, 2], /^body must be object/],
  ];
  for (const [label, path, body, message] of cases) {
    test(label, async () => assertError(await post(`${plain.url}${path}`, body), 422, 'invalid_request', message));
  }
});

describe('400, 404, 405, 413, 415', () => {
  test('400: the body is not JSON', async () => {
    const response = await request(`${plain.url}/v1/embed`, { method: 'POST', body: '{"items": [', headers: { 'Content-Type': 'application/json' } });
    assertError(response, 400, 'malformed_json', /not valid JSON/);
  });
  test('404: unknown route, and /ui without --ui', async () => {
    assertError(await request(`${plain.url}/v2/embed`), 404, 'not_found', /\/docs/);
    assertError(await request(`${plain.url}/ui/`), 404, 'not_found', /--ui DIR/);
  });
  test('405: wrong method, with Allow', async () => {
    const response = await request(`${plain.url}/v1/embed`);
    assertError(response, 405, 'method_not_allowed');
    assert.equal(response.headers.get('allow'), 'POST');
    assertError(await post(`${plain.url}/health`, {}), 405, 'method_not_allowed');
  });
  test('413: body over the cap, too many items, too many residue embeddings, more work than the queue holds', async () => {
    assertError(await post(`${small.url}/v1/embed`, { items: [{ id: 'x'.repeat(2000), heavy: 'EV' }] }), 413, 'payload_too_large', /2000 bytes/);
    const four = Array.from({ length: 4 }, () => ({ heavy: 'EVQL' }));
    assertError(await post(`${small.url}/v1/embed`, { items: four }), 413, 'payload_too_large', /at most 3 per request/);
    assertError(await post(`${small.url}/v1/embeddings`, { input: ['E|', 'E|', 'E|', 'E|'] }), 413, 'payload_too_large', /at most 3/);
    const residues = await post(`${small.url}/v1/embed`, { items: [{ heavy: 'EVQLVESGGGL', light: 'DIQMTQSPSSL' }], residues: true });
    assertError(residues, 413, 'payload_too_large', /22 residue embeddings/);
    const work = await post(`${small.url}/v1/score`, { items: [{ heavy: 'EVQLVESGGGLVQPGGSLRLSCAAS' }] });
    assertError(work, 413, 'payload_too_large', /needs 675 tokens of model work/);
    assert.deepEqual(work.body.details, { tokens: 675, limit: 500 });
  });
  test('413 for a body over the cap that the client sends whole before reading (as urllib does): the rest is read, the 413 arrives', async () => {
    const body = Buffer.alloc(32 << 20, 0x20); // 32 MiB: far over the 2000-byte cap, more than socket buffers hold
    for (const framing of ['content-length', 'chunked'] as const) {
      const socket = connect(Number(new URL(small.url).port), '127.0.0.1');
      socket.pause(); // read nothing until the whole body is written
      const head = 'POST /v1/embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n';
      const message =
        framing === 'chunked'
          ? Buffer.concat([Buffer.from(`${head}Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])
          : Buffer.concat([Buffer.from(`${head}Content-Length: ${body.length}\r\n\r\n`), body]);
      let failure: Error | undefined;
      socket.on('error', (error) => (failure ??= error));
      await new Promise<void>((resolve) => socket.write(message, () => resolve()));
      assert.equal(failure?.message, undefined, `${framing}: the whole body was written, no reset`);
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.resume();
      });
      assert.equal(failure?.message, undefined, `${framing}: the answer was read, no reset`);
      assert.match(received, /^HTTP\/1\.1 413 /, framing);
      const answer = JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4));
      assertError({ status: 413, body: answer }, 413, 'payload_too_large', /limit of 2000 bytes/);
    }
  });
  test('415: not application/json', async () => {
    const response = await request(`${plain.url}/v1/embed`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'text/plain' } });
    assertError(response, 415, 'unsupported_media_type', /Content-Type: application\/json/);
  });
});

describe('429, 500, 503 and disconnects', () => {
  test('429 with Retry-After when the queue is full; the queued request still completes', async () => {
    const hold = holdModel(small.model);
    const first = post(`${small.url}/v1/embed`, { items: [{ heavy: 'A'.repeat(38) }] }); // 40 tokens
    await hold.started;
    const items = Array.from({ length: 3 }, () => ({ heavy: 'A'.repeat(40), light: 'A'.repeat(40) })); // 3 x 83 tokens
    const second = post(`${small.url}/v1/embed`, { items });
    await waitFor(() => small.server.queueStats!.pendingItems === 3, 'the second request to queue');
    const third = await post(`${small.url}/v1/embed`, { items });
    assertError(third, 429, 'overloaded', /retry after 1 s/);
    assert.equal(third.headers.get('retry-after'), '1');
    hold.release();
    assert.equal((await first).status, 200);
    assert.equal((await second).status, 200);
  });

  test('500: a runtime failure in a dispatch', async () => {
    const forward = plain.model.forward;
    plain.model.forward = async () => {
      throw new RuntimeFailure('ONNX Runtime failed (simulated)');
    };
    try {
      assertError(await post(`${plain.url}/v1/embed`, { items: [{ heavy: 'EVQL' }] }), 500, 'runtime_failure', /simulated/);
    } finally {
      plain.model.forward = forward;
    }
    assert.equal((await post(`${plain.url}/v1/embed`, { items: [{ heavy: 'EVQL' }] })).status, 200);
  });

  test('503 while the model loads, then 200', async () => {
    let resolveModel!: (model: IgBert) => void;
    const loading = new Promise<IgBert>((resolve) => (resolveModel = resolve));
    const server = await IgBertServer.start(loading, { port: 0, log: () => {} });
    try {
      const health = await request(`${server.url}/health`);
      assertError(health, 503, 'not_ready', /still loading/);
      assert.equal(health.headers.get('retry-after'), '1');
      assertError(await post(`${server.url}/v1/embed`, { items: [{ heavy: 'EV' }] }), 503, 'not_ready');
      assert.equal((await request(`${server.url}/openapi.json`)).status, 200, 'documentation needs no model');
      const model = await IgBert.load(MODEL, { threads: 1 });
      resolveModel(model);
      await server.ready;
      assert.equal((await request(`${server.url}/health`)).status, 200);
      await server.close();
      await model.dispose();
    } finally {
      await server.close();
    }
  });

  test('a client that disconnects has its queued items dropped', async () => {
    const hold = holdModel(plain.model);
    const first = post(`${plain.url}/v1/embed`, { items: [{ heavy: 'EVQL' }] });
    await hold.started;
    const controller = new AbortController();
    const gone = fetch(`${plain.url}/v1/score`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ items: [{ heavy: 'EVQLV' }, { heavy: 'DIQMT' }] }),
      signal: controller.signal,
    });
    await waitFor(() => plain.server.queueStats!.pendingItems === 2, 'the request to queue');
    const cancelledBefore = plain.server.queueStats!.cancelledItems;
    controller.abort();
    await assert.rejects(gone);
    await waitFor(() => plain.server.queueStats!.pendingItems === 0, 'the items to be dropped');
    assert.equal(plain.server.queueStats!.cancelledItems - cancelledBefore, 2);
    hold.release();
    assert.equal((await first).status, 200);
    await waitFor(() => plain.server.queueStats!.queuedTokens === 0, 'the queue to empty');
    assert.match((await request(`${plain.url}/metrics`)).body, /igbert_requests_total\{route="\/v1\/score",status="499"\} 1/);
  });
});

describe('auth and CORS', () => {
  let secured: Running;
  before(async () => {
    secured = await startServer({ authToken: 's3cret-token', corsOrigins: ['https://lab.example'] });
  });
  after(() => secured.close());

  test('401 without or with a wrong bearer token; 200 with it; /health, /docs, /openapi.json stay open', async () => {
    const body = { items: [{ heavy: 'EVQL' }] };
    const missing = await post(`${secured.url}/v1/embed`, body);
    assertError(missing, 401, 'unauthorized', /Authorization: Bearer/);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
    assertError(await post(`${secured.url}/v1/embed`, body, { Authorization: 'Bearer wrong' }), 401, 'unauthorized', /not valid/);
    assertError(await request(`${secured.url}/metrics`), 401, 'unauthorized');
    assertError(await request(`${secured.url}/info`), 401, 'unauthorized');
    assert.equal((await post(`${secured.url}/v1/embed`, body, { Authorization: 'Bearer s3cret-token' })).status, 200);
    for (const path of ['/health', '/docs', '/openapi.json']) assert.equal((await request(`${secured.url}${path}`)).status, 200, path);
    const info = await request(`${secured.url}/info`, { headers: { Authorization: 'bearer s3cret-token' } });
    assert.equal(info.body.auth, true);
  });

  test('CORS: allowed origin gets the header and a preflight answer; others and the default server get none', async () => {
    const preflight = await request(`${secured.url}/v1/embed`, { method: 'OPTIONS', headers: { Origin: 'https://lab.example' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://lab.example');
    assert.match(preflight.headers.get('access-control-allow-headers')!, /Authorization/);
    const other = await request(`${secured.url}/health`, { headers: { Origin: 'https://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const off = await request(`${plain.url}/health`, { headers: { Origin: 'https://lab.example' } });
    assert.equal(off.headers.get('access-control-allow-origin'), null);
    assert.equal((await request(`${plain.url}/v1/embed`, { method: 'OPTIONS' })).status, 405);
  });
});

describe('graceful close', () => {
  test('stops accepting, answers 503 on open connections, finishes the request in flight', async () => {
    const running = await startServer();
    const hold = holdModel(running.model);
    const { port } = new URL(running.url);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const body = JSON.stringify({ items: [{ heavy: 'EVQL' }] });
    socket.write(`POST /v1/embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    await hold.started;
    const closed = running.server.close();
    await assert.rejects(fetch(`${running.url}/health`), 'no new connections');
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    hold.release();
    await closed;
    await ended;
    const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [200, 503]);
    assert.match(received, /"error_type":"shutting_down"/);
    await running.model.dispose();
  });
});
