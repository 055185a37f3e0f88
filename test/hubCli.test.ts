/**
 * `igbert embed --model org/name` as a user runs it: a real process configured only through the environment
 * variables huggingface_hub reads (HF_ENDPOINT, HF_HUB_CACHE, HF_HOME, HF_TOKEN, HF_HUB_OFFLINE), against the local
 * stand-in for the Hub. The child is spawned asynchronously, so that this process's server can answer it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CHECKPOINTS, ROOT } from './helpers.js';
import { FakeHub, filesOf } from './hubServer.js';

const BIN = join(ROOT, 'bin', 'igbert.js');
const MODEL = join(CHECKPOINTS, 'mlm-h64');
const CSV = 'id,heavy,light\na,EVQLVESGGGLVQPGGSLRLSCAAS,DIQMTQSPSSLSASVGDRVTITC\nb,QVQLQESGPGLVKPSETLSLTCTVS,\n';

let hub: FakeHub;
before(async () => {
  hub = await FakeHub.start();
  hub.addRepo('test-org/IgBert-tiny', { a: filesOf(MODEL) }, { main: 'a' });
  hub.addRepo('test-org/private', { a: filesOf(MODEL) }, { main: 'a' }, 'hf_secret');
});
after(() => hub.close());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs igbert with a clean Hugging Face environment: nothing of the developer's cache or token leaks in. */
function igbert(args: string[], env: Record<string, string>): Promise<Run> {
  const hfHome = mkdtempSync(join(tmpdir(), 'igbert-hf-home-'));
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(HF_|HUGGING|TRANSFORMERS_)/.test(k)));
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...clean, HF_HOME: hfHome, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(CSV);
  return new Promise((done) => child.on('close', (code) => done({ code: code ?? -1, stdout, stderr })));
}

const embedArgs = (model: string): string[] => ['embed', '--model', model, '--input', '-', '--output', '-'];

describe('igbert embed --model <Hub id>', () => {
  test('downloads through HF_ENDPOINT into HF_HUB_CACHE, then runs offline; same output as the local folder', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'igbert-hub-cli-'));
    const online = await igbert(embedArgs('test-org/IgBert-tiny'), { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cache });
    assert.equal(online.code, 0, online.stderr);
    assert.match(online.stderr, /igbert: test-org\/IgBert-tiny model\.safetensors: downloaded 1\.2 MB/);
    const local = await igbert(embedArgs(MODEL), {});
    assert.equal(online.stdout, local.stdout);

    const requests = hub.requests.length;
    const offline = await igbert(embedArgs('test-org/IgBert-tiny'), { HF_ENDPOINT: 'http://127.0.0.1:9', HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' });
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(offline.stdout, local.stdout);
    assert.equal(offline.stderr, '', 'nothing downloaded, nothing printed');
    assert.equal(hub.requests.length, requests);
  });

  test('HF_TOKEN is sent; HF_HUB_DISABLE_PROGRESS_BARS silences progress', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'igbert-hub-cli-'));
    const run = await igbert(embedArgs('test-org/private'), {
      HF_ENDPOINT: hub.endpoint,
      HF_HUB_CACHE: cache,
      HF_TOKEN: 'hf_secret',
      HF_HUB_DISABLE_PROGRESS_BARS: '1',
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.ok(hub.requests.some((r) => r.path.startsWith('/test-org/private/') && r.authorization === 'Bearer hf_secret'));
  });

  const failures: [string, () => Record<string, string>, RegExp][] = [
    ['offline, not cached', () => ({ HF_HUB_OFFLINE: '1' }), /not in the Hugging Face cache.*HF_HUB_OFFLINE=1/s],
    ['Hub unreachable', () => ({ HF_ENDPOINT: 'http://127.0.0.1:9' }), /cannot reach the Hugging Face Hub at http:\/\/127\.0\.0\.1:9 \(HF_ENDPOINT\)/],
    ['unknown repository', () => ({ HF_ENDPOINT: hub.endpoint }), /was not found on http/],
  ];
  for (const [label, env, message] of failures) {
    test(`${label} → exit 1 with what to do`, async () => {
      const model = label === 'unknown repository' ? 'test-org/absent' : 'test-org/IgBert-tiny';
      const run = await igbert(embedArgs(model), { HF_HUB_CACHE: mkdtempSync(join(tmpdir(), 'igbert-hub-cli-')), ...env() });
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, '');
    });
  }
});
