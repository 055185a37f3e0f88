/**
 * End-to-end tests of the built page in Debian's Chromium (headless, playwright-core): load a small random
 * checkpoint, paste an antibody, run every view, read the numbers from the page and compare them with the Node
 * library's output for the same input, with the core's tolerances (likelihoods: 1e-4 absolute in natural-log units;
 * embeddings: 1e-5 x max |reference|). Both paths: wasm (GPU off) and WebGPU (Chromium's software adapter).
 * SwiftShader runs WebGPU ~50x slower than wasm, so the WebGPU pass uses the one-pass methods.
 * The model address: relative URLs resolve against the page, and every failure to load shows a message.
 * Screenshots go to test-artifacts/web/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.js';
import { IgBert, type AntibodyRecord } from '../src/index.js';
import { convertCheckpoint } from '../src/node/convertModel.js';
import { assertAbsClose, assertClose, CHECKPOINTS, ROOT } from './helpers.js';
import { chromiumMissing, launchChromium, serveFolders, type BrowserPath, type StaticServer } from './webHarness.js';

const H64 = join(CHECKPOINTS, 'mlm-h64');
const LEGACY = join(CHECKPOINTS, 'mlm-legacy');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'web');
const ANTIBODY = { id: 'antibody', heavy: 'EVQLVESGGGLVQPGGSLRLSCAASGFNIKDTYIH', light: 'DIQMTQSPSSLSASVGDRVTITC' };
const MASKED = { id: 'antibody', heavy: 'EVQLVESGGGLVQPGG***LSCAASGFNIKDTYIH', light: 'DIQMTQSPSSL*ASVGDRVTITC' };
const BATCH_CSV =
  'id,heavy,light,group\n' +
  `ab1,${ANTIBODY.heavy},${ANTIBODY.light},a\n` +
  'ab2,QVQLQESGPGLVKPSETLSLTCTVSGGSIS,EIVLTQSPGTLSLSPGERATLSC,b\n' +
  'bad,EVQLJ,,a\n' +
  'ab4,EVQLLESGGGLVQPGGSLRLSCAASGFTFS,,b\n';
const BATCH_VALID: AntibodyRecord[] = [
  { id: 'ab1', heavy: ANTIBODY.heavy, light: ANTIBODY.light },
  { id: 'ab2', heavy: 'QVQLQESGPGLVKPSETLSLTCTVSGGSIS', light: 'EIVLTQSPGTLSLSPGERATLSC' },
  { id: 'ab4', heavy: 'EVQLLESGGGLVQPGGSLRLSCAASGFTFS', light: '' },
];

const numbersOf = (page: Page, selector: string): Promise<number[]> =>
  page.$$eval(selector, (elements) => elements.map((e) => Number(e.getAttribute('data-value'))));

async function runView(page: Page, button: string, status: string): Promise<string> {
  await page.click(button);
  await page.waitForFunction((s) => ['done', 'error'].includes(document.querySelector(s)?.getAttribute('data-state') ?? ''), status, {
    timeout: 180_000,
  });
  const text = (await page.textContent(status)) ?? '';
  assert.equal(await page.getAttribute(status, 'data-state'), 'done', text);
  return text;
}

async function loadModel(page: Page, url: string, options: { device: string; dtype?: string }): Promise<string> {
  await page.fill('#model-url', url);
  await page.selectOption('#dtype', options.dtype ?? 'fp32');
  await page.selectOption('#device', options.device);
  await page.evaluate(() => delete document.body.dataset['ready']);
  await page.click('#load');
  await page.waitForFunction(() => document.body.dataset['ready'], null, { timeout: 120_000 });
  return (await page.textContent('#load-status')) ?? '';
}

const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

describe('igbert/web page in Chromium', { skip: chromiumMissing, timeout: 600_000 }, () => {
  let server: StaticServer;
  let node: IgBert;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const dist = await buildWeb(mkdtempSync(join(tmpdir(), 'igbert-web-')));
    const converted = mkdtempSync(join(tmpdir(), 'igbert-converted-'));
    await convertCheckpoint(H64, converted, { dtype: 'int8' });
    server = await serveFolders({ '/': dist, '/app/': dist, '/model/': H64, '/sharded/': LEGACY, '/converted/': converted, '/empty/': join(ROOT, 'docs') });
    node = await IgBert.load(H64);
  });
  after(async () => {
    await node?.dispose();
    await server?.close();
  });

  for (const path of ['wasm', 'webgpu'] as BrowserPath[]) {
    describe(`${path} path`, () => {
      let browser: Browser;
      let page: Page;
      // Software WebGPU is slow: the exact multi-pass methods run on wasm only.
      const scoreMethod = path === 'wasm' ? 'pll' : 'wt-marginal';
      const scanMethod = path === 'wasm' ? 'masked-marginal' : 'wt-marginal';

      before(async () => {
        browser = await launchChromium(path);
        page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
        await page.goto(`${server.url}/`);
      });
      after(async () => browser?.close());

      it('loads the model and says what runs where', async () => {
        const status = await loadModel(page, `${server.url}/model/`, { device: path });
        assert.match(status, /Loaded .*2 layers, hidden 128, fp32/);
        assert.equal(await page.getAttribute('body', 'data-backend'), path);
        const backend = (await page.textContent('#backend')) ?? '';
        assert.match(backend, path === 'wasm' ? /Runs on WebAssembly \(\d+ threads?\)/ : /Runs on WebGPU \(adapter: .*swiftshader/);
        assert.match((await page.textContent('.privacy')) ?? '', /never leave this computer/);
      });

      it('validates chains inline, naming the position and character', async () => {
        await page.fill('#heavy', 'EVQLJ');
        assert.match((await page.textContent('#heavy-message')) ?? '', /heavy chain, position 5: character "J" is not allowed/);
        assert.equal(await page.getAttribute('#heavy', 'aria-invalid'), 'true');
        await page.fill('#heavy', ANTIBODY.heavy);
        await page.fill('#light', ANTIBODY.light);
        assert.equal((await page.textContent('#heavy-message')) ?? '', '');
      });

      it('likelihood track equals the Node library', async () => {
        await page.selectOption('#score-method', scoreMethod);
        await runView(page, '#run-score', '#score-status');
        const [expected] = await node.score([ANTIBODY], { method: scoreMethod, perResidue: true });
        assertAbsClose(await numbersOf(page, '#score-track rect[data-value]'), expected?.perResidue as Float32Array, `${path} per-residue log p`);
        assertAbsClose(await numbersOf(page, '#score-summary [data-key="log_likelihood"]'), [expected?.logLikelihood as number], `${path} log-likelihood`, 1e-3);
        assert.deepEqual(
          await page.$$eval('#score-summary [data-key]', (elements) => elements.map((e) => e.getAttribute('data-key'))),
          ['log_likelihood', 'mean_log_likelihood', 'perplexity', 'heavy_log_likelihood', 'light_log_likelihood'],
          'the summary is keyed by the CLI field names',
        );
        assert.deepEqual(
          [...new Set(await page.$$eval('#score-track rect[data-chain]', (elements) => elements.map((e) => e.getAttribute('data-chain'))))],
          ['H', 'L'],
        );
        await shot(page, `${path}-likelihood`);
      });

      it('mutational scan heatmap equals the Node library and reads out by keyboard', async () => {
        await page.click('#tab-scan');
        await page.selectOption('#scan-method', scanMethod);
        await runView(page, '#run-scan', '#scan-status');
        const [expected] = await node.scan([ANTIBODY], { method: scanMethod });
        const cells = await page.$$eval('#scan-heatmap rect[data-value]', (elements) =>
          elements.map((e) => ({ column: Number(e.getAttribute('data-column')), row: Number(e.getAttribute('data-row')), value: Number(e.getAttribute('data-value')) })));
        assert.equal(cells.length, (ANTIBODY.heavy.length + ANTIBODY.light.length) * 20);
        assertAbsClose(cells.map((c) => c.value), cells.map((c) => expected?.positions[c.column]?.scores[c.row] as number), `${path} scan scores`);
        assert.equal(await page.locator('#scan-heatmap rect[data-wild-type]').count(), ANTIBODY.heavy.length + ANTIBODY.light.length);
        await page.focus('#scan-heatmap svg');
        await page.keyboard.press('ArrowRight');
        await page.keyboard.press('ArrowDown');
        // Column 1 = heavy V2, row 1 = C.
        assert.match((await page.textContent('#scan-readout')) ?? '', /^H:V2C: score /);
        await shot(page, `${path}-scan`);
      });

      it('infill candidates equal the Node library', async () => {
        await page.keyboard.press('Shift+Tab'); // leave the chart
        await page.click('#tab-fill');
        await page.fill('#heavy', MASKED.heavy);
        await page.fill('#light', MASKED.light);
        await runView(page, '#run-fill', '#fill-status');
        const [expected] = await node.fill([MASKED], { candidates: 5 });
        const rows = await page.$$eval('#fill-output tbody tr', (trs) =>
          trs.map((tr) => Array.from(tr.querySelectorAll('li')).map((li) => ({ residue: li.getAttribute('data-residue'), logprob: Number(li.getAttribute('data-value')) }))));
        assert.equal(rows.length, 4);
        assert.deepEqual(await page.$$eval('#fill-output tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-chain'))), ['H', 'H', 'H', 'L']);
        rows.forEach((candidates, i) => {
          const want = expected?.positions[i]?.candidates ?? [];
          assert.deepEqual(candidates.map((c) => c.residue), want.map((c) => c.residue), `${path} candidate order at masked position ${i + 1}`);
          assertAbsClose(candidates.map((c) => c.logprob), want.map((c) => c.logprob), `${path} candidate log p`);
        });
        assert.equal(await page.textContent('#fill-heavy'), expected?.designs[0]?.heavy);
        await shot(page, `${path}-fill`);
        await page.fill('#heavy', ANTIBODY.heavy);
        await page.fill('#light', ANTIBODY.light);
      });

      it('batch: rejects bad rows by name, embeds and scores the rest, downloads NPY and CSV', async () => {
        await page.click('#tab-batch');
        await page.setInputFiles('#batch-file', { name: 'pairs.csv', mimeType: 'text/csv', buffer: Buffer.from(BATCH_CSV) });
        await page.selectOption('#batch-method', 'wt-marginal');
        await runView(page, '#run-batch', '#batch-status');
        const problems = await page.$$eval('#batch-problems li', (lis) => lis.map((li) => li.textContent ?? ''));
        assert.equal(problems.length, 1);
        assert.match(problems[0] as string, /record 3 \(id "bad"\), heavy chain, position 5/);
        assert.equal(await page.locator('#batch-scatter circle.point').count(), 3);
        await page.selectOption('#batch-colour', 'group');

        const download = async (button: string): Promise<Buffer> => {
          const [file] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
          return readFileSync((await file.path()) as string);
        };
        const npy = await download('#download-npy');
        const headerLength = 10 + npy.readUInt16LE(8);
        assert.match(npy.subarray(10, headerLength).toString('latin1'), /'shape': \(3, 128\)/);
        const fromPage = new Float32Array(npy.buffer.slice(npy.byteOffset + headerLength, npy.byteOffset + npy.byteLength));
        const expected = await node.embed(BATCH_VALID);
        assertClose(fromPage, expected.flatMap((e) => [...e.embedding]), `${path} embeddings (NPY)`);

        const scores = (await download('#download-scores')).toString('utf8').trim().split('\n').map((line) => line.split(','));
        // What `igbert score --keep-cols heavy,light,group` writes: kept columns right after the id.
        assert.deepEqual(scores[0], [
          'id', 'heavy', 'light', 'group', 'method', 'log_likelihood', 'mean_log_likelihood', 'perplexity', 'heavy_log_likelihood', 'light_log_likelihood',
        ]);
        const nodeScores = await node.score(BATCH_VALID, { method: 'wt-marginal' });
        assert.deepEqual(scores.slice(1).map((row) => row[0]), ['ab1', 'ab2', 'ab4']);
        assert.deepEqual(scores.slice(1).map((row) => row[4]), ['wt-marginal', 'wt-marginal', 'wt-marginal']);
        assertAbsClose(scores.slice(1).map((row) => Number(row[5])), nodeScores.map((s) => s.logLikelihood), `${path} batch log-likelihood (CSV)`, 1e-3);
        assert.equal(scores[3]?.[9], '', 'a chain the row lacks is an empty cell');
        const csv = (await download('#download-embeddings-csv')).toString('utf8').trim().split('\n');
        assert.equal(csv.length, 4);
        await shot(page, `${path}-batch`);
      });
    });
  }

  describe('loading (wasm)', () => {
    let browser: Browser;
    before(async () => {
      browser = await launchChromium('wasm');
    });
    after(async () => browser?.close());

    it('a second visit loads from the browser cache without downloading the weights', async () => {
      const page = await browser.newPage();
      await page.goto(`${server.url}/`);
      assert.match(await loadModel(page, `${server.url}/model/`, { device: 'wasm', dtype: 'fp16' }), /converted to fp16 in this browser.*cached in this browser/);
      const before = server.requests.filter((p) => p.endsWith('model.safetensors')).length;
      await page.reload();
      assert.match(await loadModel(page, `${server.url}/model/`, { device: 'wasm', dtype: 'fp16' }), /loaded from this browser's cache/);
      assert.equal(server.requests.filter((p) => p.endsWith('model.safetensors')).length, before, 'weights downloaded again');
      await page.close();
    });

    it('pre-converted int8 (igbert convert) and sharded fp16 checkpoints give the Node library numbers', async () => {
      const page = await browser.newPage();
      await page.goto(`${server.url}/`);
      await page.fill('#heavy', ANTIBODY.heavy);
      await page.fill('#light', ANTIBODY.light);
      await page.selectOption('#score-method', 'wt-marginal');
      for (const [url, dir, dtype] of [['/converted/', H64, 'int8'], ['/sharded/', LEGACY, 'fp16']] as const) {
        assert.match(await loadModel(page, `${server.url}${url}`, { device: 'wasm', dtype }), dtype === 'int8' ? /pre-converted int8/ : /converted to fp16/);
        await runView(page, '#run-score', '#score-status');
        await using reference = await IgBert.load(dir, { dtype });
        const [expected] = await reference.score([ANTIBODY], { method: 'wt-marginal', perResidue: true });
        assertAbsClose(await numbersOf(page, '#score-track rect[data-value]'), expected?.perResidue as Float32Array, `${url} ${dtype} per-residue log p`);
      }
      await page.close();
    });

    it('files picked from disk load without any model download', async () => {
      const page = await browser.newPage();
      await page.goto(`${server.url}/`);
      const picked = ['config.json', 'vocab.txt', 'tokenizer_config.json', 'model.safetensors'].map((name) => join(H64, name));
      await page.setInputFiles('#model-files', picked);
      const requestsBefore = server.requests.length;
      const status = await loadModel(page, '', { device: 'wasm' });
      assert.match(status, /Loaded local files: config\.json, .*model\.safetensors/);
      assert.deepEqual(server.requests.slice(requestsBefore).filter((p) => !p.startsWith('/ort/') && !p.startsWith('/assets/')), []);
      await page.close();
    });

    it('a folder without weights is refused with a message saying what to point at', async () => {
      const page = await browser.newPage();
      await page.goto(`${server.url}/`);
      await loadModel(page, `${server.url}/empty/`, { device: 'wasm' });
      assert.match((await page.textContent('#load-status')) ?? '', /Could not load the model: .*config\.json|no model\.safetensors/);
      assert.equal(await page.getAttribute('body', 'data-ready'), 'error');
      await page.close();
    });
  });

  // Relative addresses resolve against the page (served here from /app/ as well as /); every failure says why.
  describe('the model address (wasm)', () => {
    let browser: Browser;
    let page: Page;
    before(async () => {
      browser = await launchChromium('wasm');
      page = await browser.newPage();
    });
    after(async () => browser?.close());

    /** Submits the form with `address`; returns the status line once the page says it is ready or failed. */
    async function load(address: string): Promise<{ state: string | undefined; status: string }> {
      await page.goto(`${server.url}/app/`);
      await page.fill('#model-url', address);
      await page.selectOption('#device', 'wasm');
      await page.click('#load');
      await page.waitForFunction(() => document.body.dataset['ready'], null, { timeout: 30_000 });
      return { state: await page.getAttribute('body', 'data-ready') ?? undefined, status: (await page.textContent('#load-status')) ?? '' };
    }

    for (const address of ['/model/', '../model/', '../model']) {
      it(`"${address}" loads the model served at /model/`, async () => {
        const { state, status } = await load(address);
        assert.equal(state, 'true', status);
        assert.match(status, new RegExp(`Loaded ${server.url}/model/ \\(2 layers`));
      });
    }

    it('a deep link with a relative ?model= loads it too', async () => {
      await page.goto(`${server.url}/app/?model=..%2Fmodel%2F&device=wasm&autoload=1`);
      await page.waitForFunction(() => document.body.dataset['ready'], null, { timeout: 30_000 });
      assert.equal(await page.getAttribute('body', 'data-ready'), 'true', (await page.textContent('#load-status')) ?? '');
    });

    for (const [address, message] of [
      ['model/', /Could not load the model: .*\/app\/model\//],
      ['http://[not-an-address', /is not a URL/],
    ] as const) {
      it(`"${address}" fails with a message`, async () => {
        const { state, status } = await load(address);
        assert.equal(state, 'error', status);
        assert.match(status, message);
      });
    }

    it('an error nothing else catches is shown, not only logged', async () => {
      await page.goto(`${server.url}/app/`);
      await page.evaluate(() => {
        setTimeout(() => {
          throw new Error('an uncaught failure');
        });
        void Promise.reject(new Error('an unhandled rejection'));
      });
      await page.waitForFunction(() => (document.querySelector('#page-error')?.textContent ?? '').includes('an uncaught failure'));
      const shown = (await page.textContent('#page-error')) ?? '';
      assert.match(shown, /an unhandled rejection/);
      assert.equal(await page.isVisible('#page-error'), true);
    });
  });
});
