/**
 * Load test of `igbert serve` on loopback (bounded: fixed connections and durations), against the offline library on
 * the same antibodies, the same model and the same cores, in one run:
 *
 *   node --import tsx scripts/bench-server.ts [--connections 32] [--items 1] [--duration 15] [--rounds 3] [--threads N]
 *        [--overload-connections 128] [--overload-duration 20] [--checkpoint DIR] [--out FILE]
 *
 * 1+2, alternated for --rounds rounds so that both see the same background load on a shared machine:
 *   offline: the library embeds every pair (embedEncoded, one call, its token-budget batches);
 *   served: `igbert serve` in its own process; autocannon keeps N connections busy with POST /v1/embed requests of
 *   --items pairs each (cycling through the same pairs) for --duration seconds: seq/s, latency (after a warm-up).
 *   The ratio served/offline is reported per round and as the median.
 * 3. overload: a server whose queue holds only a few requests, under more connections: every answer must be 200 or
 *    429 (no connection errors), memory (RSS, sampled) flat, /health still 200 afterwards.
 * For both, the server's CPU time per answer (Linux /proc) is reported too: on a shared machine it moves much less
 * with the background load than throughput does, so it compares servers (e.g. before and after a change) fairly.
 * The checkpoint is a small random one (`igbert init --random --preset tiny`), created when absent. Pairs come from
 * ../shared/data/therasabdab_paired.csv when present, else generated antibody-like pairs.
 */
import autocannon from 'autocannon';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IgBert } from '../src/index.js';
import { SeededRandom } from '../src/init/random.js';
import { embedEncoded } from '../src/tasks/embed.js';
import type { EncodedAntibody } from '../src/tokenizer/antibody.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'igbert.js');
const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '32' },
    items: { type: 'string', default: '1' },
    duration: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(cpus().length) },
    'overload-connections': { type: 'string', default: '128' },
    'overload-duration': { type: 'string', default: '20' },
    checkpoint: { type: 'string', default: join(homedir(), '.cache', 'igbert', 'bench', 'tiny-random') },
    out: { type: 'string', default: 'bench-server-results.json' },
  },
});
const connections = Number(args.connections);
const itemsPerRequest = Number(args.items);
const threads = Number(args.threads);

interface Pair {
  id: string;
  heavy: string;
  light: string;
}

function loadPairs(): { pairs: Pair[]; source: string } {
  const path = join(ROOT, '..', 'shared', 'data', 'therasabdab_paired.csv');
  if (existsSync(path)) {
    const pairs = readFileSync(path, 'utf8').trim().split('\n').slice(1).map((line) => {
      const [id, heavy, light] = line.split(',');
      return { id: id as string, heavy: heavy as string, light: light as string };
    });
    return { pairs, source: 'Thera-SAbDab pairs (therasabdab_paired.csv)' };
  }
  const random = new SeededRandom(1);
  const chain = (length: number): string => Array.from({ length }, () => 'ACDEFGHIKLMNPQRSTVWY'[random.nextUint32() % 20]).join('');
  return { pairs: Array.from({ length: 1000 }, (_, i) => ({ id: `gen-${i}`, heavy: chain(120), light: chain(108) })), source: 'generated pairs (120 + 108 residues)' };
}

/** CPU seconds (user + system) a process has used so far (Linux /proc; NaN elsewhere). */
function cpuSeconds(pid: number): number {
  try {
    // Fields after the command name: state is the 3rd, utime and stime the 14th and 15th, in USER_HZ (100 on Linux).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/** Resident memory of a process in MiB (Linux /proc; undefined elsewhere). */
function rssMiB(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function startServer(extra: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--model', args.checkpoint, '--port', '0', '--threads', String(threads), ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk.toString()));
  const deadline = Date.now() + 60_000;
  while (!/ready:/.test(stderr)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`igbert serve did not start:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, url: /listening on (http:\/\/\S+)/.exec(stderr)![1] as string };
}

async function stopServer(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

/** autocannon with request bodies cycling through `bodies` over all connections (shared cursor). */
function load(url: string, bodies: string[], options: { connections: number; duration: number }) {
  let next = 0;
  return autocannon({
    url,
    connections: options.connections,
    duration: options.duration,
    timeout: 60,
    requests: [
      {
        method: 'POST',
        path: '/v1/embed',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] as string }),
      },
    ],
  });
}

/** Mean items per dispatch from the server's Prometheus histogram. */
async function meanBatchItems(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = Number(/igbert_batch_items_sum\{task="embed"\} (\S+)/.exec(text)?.[1]);
  const count = Number(/igbert_batch_items_count\{task="embed"\} (\S+)/.exec(text)?.[1]);
  return sum / count;
}

async function main(): Promise<void> {
  spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (!existsSync(join(args.checkpoint, 'config.json'))) {
    const init = spawnSync(process.execPath, [BIN, 'init', '--random', '--preset', 'tiny', '--output', args.checkpoint], { stdio: 'inherit' });
    if (init.status !== 0) throw new Error('igbert init failed');
  }
  const { pairs: all, source } = loadPairs();

  const model = await IgBert.load(args.checkpoint, { threads });
  const pairs: Pair[] = [];
  const encoded: EncodedAntibody[] = [];
  for (const pair of all) {
    try {
      encoded.push(...model.encode([pair]));
      pairs.push(pair);
    } catch {
      // rows the model rejects (none in Thera-SAbDab today) are left out of both sides
    }
  }
  const tokens = encoded.reduce((sum, e) => sum + e.inputIds.length, 0) / encoded.length;
  const bodies: string[] = [];
  for (let i = 0; i < pairs.length; i += itemsPerRequest) bodies.push(JSON.stringify({ items: pairs.slice(i, i + itemsPerRequest) }));
  console.log(`${pairs.length} pairs, ${tokens.toFixed(0)} tokens on average; ${connections} connections x ${itemsPerRequest} item(s) per request`);

  const served = await startServer([]);
  await embedEncoded(model, encoded.slice(0, 64)); // warm-ups, not counted
  await load(served.url, bodies, { connections, duration: 3 });
  const rounds: { offline: number; served: number; ratio: number; cpuMsPerRequest: number; result: Awaited<ReturnType<typeof load>> }[] = [];
  const rss: number[] = [];
  for (let round = 0; round < Number(args.rounds); round++) {
    // 1. Offline: the library on every valid pair, in one call.
    const started = performance.now();
    await embedEncoded(model, encoded);
    const offline = encoded.length / ((performance.now() - started) / 1000);
    // 2. Served, under N concurrent clients.
    const sampler = setInterval(() => rss.push(rssMiB(served.child.pid!) ?? NaN), 500);
    const cpuBefore = cpuSeconds(served.child.pid!);
    const result = await load(served.url, bodies, { connections, duration: Number(args.duration) });
    const cpuMsPerRequest = (1000 * (cpuSeconds(served.child.pid!) - cpuBefore)) / (result['2xx'] + result.non2xx);
    clearInterval(sampler);
    const seqPerSecond = (result['2xx'] * itemsPerRequest) / result.duration;
    rounds.push({ offline, served: seqPerSecond, ratio: seqPerSecond / offline, cpuMsPerRequest, result });
    console.log(`round ${round + 1}: offline ${offline.toFixed(1)} seq/s, served ${seqPerSecond.toFixed(1)} seq/s (${((100 * seqPerSecond) / offline).toFixed(0)}%), p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, server CPU ${cpuMsPerRequest.toFixed(2)} ms/request`);
  }
  await model.dispose();
  const batchItems = await meanBatchItems(served.url);
  const servedExit = await stopServer(served.child);
  const sum = (key: '2xx' | 'non2xx' | 'errors' | 'timeouts'): number => rounds.reduce((n, r) => n + r.result[key], 0);
  const servedReport = {
    connections,
    items_per_request: itemsPerRequest,
    duration_s_per_round: Number(args.duration),
    requests_2xx: sum('2xx'),
    non_2xx: sum('non2xx'),
    errors: sum('errors'),
    timeouts: sum('timeouts'),
    latency_ms_median_of_rounds: {
      p50: median(rounds.map((r) => r.result.latency.p50)),
      p99: median(rounds.map((r) => r.result.latency.p99)),
      max: Math.max(...rounds.map((r) => r.result.latency.max)),
    },
    seq_per_s_median: median(rounds.map((r) => r.served)),
    offline_seq_per_s_median: median(rounds.map((r) => r.offline)),
    ratio_median: median(rounds.map((r) => r.ratio)),
    server_cpu_ms_per_request_median: median(rounds.map((r) => r.cpuMsPerRequest)),
    rounds: rounds.map(({ offline, served: s, ratio, cpuMsPerRequest }) => ({ offline_seq_per_s: offline, served_seq_per_s: s, ratio, server_cpu_ms_per_request: cpuMsPerRequest })),
    mean_items_per_dispatch: batchItems,
    server_rss_mib: { min: Math.min(...rss), max: Math.max(...rss) },
    exit_code_after_sigterm: servedExit,
  };
  console.log('served:', JSON.stringify(servedReport));

  // 3. Overload: a queue of about 4 requests' work, many more clients.
  const queueTokens = Math.round(4 * itemsPerRequest * tokens);
  const overloaded = await startServer(['--max-queue-tokens', String(queueTokens)]);
  const overloadRss: number[] = [];
  const overloadSampler = setInterval(() => overloadRss.push(rssMiB(overloaded.child.pid!) ?? NaN), 1000);
  const overloadCpu = cpuSeconds(overloaded.child.pid!);
  const flood = await load(overloaded.url, bodies, { connections: Number(args['overload-connections']), duration: Number(args['overload-duration']) });
  const overloadCpuMs = 1000 * (cpuSeconds(overloaded.child.pid!) - overloadCpu);
  clearInterval(overloadSampler);
  const health = (await fetch(`${overloaded.url}/health`)).status;
  const overloadExit = await stopServer(overloaded.child);
  const statuses = Object.fromEntries(Object.entries(flood.statusCodeStats).map(([code, { count }]) => [code, count]));
  const overloadReport = {
    connections: Number(args['overload-connections']),
    max_queue_tokens: queueTokens,
    duration_s: flood.duration,
    statuses,
    errors: flood.errors,
    timeouts: flood.timeouts,
    latency_ms: { p50: flood.latency.p50, p99: flood.latency.p99 },
    seq_per_s: ((statuses['200'] ?? 0) * itemsPerRequest) / flood.duration,
    server_cpu_ms_per_answer: overloadCpuMs / (flood['2xx'] + flood.non2xx),
    server_rss_mib_each_second: overloadRss.map((v) => Math.round(v)),
    health_after: health,
    exit_code_after_sigterm: overloadExit,
  };
  console.log('overload:', JSON.stringify(overloadReport));

  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    checkpoint: args.checkpoint,
    threads,
    pairs: { source, count: pairs.length, mean_tokens: tokens },
    served: servedReport,
    overload: overloadReport,
  };
  writeFileSync(args.out, JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${args.out}`);
  const ok = servedReport.errors === 0 && servedReport.non_2xx === 0 && overloadReport.errors === 0 && Object.keys(statuses).every((s) => s === '200' || s === '429') && health === 200;
  if (!ok) process.exitCode = 1;
}

await main();
