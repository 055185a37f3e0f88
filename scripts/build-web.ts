/**
 * Builds the page (web/) into a static folder (default dist-web/) with vite, and copies onnxruntime-web's runtime
 * (the JSEP build: WebGPU and wasm in one binary, .wasm + its .mjs loader) into <out>/ort/, where the page points
 * ort.env.wasm.wasmPaths.
 *
 * Why not let vite bundle the runtime: onnxruntime-web's self-contained bundle starts its wasm threads as workers
 * of its own script, which inside one page bundle would run the page's code in every worker. The
 * "onnxruntime-web-use-extern-wasm" export condition selects the build that loads the .mjs from wasmPaths instead.
 * The result runs from any static host; multi-threaded wasm needs the COOP/COEP headers described in docs/web.md.
 *
 *   node --import tsx scripts/build-web.ts [--out DIR]
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, defaultClientConditions } from 'vite';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Served under <out>/ort/; the page sets wasmPaths to that folder. */
export const ORT_RUNTIME_FILES = ['ort-wasm-simd-threaded.jsep.wasm', 'ort-wasm-simd-threaded.jsep.mjs'];

export async function buildWeb(outDir = join(root, 'dist-web')): Promise<string> {
  await build({
    root: join(root, 'web'),
    base: './',
    logLevel: 'warn',
    configFile: false,
    resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      chunkSizeWarningLimit: 1024,
      // bench.html: a UI-less harness for scripts/bench-web.ts.
      rollupOptions: { input: { main: join(root, 'web', 'index.html'), bench: join(root, 'web', 'bench.html') } },
    },
  });
  await mkdir(join(outDir, 'ort'), { recursive: true });
  for (const name of ORT_RUNTIME_FILES) {
    await copyFile(join(root, 'node_modules', 'onnxruntime-web', 'dist', name), join(outDir, 'ort', name));
  }
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--out');
  const out = await buildWeb(at > 0 && process.argv[at + 1] ? resolve(process.argv[at + 1] as string) : undefined);
  process.stdout.write(`igbert: built the page into ${out}\n`);
}
