#!/usr/bin/env node
// Builds the CUDA engine's Node-API addon (build/igbert_cuda.node) with plain nvcc — no node-gyp, no cmake.
//
//   node native/cuda/build.mjs [--tests] [--strict] [--verbose]
//     --tests    also build build/kernels_test (the C++ kernel/program test, run on a GPU machine)
//     --strict   warnings are errors (-Werror all-warnings, -Wall -Wextra -Werror for the host compiler)
//     --verbose  print every command
//   Environment: CUDA_HOME / CUDA_PATH (toolkit root), IGBERT_CUDA_ARCH ("90,80": SM versions; the last one is
//   also embedded as PTX), IGBERT_CUBLASLT_DIR (directory of libcublasLt.so*, if not next to the toolkit).
//
// One object per source file, compiled in parallel (a full rebuild is ~1 minute on 2 cores, seconds on 16),
// an object is rebuilt only when its source or a header under src/ is newer. ptxas's register / shared memory
// report goes to build/ptxas.log.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const buildDir = join(here, 'build');
const args = new Set(process.argv.slice(2));
const withTests = args.has('--tests');
const strict = args.has('--strict');
const verbose = args.has('--verbose');

function fail(message) {
  console.error(`build:cuda: ${message}`);
  process.exit(1);
}

function findNvcc() {
  const candidates = [];
  for (const v of ['CUDA_HOME', 'CUDA_PATH']) if (process.env[v]) candidates.push(join(process.env[v], 'bin', 'nvcc'));
  try {
    const p = execFileSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' }).trim();
    if (p) candidates.push(p);
  } catch {}
  candidates.push('/usr/local/cuda/bin/nvcc');
  const found = candidates.find((c) => existsSync(c));
  if (!found) fail(`nvcc not found: install the CUDA toolkit (12.x or 13.x) or set CUDA_HOME (looked at ${candidates.join(', ')})`);
  return found;
}

const nvcc = findNvcc();
const cudaRoot = dirname(dirname(nvcc));
const firstDir = (dirs, file) => dirs.find((d) => existsSync(join(d, file)));
const includeDir = firstDir([join(cudaRoot, 'include'), join(cudaRoot, 'targets', 'x86_64-linux', 'include'),
  join(cudaRoot, 'targets', 'sbsa-linux', 'include')], 'cuda_runtime.h');
if (!includeDir) fail(`cuda_runtime.h not found under ${cudaRoot} (include/ or targets/*/include/)`);
if (!existsSync(join(includeDir, 'cublasLt.h'))) fail(`cublasLt.h not found in ${includeDir}: install cuBLAS (libcublas-dev)`);
const libDirs = [join(cudaRoot, 'lib64'), join(cudaRoot, 'lib'), join(cudaRoot, 'targets', 'x86_64-linux', 'lib'),
  join(cudaRoot, 'targets', 'sbsa-linux', 'lib')];
const cudartDir = firstDir(libDirs, 'libcudart_static.a');
if (!cudartDir) fail(`libcudart_static.a not found next to nvcc (looked in ${libDirs.join(', ')})`);
const blasDirs = [process.env.IGBERT_CUBLASLT_DIR, ...libDirs].filter(Boolean);
let cublasDir, cublasLib;
for (const d of blasDirs) {
  if (!existsSync(d)) continue;
  if (existsSync(join(d, 'libcublasLt.so'))) { cublasDir = d; cublasLib = '-lcublasLt'; break; }
  const versioned = readdirSync(d).filter((f) => /^libcublasLt\.so\.\d+$/.test(f)).sort();
  if (versioned.length) { cublasDir = d; cublasLib = `-l:${versioned[versioned.length - 1]}`; break; }
}
if (!cublasDir) fail(`libcublasLt.so not found (looked in ${blasDirs.join(', ')}): install cuBLAS or set IGBERT_CUBLASLT_DIR`);

let napiInclude;
try {
  napiInclude = createRequire(import.meta.url)('node-api-headers').include_dir;
} catch {
  fail('node-api-headers is not installed: run npm ci');
}

const sms = (process.env.IGBERT_CUDA_ARCH || '90,80').split(',').map((s) => s.trim().replace(/^sm_/, '')).filter(Boolean);
if (!sms.every((s) => /^\d+a?$/.test(s))) fail(`IGBERT_CUDA_ARCH must be SM versions like "90,80" (got "${process.env.IGBERT_CUDA_ARCH}")`);
const gencode = sms.flatMap((s) => ['-gencode', `arch=compute_${s},code=sm_${s}`]);
gencode.push('-gencode', `arch=compute_${sms[0]},code=compute_${sms[0]}`);  // PTX of the first (newest) for later GPUs

const common = ['-O3', '-std=c++17', '-Xcompiler', '-fPIC', `-I${includeDir}`, `-I${napiInclude}`];
if (strict) common.push('-Werror', 'all-warnings', '-Xcompiler', '-Wall,-Wextra,-Werror');

const srcDir = join(here, 'src');
const engineSources = [
  ...readdirSync(srcDir).filter((f) => /\.(cu|cpp)$/.test(f) && f !== 'addon.cpp').map((f) => join(srcDir, f)),
  ...readdirSync(join(srcDir, 'kernels')).filter((f) => f.endsWith('.cu')).map((f) => join(srcDir, 'kernels', f)),
];
const addonSource = join(srcDir, 'addon.cpp');
const testSource = join(here, 'test', 'kernels_test.cu');

function newestHeader() {
  let t = 0;
  const walk = (d) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else if (f.endsWith('.h')) t = Math.max(t, s.mtimeMs);
    }
  };
  walk(srcDir);
  walk(join(here, 'test'));
  return t;
}

function objectFor(src) {
  return join(buildDir, 'obj', relative(here, src).replace(/[\\/]/g, '_') + '.o');
}

function runCommand(cmd, cmdArgs, log) {
  return new Promise((resolve, reject) => {
    if (verbose) console.log([cmd, ...cmdArgs].join(' '));
    const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (log) log(out);
      if (code === 0) resolve(out);
      else reject(new Error(`${relative(process.cwd(), cmdArgs[cmdArgs.length - 1])}: exit ${code}\n${out}`));
    });
  });
}

async function main() {
  mkdirSync(join(buildDir, 'obj'), { recursive: true });
  // Objects built with other flags (another nvcc, --strict, IGBERT_CUDA_ARCH) are rebuilt.
  const flagsFile = join(buildDir, 'obj', 'flags.json');
  const flagsNow = JSON.stringify({ nvcc, common, gencode });
  const sameFlags = existsSync(flagsFile) && readFileSync(flagsFile, 'utf8') === flagsNow;
  const headersTime = newestHeader();
  const sources = [...engineSources, addonSource, ...(withTests ? [testSource] : [])];
  const jobs = sources.map((src) => async () => {
    const obj = objectFor(src);
    if (sameFlags && existsSync(obj)) {
      const t = statSync(obj).mtimeMs;
      if (t > statSync(src).mtimeMs && t > headersTime) return;
    }
    const isCuda = src.endsWith('.cu');
    const flags = [...common, ...(isCuda ? [...gencode, '-Xptxas', '-v'] : []), '-c', '-o', obj, src];
    const started = Date.now();
    await runCommand(nvcc, flags, (out) => {
      if (isCuda) writeFileSync(obj + '.ptxas.log', `== ${relative(here, src)}\n${out}`);
      else if (out.trim()) console.log(out);
    });
    console.log(`  compiled ${relative(here, src)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  });
  const width = Math.max(1, cpus().length);
  let next = 0;
  const workers = Array.from({ length: Math.min(width, jobs.length) }, async () => {
    while (next < jobs.length) await jobs[next++]();
  });
  await Promise.all(workers);
  writeFileSync(flagsFile, flagsNow);
  const logs = sources.filter((f) => f.endsWith('.cu')).map((f) => objectFor(f) + '.ptxas.log').filter((f) => existsSync(f));
  writeFileSync(join(buildDir, 'ptxas.log'), logs.map((f) => readFileSync(f, 'utf8')).join('\n'));

  const linkFlags = ['-cudart', 'static', `-L${cublasDir}`, cublasLib, '-Xlinker', `-rpath,${cublasDir}`];
  const engineObjects = engineSources.map(objectFor);
  const addon = join(buildDir, 'igbert_cuda.node');
  await runCommand(nvcc, ['-shared', ...gencode, ...engineObjects, objectFor(addonSource), ...linkFlags, '-o', addon]);
  console.log(`built ${relative(process.cwd(), addon)} (nvcc ${nvcc}, SM ${sms.join(',')}, cuBLASLt in ${cublasDir})`);
  if (withTests) {
    const test = join(buildDir, 'kernels_test');
    await runCommand(nvcc, [...gencode, ...engineObjects, objectFor(testSource), ...linkFlags, '-o', test]);
    console.log(`built ${relative(process.cwd(), test)}`);
  }
}

main().catch((e) => fail(e.message));
