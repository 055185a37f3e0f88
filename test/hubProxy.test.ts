/**
 * Hub downloads through an HTTP proxy named by HTTP_PROXY / HTTPS_PROXY (minus NO_PROXY), as huggingface_hub does:
 * a local CONNECT proxy stands between igbert and the local stand-in Hub (test/hubServer.ts) and records each tunnel.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { HubError, resolveModelDir, type HubOptions } from '../src/hub/index.js';
import { CHECKPOINTS } from './helpers.js';
import { FakeHub, filesOf } from './hubServer.js';

const REPO = 'test-org/IgBert-tiny';
const PROXY_VARIABLES = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy'];

interface Tunnel {
  target: string;
  authorization: string | undefined;
}

/** A minimal forward proxy: answers CONNECT host:port by opening that TCP connection and splicing the two. */
async function startProxy(): Promise<{ url: string; tunnels: Tunnel[]; close: () => Promise<void> }> {
  const tunnels: Tunnel[] = [];
  const server: Server = createServer((_, response) => response.writeHead(405).end('CONNECT only'));
  server.on('connect', (request, client, head) => {
    tunnels.push({ target: request.url ?? '', authorization: request.headers['proxy-authorization'] });
    const [host, port] = (request.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    close: () => {
      server.closeAllConnections();
      return new Promise((done) => server.close(() => done()));
    },
  };
}

let hub: FakeHub;
let proxy: Awaited<ReturnType<typeof startProxy>>;
let cacheDir: string;
const saved: Record<string, string | undefined> = {};
const options = (): HubOptions => ({ endpoint: hub.endpoint, cacheDir, token: false, progress: false, retries: 1 });
const hostOf = (url: string): string => new URL(url).host;

before(async () => {
  hub = await FakeHub.start();
  hub.addRepo(REPO, { v1: filesOf(join(CHECKPOINTS, 'mlm-h64')) }, { main: 'v1' });
  proxy = await startProxy();
  for (const name of PROXY_VARIABLES) saved[name] = process.env[name];
});
after(async () => {
  await proxy.close();
  await hub.close();
});
beforeEach(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'igbert-proxy-'));
  hub.reset();
  proxy.tunnels.length = 0;
  for (const name of PROXY_VARIABLES) delete process.env[name];
});
afterEach(() => {
  for (const name of PROXY_VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

describe('proxies from the environment', () => {
  test('HTTP_PROXY: the Hub and the CDN are both reached through the proxy, and the files arrive intact', async () => {
    process.env['HTTP_PROXY'] = proxy.url;
    const dir = await resolveModelDir(REPO, options());
    assert.ok(readdirSync(dir).includes('model.safetensors'));
    const targets = new Set(proxy.tunnels.map((t) => t.target));
    assert.ok(targets.has(hostOf(hub.endpoint)), `tunnels: ${[...targets].join(', ')}`);
    assert.ok(targets.has(hostOf(hub.cdn)), 'the CDN download went through the proxy too');
    assert.ok(hub.requests.some((r) => r.server === 'cdn' && r.method === 'GET'));
  });

  test('credentials in the proxy URL are sent as Proxy-Authorization: Basic', async () => {
    const withUser = new URL(proxy.url);
    withUser.username = 'alice';
    withUser.password = 's3cret';
    process.env['http_proxy'] = withUser.href;
    await resolveModelDir(REPO, options());
    assert.ok(proxy.tunnels.length > 0);
    for (const tunnel of proxy.tunnels) assert.equal(tunnel.authorization, `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
  });

  test('NO_PROXY: listed hosts are reached directly', async () => {
    process.env['HTTP_PROXY'] = proxy.url;
    process.env['NO_PROXY'] = '127.0.0.1';
    await resolveModelDir(REPO, options());
    assert.equal(proxy.tunnels.length, 0);
    assert.ok(hub.requests.length > 0);
  });

  test('HTTPS_PROXY alone does not apply to an http:// endpoint (as requests and httpx)', async () => {
    process.env['HTTPS_PROXY'] = proxy.url;
    await resolveModelDir(REPO, options());
    assert.equal(proxy.tunnels.length, 0);
  });

  test('an unreachable proxy: the error names it (password hidden), NO_PROXY and offline mode', async () => {
    const closed = await startProxy();
    await closed.close();
    const dead = new URL(closed.url);
    dead.username = 'bob';
    dead.password = 'hunter2';
    process.env['HTTP_PROXY'] = dead.href;
    let caught: unknown;
    await resolveModelDir(REPO, options()).catch((error) => (caught = error));
    assert.ok(caught instanceof HubError && caught.reason === 'unreachable', String(caught));
    const message = (caught as HubError).message;
    assert.ok(message.includes(`through the proxy http://***@${hostOf(closed.url)}`), message);
    assert.doesNotMatch(message, /hunter2/);
    assert.match(message, /NO_PROXY/);
    assert.match(message, /HF_HUB_OFFLINE=1/);
    assert.equal(hub.requests.length, 0);
  });
});
