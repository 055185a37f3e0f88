#!/usr/bin/env node
// Builds and runs the CPU simulation of the CUDA engine (see cuda_sim.h): the real kernels and context
// compiled with g++ against the simulator, cuBLASLt replaced by a CPU GEMM.
//   1. build/sim/kernels_test — test/kernels_test.cu under AddressSanitizer + UBSan, then runs it
//   2. build/sim/igbert_cuda.node — the Node-API addon on the simulator, then runs test/smoke.mjs with it
// Usage: node native/cuda/test/sim/run.mjs [--filter SUBSTRING] [--no-smoke] [--no-asan]
// Skips (exit 0) when g++ is not installed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');  // native/cuda
const out = join(root, 'build', 'sim');
const argv = process.argv.slice(2);
const filterAt = argv.indexOf('--filter');
const filter = filterAt >= 0 ? argv[filterAt + 1] : undefined;
const asan = !argv.includes('--no-asan');
const smoke = !argv.includes('--no-smoke');

if (spawnSync('g++', ['--version']).status !== 0) {
  console.log('cuda-sim: g++ not found, skipping');
  process.exit(0);
}

const napiInclude = createRequire(import.meta.url)('node-api-headers').include_dir;
const src = join(root, 'src');
const engine = [
  join(src, 'program.cpp'), join(src, 'context.cpp'),
  ...readdirSync(join(src, 'kernels')).filter((f) => f.endsWith('.cu')).map((f) => join(src, 'kernels', f)),
  join(here, 'sim_runtime.cpp'), join(here, 'gemm_sim.cpp'),
];
const base = ['-std=c++17', '-g', '-O1', '-fno-strict-aliasing', '-DIGB_SIM', `-I${join(here, 'include')}`, '-Wall', '-Wextra',
  '-Wno-unused-parameter', '-Wno-unknown-pragmas', '-Werror', '-pthread'];
const sanitize = asan ? ['-fsanitize=address,undefined', '-fno-omit-frame-pointer', '-fno-sanitize-recover=undefined'] : [];

// An object is rebuilt when its source, or any header under src/ or test/, is newer.
function newestHeader(dir) {
  let t = 0;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    const s = statSync(p);
    if (s.isDirectory()) t = Math.max(t, newestHeader(p));
    else if (f.endsWith('.h')) t = Math.max(t, s.mtimeMs);
  }
  return t;
}
const headersTime = Math.max(newestHeader(src), newestHeader(join(root, 'test')));

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: opts.capture ? ['ignore', 'pipe', 'pipe'] : 'inherit', env: opts.env ?? process.env });
    let text = '';
    if (opts.capture) {
      child.stdout.on('data', (d) => (text += d));
      child.stderr.on('data', (d) => (text += d));
    }
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(text) : reject(Object.assign(new Error(`${cmd} exited ${code}\n${text}`), { code }))));
  });
}

async function compileAll(files, flags, dir) {
  mkdirSync(dir, { recursive: true });
  const objs = files.map((f) => join(dir, relative(root, f).replace(/[\\/]/g, '_') + '.o'));
  let next = 0;
  const width = Math.max(1, cpus().length);
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < files.length) {
      const i = next++;
      if (existsSync(objs[i]) && statSync(objs[i]).mtimeMs > Math.max(headersTime, statSync(files[i]).mtimeMs)) continue;
      const lang = files[i].endsWith('.cu') ? ['-x', 'c++'] : [];
      await run('g++', [...flags, '-c', ...lang, files[i], '-x', 'none', '-o', objs[i]], { capture: true });
      console.log(`  compiled ${relative(root, files[i])}`);
    }
  }));
  return objs;
}

async function main() {
  console.log('cuda-sim: building the kernel test (g++' + (asan ? ', ASan+UBSan' : '') + ')');
  const testFlags = [...base, ...sanitize];
  const objs = await compileAll([...engine, join(root, 'test', 'kernels_test.cu')], testFlags, join(out, asan ? 'obj-asan' : 'obj'));
  const exe = join(out, 'kernels_test');
  await run('g++', [...testFlags, ...objs, '-o', exe], { capture: true });
  const env = { ...process.env, ASAN_OPTIONS: 'detect_leaks=0:detect_stack_use_after_return=0' };
  await run(exe, filter ? ['--filter', filter] : [], { env });
  if (!smoke) return;
  console.log('cuda-sim: building the addon on the simulator');
  const addonFlags = [...base, '-fPIC', `-I${napiInclude}`];
  const addonObjs = await compileAll([...engine, join(src, 'addon.cpp')], addonFlags, join(out, 'obj-addon'));
  const addon = join(out, 'igbert_cuda.node');
  await run('g++', ['-shared', '-pthread', ...addonObjs, '-o', addon], { capture: true });
  await run(process.execPath, [join(root, 'test', 'smoke.mjs'), '--addon', addon, '--sim'], { env: process.env });
}

main().catch((e) => {
  console.error(e.message);
  process.exit(typeof e.code === 'number' ? e.code : 1);
});
