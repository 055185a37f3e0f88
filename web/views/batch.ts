/**
 * Batch view: a CSV/TSV or FASTA file of antibodies (picked or dropped) is validated row by row, then every valid
 * row is embedded (model-card mean) and scored; the embeddings are shown as a PCA scatter coloured by a chosen
 * column, and scores and embeddings can be downloaded (CSV; NPY or CSV). Rows that fail validation are listed
 * with the reason and left out, never silently. The scores are the rows `igbert score` writes (src/tasks/resultRows.ts),
 * and the scores CSV is what `igbert score --keep-cols heavy,light,<the other columns>` writes.
 */
import { SCORE_METHODS, type IgBert, type ScoreMethod, type ScoreResult } from '../../src/web.js';
import { scoreRow, type ScoreRow } from '../../src/tasks/resultRows.js';
import type { PageContext } from '../main.js';
import { el, formatNumber, gridCursor, sequentialColour, svg } from '../lib/dom.js';
import { csvText } from '../../src/io/csv.js';
import { npyBytes } from '../../src/io/npy.js';
import { downloadBlob, parseBatch, type BatchRow } from '../lib/files.js';
import { pca2 } from '../lib/pca.js';

interface Scored {
  row: BatchRow;
  embedding: Float32Array;
  values: ScoreRow;
}

/** Okabe–Ito: distinguishable with the common colour-vision deficiencies. */
const CATEGORY_COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];
const CHUNK = 16;

export function mountBatch(panel: HTMLElement, page: PageContext): void {
  const file = el('input', { id: 'batch-file', type: 'file', accept: '.csv,.tsv,.fa,.fasta,.faa,text/csv' });
  const drop = el('div', { class: 'drop', id: 'batch-drop' },
    el('label', { for: 'batch-file' }, 'Drop a CSV/TSV (columns id, heavy, light and any others) or a paired FASTA file here, or choose one:'),
    el('br'), file);
  const method = el('select', { id: 'batch-method' },
    el('option', { value: 'wt-marginal' }, 'Wild-type marginal (fast: one pass per antibody)'),
    el('option', { value: 'pll' }, 'Pseudo-log-likelihood (exact: one pass per residue)'));
  const button = el('button', { id: 'run-batch', type: 'button', disabled: true }, 'Embed and score');
  const status = el('p', { id: 'batch-status', class: 'status', role: 'status', 'aria-live': 'polite' });
  const problems = el('ul', { id: 'batch-problems', class: 'problems' });
  const colour = el('select', { id: 'batch-colour' });
  const chart = el('div', { id: 'batch-scatter', class: 'chart' });
  const readout = el('p', { id: 'batch-readout', class: 'readout', 'aria-live': 'polite' });
  const downloads = el('div', { class: 'controls', id: 'batch-downloads', hidden: true },
    el('button', { id: 'download-scores', type: 'button', class: 'secondary' }, 'Scores (CSV)'),
    el('button', { id: 'download-npy', type: 'button', class: 'secondary' }, 'Embeddings (NPY)'),
    el('button', { id: 'download-embeddings-csv', type: 'button', class: 'secondary' }, 'Embeddings (CSV)'));
  const colourControls = el('div', { class: 'controls', hidden: true }, el('label', { for: 'batch-colour' }, 'Colour points by'), colour);
  panel.append(
    drop,
    el('div', { class: 'controls' }, el('label', { for: 'batch-method' }, 'Score'), method, button),
    status, problems, colourControls, chart, readout, downloads,
  );

  let rows: BatchRow[] = [];
  let name = '';
  let scored: Scored[] = [];

  const read = async (picked: File): Promise<void> => {
    name = picked.name;
    try {
      rows = parseBatch(picked.name, await picked.text());
      status.textContent = `${picked.name}: ${rows.length} antibodies read. Press “Embed and score”.`;
      button.disabled = rows.length === 0;
    } catch (error) {
      rows = [];
      status.textContent = (error as Error).message;
      button.disabled = true;
    }
  };
  file.addEventListener('change', () => file.files?.[0] && void read(file.files[0]));
  drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    const dropped = event.dataTransfer?.files[0];
    if (dropped) void read(dropped);
  });

  button.addEventListener('click', () => {
    void page.run(button, status, 'Embedding and scoring', async (model) => {
      const chosen = method.value as ScoreMethod;
      if (!SCORE_METHODS.includes(chosen)) throw new Error(`unknown method ${chosen}`);
      const { valid, rejected } = validateRows(model, rows);
      problems.replaceChildren(...rejected.map((r) => el('li', {}, r)));
      scored = [];
      for (let start = 0; start < valid.length; start += CHUNK) {
        scored.push(...(await embedAndScore(model, valid.slice(start, start + CHUNK), chosen)));
        status.textContent = `Embedding and scoring… ${scored.length} of ${valid.length}`;
      }
      if (scored.length === 0) return `No valid antibodies in ${name}`;
      const columns = ['log_likelihood', 'mean_log_likelihood', 'perplexity', ...Object.keys(scored[0]?.row.extra ?? {})];
      colour.replaceChildren(...columns.map((c) => el('option', { value: c }, c)));
      colourControls.hidden = false;
      downloads.hidden = false;
      drawScatter(scored, colour.value, chart, readout);
      const left = rejected.length === 1 ? '1 row left out (below)' : `${rejected.length} rows left out (below)`;
      return `Embedded and scored ${scored.length} antibodies${rejected.length ? `; ${left}` : ''}`;
    });
  });
  colour.addEventListener('change', () => drawScatter(scored, colour.value, chart, readout));

  const base = (): string => name.replace(/\.[^.]*$/, '') || 'batch';
  downloads.querySelector('#download-scores')?.addEventListener('click', () => {
    // Kept columns right after the id, as the CLI's --keep-cols puts them.
    const table: Record<string, string | number | null>[] = scored.map(({ row, values: { id, ...fields } }) => ({ id, heavy: row.heavy, light: row.light, ...row.extra, ...fields }));
    const header = Object.keys(table[0] ?? {});
    downloadBlob(`${base()}.scores.csv`, [csvText(header, table.map((line) => header.map((k) => line[k] ?? null)))], 'text/csv');
  });
  downloads.querySelector('#download-npy')?.addEventListener('click', () => {
    const width = scored[0]?.embedding.length ?? 0;
    downloadBlob(`${base()}.embeddings.npy`, [npyBytes(scored.map((s) => s.embedding), width) as Uint8Array<ArrayBuffer>], 'application/octet-stream');
    downloadBlob(`${base()}.embeddings.ids.csv`, [csvText(['id'], scored.map((s) => [s.row.id]))], 'text/csv');
  });
  downloads.querySelector('#download-embeddings-csv')?.addEventListener('click', () => {
    const width = scored[0]?.embedding.length ?? 0;
    const header = ['id', ...Array.from({ length: width }, (_, i) => `e${i}`)];
    downloadBlob(`${base()}.embeddings.csv`, [csvText(header, scored.map((s) => [s.row.id, ...s.embedding]))], 'text/csv');
  });
}

function validateRows(model: IgBert, rows: readonly BatchRow[]): { valid: BatchRow[]; rejected: string[] } {
  const valid: BatchRow[] = [];
  const rejected: string[] = [];
  rows.forEach((row, i) => {
    try {
      model.encode([row], i + 1);
      valid.push(row);
    } catch (error) {
      rejected.push((error as Error).message);
    }
  });
  return { valid, rejected };
}

async function embedAndScore(model: IgBert, rows: readonly BatchRow[], method: ScoreMethod): Promise<Scored[]> {
  const embeddings = await model.embed(rows);
  const scores = await model.score(rows, { method });
  return rows.map((row, i) => ({ row, embedding: embeddings[i]?.embedding as Float32Array, values: scoreRow(scores[i] as ScoreResult) }));
}

const W = 560;
const H = 380;
const PAD = 44;

function drawScatter(scored: readonly Scored[], column: string, chart: HTMLElement, readout: HTMLElement): void {
  if (scored.length < 2) {
    chart.replaceChildren(el('p', { class: 'hint' }, 'The scatter needs at least two antibodies.'));
    return;
  }
  const { points, explained } = pca2(scored.map((s) => s.embedding));
  const raw = scored.map((s) => (column in s.values ? (s.values as Record<string, unknown>)[column] as string | number | null : s.row.extra[column]) ?? null);
  const numbers = raw.map((v) => (v === null || v === '' ? NaN : Number(v)));
  const numeric = numbers.every((v) => Number.isFinite(v));
  const categories = [...new Set(raw.map(String))];
  const [lo, hi] = [Math.min(...numbers), Math.max(...numbers)];
  const colourOf = (i: number): string => numeric
    ? sequentialColour(-(numbers[i]! - lo) / (hi - lo || 1), -1)
    : CATEGORY_COLOURS[categories.indexOf(String(raw[i])) % CATEGORY_COLOURS.length] as string;
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const [left, right, top, bottom] = [PAD, W - 12, 12, H - PAD];
  const across = (v: number, min: number, max: number): number => (v - min) / (max - min || 1);
  const plot = svg('svg', { width: W + 170, height: H, tabindex: 0, role: 'img', class: 'scatter', 'aria-label': 'PCA of the embeddings; use the arrow keys to read each antibody' });
  plot.append(
    svg('rect', { x: left, y: top, width: right - left, height: bottom - top, class: 'frame' }),
    svg('text', { x: (left + right) / 2, y: H - 12, class: 'axis-label', 'text-anchor': 'middle' }, `PC1 (${(explained[0] * 100).toFixed(0)}% of variance)`),
    svg('text', { x: 16, y: (top + bottom) / 2, class: 'axis-label', transform: `rotate(-90 16 ${(top + bottom) / 2})`, 'text-anchor': 'middle' }, `PC2 (${(explained[1] * 100).toFixed(0)}%)`),
  );
  const centres = points.map(([px, py]) => [
    left + 10 + across(px, x0, x1) * (right - left - 20),
    bottom - 10 - across(py, y0, y1) * (bottom - top - 20),
  ] as [number, number]);
  centres.forEach(([cx, cy], i) => plot.append(svg('circle', { cx, cy, r: 5, fill: colourOf(i), class: 'point', 'data-index': i, 'data-id': scored[i]?.row.id }, svg('title', {}, scored[i]?.row.id ?? ''))));
  plot.append(legendFor(column, numeric, lo, hi, categories));
  const marker = svg('circle', { r: 9, class: 'cursor', visibility: 'hidden' });
  plot.append(marker);
  gridCursor(plot, { columns: scored.length, rows: 1 }, (i) => {
    const [cx, cy] = centres[i] as [number, number];
    marker.setAttribute('cx', String(cx));
    marker.setAttribute('cy', String(cy));
    marker.setAttribute('visibility', 'visible');
    const value = raw[i];
    readout.textContent = `${scored[i]?.row.id}: PC1 ${formatNumber(points[i]![0], 2)}, PC2 ${formatNumber(points[i]![1], 2)}, ${column} = ${typeof value === 'number' ? formatNumber(value) : (value ?? '—')}`;
  }, (event) => {
    const index = (event.target as Element).getAttribute('data-index');
    return index === null ? undefined : { column: Number(index), row: 0 };
  });
  chart.replaceChildren(plot);
  readout.textContent = 'Hover or focus the scatter and use the arrow keys to read each antibody.';
}

function legendFor(column: string, numeric: boolean, lo: number, hi: number, categories: string[]): SVGGElement {
  const group = svg('g', { transform: `translate(${W + 4}, ${PAD})`, class: 'legend' }, svg('text', { x: 0, y: 0, class: 'axis-label' }, column));
  if (numeric) {
    for (let i = 0; i < 10; i++) group.append(svg('rect', { x: 0, y: 10 + i * 14, width: 14, height: 14, fill: sequentialColour(-i / 9, -1) }));
    group.append(svg('text', { x: 20, y: 21, class: 'axis-note' }, formatNumber(lo, 2)), svg('text', { x: 20, y: 147, class: 'axis-note' }, formatNumber(hi, 2)));
  } else {
    categories.slice(0, CATEGORY_COLOURS.length).forEach((c, i) => group.append(
      svg('circle', { cx: 6, cy: 16 + i * 18, r: 5, fill: CATEGORY_COLOURS[i] as string }),
      svg('text', { x: 16, y: 20 + i * 18, class: 'axis-note' }, c.length > 18 ? `${c.slice(0, 17)}…` : c)));
    if (categories.length > CATEGORY_COLOURS.length) group.append(svg('text', { x: 0, y: 24 + CATEGORY_COLOURS.length * 18, class: 'axis-note' }, `colours repeat: ${categories.length} values`));
  }
  return group;
}
