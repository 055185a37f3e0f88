/** Helpers of the io and pipeline tests: an independent Python reader when there is one, NPY parsing, temp folders. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const tempDir = (prefix = 'igbert-pipeline-'): string => mkdtempSync(join(tmpdir(), prefix));

/**
 * A Python with numpy, pandas and pyarrow (IGBERT_TEST_PYTHON, else python3), or undefined: tests that need it skip
 * with this message. CI has no such Python; the JS readers check the same files there.
 */
export const PYTHON: string | undefined = [process.env['IGBERT_TEST_PYTHON'], 'python3'].find(
  (python) => python !== undefined && spawnSync(python, ['-c', 'import numpy, pandas, pyarrow'], { stdio: 'ignore' }).status === 0,
);
export const NO_PYTHON = 'no Python with numpy, pandas and pyarrow (set IGBERT_TEST_PYTHON to use one)';

/** Runs a Python script (given the paths as sys.argv[1:]) and returns its stdout parsed as JSON. */
export function python<T = any>(script: string, args: string[]): T {
  const run = spawnSync(PYTHON as string, ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (run.status !== 0) throw new Error(`python failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** Reads an NPY float32 C-order matrix with our own header parser (independent of the writer's code). */
export function readNpy(path: string): { shape: [number, number]; data: Float32Array } {
  const bytes = readFileSync(path);
  if (bytes.subarray(0, 6).toString('latin1') !== '\x93NUMPY') throw new Error(`${path}: not NPY`);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  if (!header.includes("'descr': '<f4'") || !header.includes("'fortran_order': False")) throw new Error(`${path}: ${header}`);
  const shape = /'shape': \((\d+), (\d+)\)/.exec(header);
  if (!shape || (10 + headerLength) % 64 !== 0) throw new Error(`${path}: bad header ${header}`);
  const start = 10 + headerLength;
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length));
  return { shape: [Number(shape[1]), Number(shape[2])], data };
}

export const jsonLines = (text: string): any[] => text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
