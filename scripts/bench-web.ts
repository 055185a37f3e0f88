/**
 * igbert/web in Debian's Chromium (headless): model load time (first visit: download + session; second visit: from
 * the browser cache), time to first result (one paired antibody), throughput (seq/s) and the memory of Chromium's
 * processes, for each device and dtype asked for. The model folder is `igbert convert` output (int8/fp16) or a
 * checkpoint, served from 127.0.0.1. Results go to stdout as a Markdown table and to bench-web-results.json.
 *
 *   node --import tsx scripts/bench-web.ts --model /tmp/igbert-onnx [--dtypes int8,fp16] [--devices wasm,webgpu]
 *       [--sequences 16] [--webgpu-sequences 1 (0: load only)] [--timeout 600]
 *
 * Without a GPU the WebGPU numbers are Chromium's software adapter (SwiftShader): a check that the path works, not
 * what a GPU gives.
 */
import { readFileSync, readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium, serveFolders, type BrowserPath } from '../test/webHarness.js';
import { buildWeb } from './build-web.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set((process.argv[i] as string).replace(/^--/, ''), process.argv[i + 1] ?? '');
const modelDir = args.get('model') ?? '/tmp/igbert-onnx';
const dtypes = (args.get('dtypes') ?? 'int8,fp16').split(',');
const devices = (args.get('devices') ?? 'wasm,webgpu').split(',') as BrowserPath[];
const sequences = Number(args.get('sequences') ?? 16);
const webgpuSequences = Number(args.get('webgpu-sequences') ?? 1);
const timeoutMs = Number(args.get('timeout') ?? 600) * 1000;

// Trastuzumab (README quick start): 120 + 107 residues, 231 tokens.
const ANTIBODY = {
  heavy: 'EVQLVESGGGLVQPGGSLRLSCAASGFNIKDTYIHWVRQAPGKGLEWVARIYPTNGYTRYADSVKGRFTISADTSKNTAYLQMNSLRAEDTAVYYCSRWGGDGFYAMDYWGQGTLVTVSS',
  light: 'DIQMTQSPSSLSASVGDRVTITCRASQDVNTAVAWYQQKPGKAPKLLIYSASFLYSGVPSRFSGSRSGTDFTLTISSLQPEDFATYYCQQHYTTPPTFGQGTKVEIK',
};

/** Resident memory (MiB) of every process below this one (Chromium's), not counting this one. */
function browserRssMiB(): number {
  const rootPid = process.pid;
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const ppid = Number(/PPid:\s+(\d+)/.exec(status)?.[1]);
      rss.set(Number(entry), Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0));
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended meanwhile
    }
  }
  let total = -(rss.get(rootPid) ?? 0);
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop() as number;
    total += rss.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return Math.round(total / 1024);
}

interface Row {
  device: string;
  dtype: string;
  backend?: string;
  firstLoadS?: number;
  cachedLoadS?: number;
  firstResultS?: number;
  embedSeqPerS?: number;
  scoreSeqPerS?: number;
  peakRssMiB?: number;
  error?: string;
}

async function measure(page: Page, url: string, device: BrowserPath, dtype: string): Promise<Row> {
  const row: Row = { device, dtype };
  const bench = <T>(fn: string, ...params: unknown[]): Promise<T> =>
    page.evaluate(([name, p]) => (window as any).igbertBench[name as string](...(p as unknown[])), [fn, params] as const) as Promise<T>;
  let peak = 0;
  const sample = setInterval(() => (peak = Math.max(peak, browserRssMiB())), 250);
  try {
    await page.goto(`${url}/bench.html`);
    const first = await bench<{ seconds: number; backend: string }>('load', `${url}/model/`, dtype, device, true);
    row.firstLoadS = first.seconds;
    row.backend = first.backend;
    await page.reload();
    row.cachedLoadS = (await bench<{ seconds: number }>('load', `${url}/model/`, dtype, device, true)).seconds;
    const n = device === 'webgpu' ? webgpuSequences : sequences;
    if (n === 0) return row; // load only (software WebGPU at IgBert's size takes hours per antibody)
    row.firstResultS = await bench<number>('run', 'embed', [ANTIBODY]);
    const records = Array.from({ length: n }, () => ANTIBODY);
    row.embedSeqPerS = n / (await bench<number>('run', 'embed', records));
    row.scoreSeqPerS = n / (await bench<number>('run', 'wt-marginal', records));
  } catch (error) {
    row.error = (error as Error).message.split('\n')[0];
  } finally {
    clearInterval(sample);
    row.peakRssMiB = Math.max(peak, browserRssMiB());
  }
  return row;
}

const dist = await buildWeb(mkdtempSync(join(tmpdir(), 'igbert-bench-web-')));
const server = await serveFolders({ '/': dist, '/model/': modelDir });
const rows: Row[] = [];
for (const device of devices) {
  for (const dtype of dtypes) {
    const browser = await launchChromium(device);
    const page = await browser.newPage();
    page.setDefaultTimeout(timeoutMs);
    process.stderr.write(`bench-web: ${device} ${dtype}…\n`);
    const row = await measure(page, server.url, device, dtype);
    process.stderr.write(`  ${JSON.stringify(row)}\n`);
    rows.push(row);
    await browser.close();
  }
}
await server.close();
writeFileSync('bench-web-results.json', JSON.stringify(rows, null, 2));
const f = (v: number | undefined, digits = 2): string => (v === undefined ? '—' : v.toFixed(digits));
process.stdout.write('| device | dtype | first load (s) | cached load (s) | first result (s) | embed seq/s | score seq/s | peak RSS (MiB) |\n|---|---|---|---|---|---|---|---|\n');
for (const r of rows) {
  process.stdout.write(`| ${r.device} | ${r.dtype} | ${f(r.firstLoadS, 1)} | ${f(r.cachedLoadS, 1)} | ${f(r.firstResultS)} | ${f(r.embedSeqPerS)} | ${f(r.scoreSeqPerS)} | ${r.peakRssMiB ?? '—'} |${r.error ? ` error: ${r.error}` : ''}\n`);
}
