/**
 * `igbert serve` as a process (bin/igbert.js, after `npm run build`): start-up, SIGTERM with a request in flight
 * (finished, exit 0), and start-up errors. Also the official `openai` client against /v1/embeddings, compared with
 * the vectors `igbert embed` writes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { ROOT } from './helpers.js';
import { MODEL, post, request, startServer, waitFor, type Running } from './serverHelpers.js';

const BIN = join(ROOT, 'bin', 'igbert.js');
const PAIRS = [
  { id: 'a', heavy: 'EVQLVESGGGLVQPGGSLRLSCAASGFNIKDTYIHWVRQAPGKGLEWVARIY', light: 'DIQMTQSPSSLSASVGDRVTITCRASQDVNTAVAWYQQ' },
  { id: 'b', heavy: 'QVQLQESGPGLVKPSETLSLTCTVSGGSISSYYWSWIRQPPGKGLEWIG', light: '' },
  { id: 'c', heavy: '', light: 'EIVLTQSPATLSLSPGERATLSCRASQSVSSYLAWYQQKPGQAPRLLIY' },
];

interface ServeProcess {
  child: ChildProcess;
  url: string;
  stderr(): string;
  exit: Promise<number | null>;
  /** Resolves when every process holding the stderr pipe (a wrapper and the server) has exited. */
  closed: Promise<void>;
}

/** How a command line is started: directly by default, or through a wrapper process. */
type Launch = (argv: string[]) => [string, string[]];
const direct: Launch = (argv) => [process.execPath, argv];

/** Starts `igbert serve --port 0` and resolves once it prints "ready" (at most 20 s). */
async function serve(args: string[], env: NodeJS.ProcessEnv = process.env, launch: Launch = direct): Promise<ServeProcess> {
  const [command, argv] = launch([BIN, 'serve', '--model', MODEL, '--port', '0', '--threads', '1', ...args]);
  const child = spawn(command, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await waitFor(() => /ready:/.test(stderr) || child.exitCode !== null, 'igbert serve to be ready', 20_000);
  const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
  assert.ok(url, stderr);
  return { child, url, stderr: () => stderr, exit, closed };
}

/** A wrapper that starts its arguments as a child sharing its stdio and stays until killed. */
const WRAPPER = "require('node:child_process').spawn(process.argv[1], process.argv.slice(2), { stdio: 'inherit' }); setInterval(() => {}, 1 << 30);";

describe('igbert serve (process)', () => {
  test('SIGTERM: the request in flight is answered, then exit 0', async () => {
    const server = await serve([]);
    try {
      // Exact PLL of several long chains: hundreds of masked passes, so the request is still running at SIGTERM.
      const items = Array.from({ length: 4 }, (_, i) => ({ id: `r${i}`, heavy: PAIRS[0]!.heavy + PAIRS[0]!.light }));
      const inFlight = post(`${server.url}/v1/score`, { items });
      let metrics = '';
      await waitFor(() => {
        void request(`${server.url}/metrics`).then((r) => (metrics = r.body), () => undefined);
        return /igbert_queue_tokens [1-9]/.test(metrics);
      }, 'the score request to be queued', 10_000);
      server.child.kill('SIGTERM');
      const response = await inFlight;
      assert.equal(response.status, 200);
      assert.deepEqual(response.body.results.map((r: any) => r.id), items.map((i) => i.id));
      assert.equal(await server.exit, 0, server.stderr());
      assert.match(server.stderr(), /stopping after SIGTERM: finishing requests in flight\n.*stopped/s);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  test('started through a wrapper (npm exec / npx, or any other): the server stops when the wrapper is gone', async () => {
    const shellWords = (argv: string[]): string => argv.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
    const cases: [string, Launch, NodeJS.Signals][] = [
      // npm runs the command through `sh -c` and forwards SIGTERM to that shell, which dies and used to leave the
      // server running with no parent.
      ['npm exec, SIGTERM', (argv) => ['npm', ['exec', '--offline', '-c', shellWords([process.execPath, ...argv])]], 'SIGTERM'],
      // A wrapper killed outright can forward nothing. npm_lifecycle_event is what npm, npx, pnpm and yarn set.
      ['a wrapper, SIGKILL', (argv) => [process.execPath, ['-e', WRAPPER, process.execPath, ...argv]], 'SIGKILL'],
    ];
    for (const [label, launch, signal] of cases) {
      const server = await serve([], { ...process.env, npm_lifecycle_event: 'npx' }, launch);
      const pid = Number(/\(pid (\d+)/.exec(server.stderr())?.[1]);
      try {
        assert.ok(pid > 0 && pid !== server.child.pid, `${label}: the server runs in a child of the wrapper\n${server.stderr()}`);
        server.child.kill(signal);
        let closed = false;
        void server.closed.then(() => (closed = true));
        await waitFor(() => closed, `${label}: the server to exit after its wrapper`, 15_000);
        assert.match(server.stderr(), /stopping after the exit of its parent process \(pid \d+\): finishing requests in flight\n.*stopped/s, label);
        await assert.rejects(fetch(`${server.url}/health`), `${label}: nothing listens any more`);
      } finally {
        if (pid > 0) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    }
  });

  test('start-up errors: a missing --auth-token-env variable, a port in use, a missing --ui folder (exit 2); a bad model (exit 1)', async () => {
    const run = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, [BIN, 'serve', ...args], { encoding: 'utf8', env, timeout: 20_000 });
    const env = { ...process.env, IGBERT_TEST_TOKEN: '' };
    const missing = run(['--model', MODEL, '--port', '0', '--auth-token-env', 'IGBERT_TEST_TOKEN'], env);
    assert.equal(missing.status, 2, missing.stderr);
    assert.match(missing.stderr, /environment variable IGBERT_TEST_TOKEN is not set/);
    const taken = await startServer();
    try {
      const busy = run(['--model', MODEL, '--port', new URL(taken.url).port]);
      assert.equal(busy.status, 2, busy.stderr);
      assert.match(busy.stderr, /is in use; choose another --port/);
    } finally {
      await taken.close();
    }
    const noUi = run(['--model', MODEL, '--port', '0', '--ui', join(ROOT, 'no-such-folder')]);
    assert.equal(noUi.status, 2, noUi.stderr);
    assert.match(noUi.stderr, /--ui .* is not a folder/);
    const bad = run(['--model', join(ROOT, 'no-such-model'), '--port', '0']);
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stderr, /does not exist/);
  });
});

describe('the official openai client', () => {
  let running: Running;
  let expected: number[][];
  before(async () => {
    running = await startServer({ authToken: 'token-for-openai' });
    const csv = 'id,heavy,light\n' + PAIRS.map((p) => `${p.id},${p.heavy},${p.light}`).join('\n') + '\n';
    const embed = spawnSync(process.execPath, [BIN, 'embed', '--model', MODEL, '--input', '-', '--output', '-'], { input: csv, encoding: 'utf8' });
    assert.equal(embed.status, 0, embed.stderr);
    expected = embed.stdout.trim().split('\n').map((line) => JSON.parse(line).embedding);
  });
  after(() => running.close());

  test('embeddings.create gets the vectors of `igbert embed` (base64 by default, and float)', async () => {
    const client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: 'token-for-openai', maxRetries: 0 });
    const input = PAIRS.map((p) => `${p.heavy}|${p.light}`);
    const viaBase64 = await client.embeddings.create({ model: 'igbert', input });
    assert.equal(viaBase64.data.length, PAIRS.length);
    viaBase64.data.forEach((entry, i) => {
      assert.equal(entry.index, i);
      // float32 bytes: exactly the float32 values of the CLI's shortest decimal text
      assert.deepEqual(entry.embedding, expected[i]!.map(Math.fround));
    });
    const viaFloat = await client.embeddings.create({ model: 'igbert', input, encoding_format: 'float' });
    viaFloat.data.forEach((entry, i) => assert.deepEqual(entry.embedding, expected[i]));
    assert.ok(viaFloat.usage.prompt_tokens > 0);
    const denied = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(denied.embeddings.create({ model: 'igbert', input }), (error: any) => error.status === 401);
  });
});
