/**
 * Hub ids as --model, against a local stand-in for the Hub (test/hubServer.ts) reached through the endpoint setting:
 * the cache layout huggingface_hub uses, cache-first loading, revisions, offline mode, tokens, Hub errors, and
 * transfers that are corrupt or cut off. No network other than 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { CheckpointError, FileError, UsageError } from '../src/errors.js';
import {
  HubError,
  hubCacheDir,
  hubSettings,
  hubToken,
  isHubId,
  resolveModelDir,
  streamProgress,
  type DownloadProgress,
  type HubOptions,
} from '../src/hub/index.js';
import { loadModel, loadTokenizer } from '../src/node/loadModel.js';
import { CHECKPOINTS } from './helpers.js';
import { etagOf, FakeHub, filesOf, sha256 } from './hubServer.js';

const H64 = join(CHECKPOINTS, 'mlm-h64');
const SHARDED = join(CHECKPOINTS, 'mlm-legacy');
const REPO = 'test-org/IgBert-tiny';

let hub: FakeHub;
let commits: Record<string, string>;
let cacheDir: string;

const options = (extra: HubOptions = {}): HubOptions => ({ endpoint: hub.endpoint, cacheDir, token: false, progress: false, retries: 2, ...extra });
const storage = (): string => join(cacheDir, 'models--test-org--IgBert-tiny');
const rejectsWith = async (promise: Promise<unknown>, check: (error: any) => boolean, label: string): Promise<any> => {
  let caught: unknown;
  await promise.catch((error) => (caught = error));
  assert.ok(caught && check(caught), `${label}: got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  return caught;
};
const isHubError = (reason: string) => (e: unknown) => e instanceof HubError && e.reason === reason;

before(async () => {
  hub = await FakeHub.start();
  // A pytorch_model.bin sits beside the safetensors: it must never be requested.
  commits = hub.addRepo(
    REPO,
    { v1: filesOf(H64, { 'pytorch_model.bin': 'not a pickle' }), v2: filesOf(SHARDED) },
    { main: 'v2', 'release-1': 'v1' },
  );
  hub.addRepo('test-org/pickle-only', {
    a: new Map([
      ['config.json', readFileSync(join(H64, 'config.json'))],
      ['vocab.txt', readFileSync(join(H64, 'vocab.txt'))],
      ['pytorch_model.bin', Buffer.from('not a pickle')],
    ]),
  }, { main: 'a' });
  hub.addRepo('test-org/gated', { a: filesOf(H64) }, { main: 'a' }, 'hf_granted');
});
after(() => hub.close());
beforeEach(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'igbert-hub-'));
  hub.reset();
});

describe('download into the huggingface_hub cache', () => {
  test('fresh download: blobs named by etag, relative snapshot links, refs, .no_exist; only the needed files', async () => {
    const dir = await resolveModelDir(REPO, options({ revision: 'release-1' }));
    const commit = commits['v1'] as string;
    assert.equal(dir, join(storage(), 'snapshots', commit));
    assert.equal(readFileSync(join(storage(), 'refs', 'release-1'), 'utf8'), commit); // no newline, as Python writes it
    const expected = ['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt'];
    assert.deepEqual(readdirSync(dir).sort(), expected);
    for (const file of expected) {
      const etag = etagOf(file, readFileSync(join(H64, file)));
      assert.ok(lstatSync(join(dir, file)).isSymbolicLink(), `${file} is a symlink`);
      assert.equal(readlinkSync(join(dir, file)), `../../blobs/${etag}`);
      assert.deepEqual(readFileSync(join(dir, file)), readFileSync(join(H64, file)));
    }
    assert.match(etagOf('model.safetensors', readFileSync(join(H64, 'model.safetensors'))), /^[0-9a-f]{64}$/);
    assert.match(etagOf('vocab.txt', readFileSync(join(H64, 'vocab.txt'))), /^[0-9a-f]{40}$/);
    assert.equal(readdirSync(join(storage(), 'blobs')).length, 4, 'no .incomplete file left');
    assert.ok(existsSync(join(storage(), '.no_exist', commit, 'special_tokens_map.json')), '404 remembered as Python does');
    assert.match(readFileSync(join(cacheDir, 'CACHEDIR.TAG'), 'utf8'), /^Signature: 8a477f597d28d172789f06886806bc55/);
    assert.equal(hub.requests.filter((r) => /pytorch_model|tokenizer\.json/.test(r.path)).length, 0, 'no request for .bin');
  });

  test('the next load uses the cache and makes no request', async () => {
    const first = await resolveModelDir(REPO, options());
    const made = hub.requests.length;
    assert.ok(made > 0);
    assert.equal(await resolveModelDir(REPO, options()), first);
    assert.equal(hub.requests.length, made, 'no request on the second load');
    assert.equal(await resolveModelDir(REPO, options({ offline: true })), first);
    assert.equal(hub.requests.length, made, 'no request offline');
  });

  test('--revision: branch (sharded checkpoint), tag and commit hash each give their own snapshot', async () => {
    const main = await resolveModelDir(REPO, options());
    assert.equal(main, join(storage(), 'snapshots', commits['v2'] as string));
    assert.deepEqual(readdirSync(main).filter((f) => f.startsWith('model')).length, 5, 'index and its four shards');
    const byHash = await resolveModelDir(REPO, options({ revision: commits['v1'] as string }));
    assert.equal(byHash, join(storage(), 'snapshots', commits['v1'] as string));
    assert.deepEqual(readdirSync(join(storage(), 'refs')), ['main'], 'a commit hash is not written as a ref');
    const made = hub.requests.length;
    assert.equal(await resolveModelDir(REPO, options({ revision: commits['v1'] as string })), byHash);
    assert.equal(await resolveModelDir(REPO, options({ revision: 'release-1' })), byHash, 'tag resolves to the cached commit');
    assert.ok(hub.requests.slice(made).every((r) => r.method === 'HEAD'), 'the tag costs a HEAD, no download');
    await rejectsWith(resolveModelDir(REPO, options({ revision: 'no-such-branch' })), isHubError('revision-not-found'), 'bad revision');
  });

  test('refresh asks the Hub again and follows a moved branch', async () => {
    const repo = 'test-org/moving';
    const hashes = hub.addRepo(repo, { old: filesOf(H64), new: filesOf(SHARDED) }, { main: 'old' });
    const first = await resolveModelDir(repo, options());
    assert.ok(first.endsWith(hashes['old'] as string));
    hub.addRepo(repo, { old: filesOf(H64), new: filesOf(SHARDED) }, { main: 'new' });
    assert.equal(await resolveModelDir(repo, options()), first, 'cache first: still the cached commit');
    const moved = await resolveModelDir(repo, options({ refresh: true }));
    assert.ok(moved.endsWith(hashes['new'] as string));
    assert.equal(readFileSync(join(cacheDir, 'models--test-org--moving', 'refs', 'main'), 'utf8'), hashes['new']);
  });

  test('loadTokenizer(hub id) fetches no weights; a later model load adds only config and weights', async () => {
    const tokenizer = await loadTokenizer(REPO, { hub: options({ revision: 'release-1' }) });
    assert.equal(tokenizer.vocabulary.size, readFileSync(join(H64, 'vocab.txt'), 'utf8').trim().split('\n').length);
    assert.ok(hub.requests.every((r) => !/\/config\.json$|safetensors/.test(r.path)), 'no weights, no config');
    hub.reset();
    await resolveModelDir(REPO, options({ revision: 'release-1' }));
    const asked = new Set(hub.requests.map((r) => r.path.split('/').pop()));
    assert.deepEqual([...asked], ['config.json', 'model.safetensors', sha256(readFileSync(join(H64, 'model.safetensors')))]);
  });

  test('loadModel(hub id) embeds exactly as the local folder', async () => {
    const records = [{ id: 'a', heavy: 'EVQLVESGGGLVQPGGSLRLSCAAS', light: 'DIQMTQSPSSLSASVGDRVTITC' }];
    await using fromHub = await loadModel(REPO, { hub: options({ revision: 'release-1' }) });
    await using local = await loadModel(H64);
    const [a] = await fromHub.embed(records);
    const [b] = await local.embed(records);
    assert.deepEqual(a?.embedding, b?.embedding);
    await using sharded = await loadModel(REPO, { hub: options({ offline: false }) });
    await using shardedLocal = await loadModel(SHARDED);
    assert.deepEqual((await sharded.embed(records))[0]?.embedding, (await shardedLocal.embed(records))[0]?.embedding);
  });
});

describe('offline mode', () => {
  test('a miss says the model is not cached and how to get it, without any request', async () => {
    const error = await rejectsWith(resolveModelDir(REPO, options({ offline: true })), isHubError('offline-miss'), 'offline miss');
    assert.match(error.message, /not in the Hugging Face cache/);
    assert.match(error.message, /HF_HUB_OFFLINE=1/);
    assert.match(error.message, /Run once online .* copy the files/);
    assert.equal(hub.requests.length, 0);
  });

  test('an incomplete snapshot names what it lacks', async () => {
    const dir = await resolveModelDir(REPO, options({ revision: 'release-1' }));
    rmSync(join(dir, 'vocab.txt'));
    const error = await rejectsWith(resolveModelDir(REPO, options({ revision: 'release-1', offline: true })), isHubError('offline-miss'), 'incomplete');
    assert.match(error.message, /lacks vocab\.txt/);
    // Online, only the missing file is asked for; its blob is still in the cache, so it is linked, not downloaded.
    hub.reset();
    await resolveModelDir(REPO, options({ revision: 'release-1' }));
    assert.deepEqual(hub.requests.map((r) => `${r.method} ${r.path.split('/').pop()}`), ['HEAD vocab.txt']);
    assert.ok(lstatSync(join(dir, 'vocab.txt')).isSymbolicLink());
  });
});

describe('authentication and Hub errors', () => {
  test('the token is sent to the Hub as a Bearer token, never to the CDN', async () => {
    await resolveModelDir('test-org/gated', options({ token: 'hf_granted' }));
    assert.ok(hub.requests.filter((r) => r.server === 'hub').every((r) => r.authorization === 'Bearer hf_granted'));
    const cdn = hub.requests.filter((r) => r.server === 'cdn');
    assert.ok(cdn.length > 0 && cdn.every((r) => r.authorization === undefined));
  });

  test('gated repository: without a token, and with a token that has no access', async () => {
    const anonymous = await rejectsWith(resolveModelDir('test-org/gated', options()), isHubError('gated'), 'no token');
    assert.match(anonymous.message, /accept its conditions.*HF_TOKEN/);
    await rejectsWith(resolveModelDir('test-org/gated', options({ token: 'hf_other' })), isHubError('gated'), 'wrong token');
  });

  test('missing repository (401 RepoNotFound) suggests the id, a token, or a local folder', async () => {
    const error = await rejectsWith(resolveModelDir('test-org/absent', options()), isHubError('not-found'), 'missing repo');
    assert.match(error.message, /test-org\/absent was not found on http:\/\/127\.0\.0\.1/);
    assert.match(error.message, /HF_TOKEN/);
    assert.match(error.message, /local folder/);
  });

  test('unreachable Hub: names the endpoint and suggests offline mode or a local folder', async () => {
    const closed = await FakeHub.start();
    const endpoint = closed.endpoint;
    await closed.close();
    const error = await rejectsWith(resolveModelDir(REPO, options({ endpoint })), isHubError('unreachable'), 'unreachable');
    assert.ok(error.message.includes(endpoint));
    assert.match(error.message, /HF_ENDPOINT/);
    assert.match(error.message, /HF_HUB_OFFLINE=1/);
    assert.match(error.message, /local checkpoint folder/);
  });

  test('a repository with only pytorch_model.bin: clear error, the pickle is never downloaded', async () => {
    const error = await rejectsWith(resolveModelDir('test-org/pickle-only', options()), (e) => e instanceof CheckpointError, '.bin only');
    assert.match(error.message, /only pytorch_model\.bin/);
    assert.match(error.message, /never downloads or unpickles/);
    assert.match(error.message, /refs\/pr/);
    assert.ok(hub.requests.every((r) => !(r.method === 'GET' && r.path.endsWith('.bin'))));
  });
});

describe('integrity and interrupted transfers', () => {
  test('a cache that cannot be written (here: a file, not a folder): a FileError naming it and HF_HUB_CACHE', async () => {
    const notAFolder = join(cacheDir, 'cache-file');
    writeFileSync(notAFolder, '');
    const error = await rejectsWith(
      resolveModelDir(REPO, options({ cacheDir: notAFolder })),
      (e) => e instanceof FileError && !(e instanceof HubError),
      'unwritable cache',
    );
    assert.match(error.message, /cannot write to the Hugging Face cache .*cache-file \(ENOTDIR.*HF_HUB_CACHE/);
  });

  const safetensorsBlob = (): string => join(storage(), 'blobs', sha256(readFileSync(join(H64, 'model.safetensors'))));
  const blobFiles = (): string[] => (existsSync(join(storage(), 'blobs')) ? readdirSync(join(storage(), 'blobs')) : []);

  test('a corrupt body (sha256 mismatch) is refused and nothing is left in blobs/', async () => {
    hub.faults.set('model.safetensors', 'corrupt');
    const error = await rejectsWith(resolveModelDir(REPO, options({ revision: 'release-1' })), isHubError('integrity'), 'corrupt');
    assert.match(error.message, /sha256 [0-9a-f]{64}, but the Hub's metadata says [0-9a-f]{64}/);
    assert.equal(existsSync(safetensorsBlob()), false);
    assert.ok(blobFiles().every((f) => !f.includes('incomplete')), 'no temporary file left');
    assert.equal(existsSync(join(storage(), 'refs', 'release-1')), false, 'no ref to an incomplete snapshot');
  });

  test('a corrupt small file (git blob sha1 mismatch) is refused too', async () => {
    hub.faults.set('vocab.txt', 'corrupt');
    const error = await rejectsWith(resolveModelDir(REPO, options({ revision: 'release-1' })), isHubError('integrity'), 'corrupt vocab');
    assert.match(error.message, /git blob sha1/);
  });

  test('a connection cut mid-body every time: error, nothing under the final name; the next run succeeds', async () => {
    hub.faults.set('model.safetensors', 'cut');
    const error = await rejectsWith(resolveModelDir(REPO, options({ revision: 'release-1' })), isHubError('interrupted'), 'cut');
    assert.match(error.message, /broke off/);
    assert.equal(existsSync(safetensorsBlob()), false);
    assert.ok(blobFiles().every((f) => !f.includes('incomplete')));
    hub.faults.clear();
    const dir = await resolveModelDir(REPO, options({ revision: 'release-1' }));
    assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), readFileSync(join(H64, 'model.safetensors')));
  });

  test('a connection cut once is resumed with a Range request', async () => {
    hub.faults.set('model.safetensors', 'cutOnce');
    const dir = await resolveModelDir(REPO, options({ revision: 'release-1' }));
    const size = readFileSync(join(H64, 'model.safetensors')).byteLength;
    assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), readFileSync(join(H64, 'model.safetensors')));
    // One resumed request, starting after the bytes that arrived: at most the half the server sent before cutting
    // (bytes still in flight when the socket is destroyed may never arrive), and more than none.
    const ranged = hub.requests.filter((r) => r.server === 'cdn' && r.range);
    assert.equal(ranged.length, 1);
    const start = Number(/^bytes=(\d+)-$/.exec(ranged[0]?.range ?? '')?.[1]);
    assert.ok(start > 0 && start <= size >> 1, `resumed from byte ${start} of ${size}`);
  });
});

describe('progress', () => {
  test('a listener sees start, data and done for each downloaded file', async () => {
    const events: DownloadProgress[] = [];
    await resolveModelDir(REPO, options({ revision: 'release-1', progress: (e) => events.push(e) }));
    const done = events.filter((e) => e.phase === 'done');
    assert.deepEqual(done.map((e) => e.file).sort(), ['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt']);
    assert.ok(done.every((e) => e.bytes === e.total));
  });

  test('on a terminal: one line rewritten in place, ended when the file is done', () => {
    const writes: string[] = [];
    let clock = 0;
    const report = streamProgress({ isTTY: true, write: (t) => writes.push(t) }, () => clock);
    const event = { repo: 'o/n', file: 'vocab.txt', total: 2e6 };
    report({ ...event, phase: 'start', bytes: 0 });
    clock += 50;
    report({ ...event, phase: 'data', bytes: 1e6 }); // within 250 ms: not redrawn
    clock += 250;
    report({ ...event, phase: 'data', bytes: 1.5e6 });
    report({ ...event, phase: 'done', bytes: 2e6 });
    assert.deepEqual(writes, [
      '\r\x1b[Kigbert: o/n vocab.txt: 0.0 MB / 2.0 MB (0%)',
      '\r\x1b[Kigbert: o/n vocab.txt: 1.5 MB / 2.0 MB (75%)',
      '\r\x1b[Kigbert: o/n vocab.txt: downloaded 2.0 MB\n',
    ]);
  });

  test('on a pipe: one line per finished file and a line every few seconds, not per chunk', () => {
    const lines: string[] = [];
    let clock = 0;
    const report = streamProgress({ isTTY: false, write: (t) => lines.push(t) }, () => clock);
    const event = { repo: 'o/n', file: 'model.safetensors', total: 100e6 };
    report({ ...event, phase: 'start', bytes: 0 });
    for (let i = 1; i <= 10; i++) {
      clock += 1000;
      report({ ...event, phase: 'data', bytes: i * 1e6 });
    }
    report({ ...event, phase: 'done', bytes: 100e6 });
    assert.deepEqual(lines, [
      'igbert: o/n model.safetensors: 5.0 MB / 100.0 MB (5%)\n',
      'igbert: o/n model.safetensors: 10.0 MB / 100.0 MB (10%)\n',
      'igbert: o/n model.safetensors: downloaded 100.0 MB\n',
    ]);
  });
});

describe('settings from the environment (as huggingface_hub reads them)', () => {
  const home = '/home/someone';
  const cases: [string, Record<string, string>, string][] = [
    ['default', {}, join(homedir(), '.cache', 'huggingface', 'hub')],
    ['XDG_CACHE_HOME', { XDG_CACHE_HOME: '/xdg' }, '/xdg/huggingface/hub'],
    ['HF_HOME', { HF_HOME: home, XDG_CACHE_HOME: '/xdg' }, `${home}/hub`],
    ['legacy HUGGINGFACE_HUB_CACHE', { HUGGINGFACE_HUB_CACHE: '/legacy', HF_HOME: home }, '/legacy'],
    ['HF_HUB_CACHE wins', { HF_HUB_CACHE: '/hub-cache', HUGGINGFACE_HUB_CACHE: '/legacy', HF_HOME: home }, '/hub-cache'],
    ['~ expanded', { HF_HOME: '~/hf' }, join(homedir(), 'hf', 'hub')],
  ];
  for (const [label, env, expected] of cases) test(`cache folder: ${label}`, () => assert.equal(hubCacheDir(env), expected));

  test('token: HF_TOKEN, then HUGGING_FACE_HUB_TOKEN, then $HF_HOME/token; false sends none', () => {
    const hfHome = mkdtempSync(join(tmpdir(), 'igbert-hf-home-'));
    assert.equal(hubToken({ HF_HOME: hfHome }), undefined);
    writeFileSync(join(hfHome, 'token'), 'hf_from_file\n');
    assert.equal(hubToken({ HF_HOME: hfHome }), 'hf_from_file');
    assert.equal(hubToken({ HF_HOME: hfHome, HUGGING_FACE_HUB_TOKEN: 'hf_legacy' }), 'hf_legacy');
    assert.equal(hubToken({ HF_HOME: hfHome, HF_TOKEN: ' hf_env ', HUGGING_FACE_HUB_TOKEN: 'hf_legacy' }), 'hf_env');
    assert.equal(hubSettings({ token: false }, { HF_TOKEN: 'hf_env' }).token, undefined);
  });

  test('offline, endpoint and progress switches', () => {
    for (const value of ['1', 'true', 'YES', 'on']) assert.equal(hubSettings({}, { HF_HUB_OFFLINE: value }).offline, true);
    assert.equal(hubSettings({}, { HF_HUB_OFFLINE: '0' }).offline, false);
    assert.equal(hubSettings({}, { TRANSFORMERS_OFFLINE: '1' }).offline, true);
    assert.equal(hubSettings({ offline: false }, { HF_HUB_OFFLINE: '1' }).offline, false, 'explicit option wins');
    assert.equal(hubSettings({}, {}).endpoint, 'https://huggingface.co');
    assert.equal(hubSettings({}, { HF_ENDPOINT: 'https://hf-mirror.example/' }).endpoint, 'https://hf-mirror.example');
    assert.throws(() => hubSettings({}, { HF_ENDPOINT: 'hf-mirror.example' }), /HF_ENDPOINT "hf-mirror.example" is not an http\(s\) URL/);
    assert.equal(hubSettings({}, { HF_HUB_DISABLE_PROGRESS_BARS: '1' }).progress, false);
    assert.throws(() => hubSettings({ revision: '../escape' }), UsageError);
  });
});

describe('what counts as a Hub id', () => {
  const cases: [string, boolean][] = [
    ['Exscientia/IgBert', true],
    ['org/model.v2-final_1', true],
    ['IgBert', false], // a bare name is a folder name here
    ['./org/model', false],
    ['org/../x', false],
    ['org--x/model', false],
    ['/abs/path', false],
    ['org/model/extra', false],
    ['org/-model', false],
  ];
  for (const [name, expected] of cases) test(`${name} -> ${expected}`, () => assert.equal(isHubId(name), expected));

  test('an existing local folder wins over the Hub, and --revision on it is a usage error', async () => {
    assert.equal(await resolveModelDir(H64, options()), H64);
    await assert.rejects(resolveModelDir(H64, options({ revision: 'main' })), UsageError);
    assert.equal(hub.requests.length, 0);
  });
});
