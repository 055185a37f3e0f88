/**
 * Embedding throughput per device and dtype, for machines with a GPU (run from the built package, no tsx needed):
 *   node scripts/bench-device.mjs MODEL_DIR PAIRS.csv [repeat=8]
 * PAIRS.csv has id,heavy,light; its rows are repeated `repeat` times. Prints one JSON line per (device, dtype).
 */
import { readFileSync } from 'node:fs';
import { IgBert } from '../dist/index.js';

const [model, pairs, repeat = '8'] = process.argv.slice(2);
if (!model || !pairs) throw new Error('usage: node scripts/bench-device.mjs MODEL_DIR PAIRS.csv [repeat]');
const rows = readFileSync(pairs, 'utf8').trim().split('\n').slice(1).map((line) => {
  const [id, heavy, light] = line.split(',');
  return { id, heavy, light };
});
const records = Array.from({ length: Number(repeat) }, (_, k) => rows.map((r) => ({ ...r, id: `${r.id}-${k}` }))).flat();
for (const device of ['webgpu', 'cpu']) {
  for (const dtype of ['fp32', 'fp16']) {
    const notes = [];
    const t0 = performance.now();
    const m = await IgBert.load(model, { device, dtype, onProgress: (note) => notes.push(note) });
    await m.embed(records.slice(0, 1));
    const loadToFirst = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await m.embed(records);
    const seconds = (performance.now() - t1) / 1000;
    console.log(JSON.stringify({ device, dtype, runtime: m.runtime, loadToFirst, sequences: records.length, seconds, seqPerS: records.length / seconds, notes }));
    await m.dispose();
  }
}
