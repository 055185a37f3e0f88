/**
 * Likelihood view: the antibody's pseudo-log-likelihood (or wild-type marginal) and a per-residue track of
 * log p along both chains. Bars hang down from 0: the longer and darker, the less likely the model finds that
 * residue. One tab stop; arrow keys walk the residues and the readout says each value.
 */
import { CHAIN_LETTERS, SCORE_METHODS, type ScoreMethod, type ScoreResult } from '../../src/web.js';
import { scoreRow, type ScoreRow } from '../../src/tasks/resultRows.js';
import type { PageContext } from '../main.js';
import { el, formatNumber, gridCursor, sequentialColour, svg } from '../lib/dom.js';

const LABEL = 56;
const TRACK = 70;

export function mountLikelihood(panel: HTMLElement, page: PageContext): void {
  const method = el('select', { id: 'score-method' },
    el('option', { value: 'pll' }, 'Pseudo-log-likelihood (exact: one pass per residue)'),
    el('option', { value: 'wt-marginal' }, 'Wild-type marginal (one pass)'));
  const button = el('button', { id: 'run-score', type: 'button' }, 'Score');
  const status = el('p', { id: 'score-status', class: 'status', role: 'status', 'aria-live': 'polite' });
  const summary = el('dl', { id: 'score-summary', class: 'summary' });
  const chart = el('div', { id: 'score-track', class: 'chart' });
  const readout = el('p', { id: 'score-readout', class: 'readout', 'aria-live': 'polite' });
  panel.append(
    el('p', { class: 'hint' }, 'log p of each residue given the rest of the antibody (natural log; 0 = certain).'),
    el('div', { class: 'controls' }, el('label', { for: 'score-method' }, 'Method'), method, button),
    status, summary, chart, readout,
  );
  button.addEventListener('click', () => {
    const antibody = page.antibody();
    if (!antibody) {
      status.textContent = 'Fix the antibody above first.';
      return;
    }
    void page.run(button, status, 'Scoring', async (model) => {
      const chosen = method.value as ScoreMethod;
      if (!SCORE_METHODS.includes(chosen)) throw new Error(`unknown method ${chosen}`);
      const [result] = await model.score([antibody], { method: chosen, perResidue: true });
      render(result as ScoreResult, summary, chart, readout);
      return `Scored ${result?.residues?.length ?? 0} residues`;
    });
  });
}

function render(result: ScoreResult, summary: HTMLElement, chart: HTMLElement, readout: HTMLElement): void {
  const values = result.perResidue as Float32Array;
  const residues = result.residues ?? [];
  // Keyed by the field names of `igbert score` (the README's table of result fields).
  const row = scoreRow(result);
  const entries: [string, keyof ScoreRow][] = [
    [result.method === 'pll' ? 'Pseudo-log-likelihood (sum of log p)' : 'Log-likelihood (sum of log p)', 'log_likelihood'],
    ['Mean log p', 'mean_log_likelihood'],
    ['Perplexity', 'perplexity'],
    ['Heavy chain sum', 'heavy_log_likelihood'],
    ['Light chain sum', 'light_log_likelihood'],
  ];
  summary.replaceChildren(...entries.flatMap(([label, key]) => {
    const value = row[key] as number | null;
    return [el('dt', {}, label), el('dd', { 'data-key': key, 'data-value': value ?? '' }, value === null ? '—' : formatNumber(value))];
  }));

  const min = Math.min(-1e-6, ...values);
  const longestChain = Math.max(...CHAIN_LETTERS.map((chain) => residues.filter((r) => r.chain === chain).length));
  // Bars as wide as the panel allows (8-18 px, room for the letter); long chains scroll sideways.
  const CELL = Math.max(8, Math.min(18, Math.floor(((chart.clientWidth || 900) - LABEL - 12) / Math.max(1, longestChain))));
  const chains = CHAIN_LETTERS.filter((chain) => residues.some((r) => r.chain === chain));
  const rowHeight = TRACK + 34;
  const width = LABEL + longestChain * CELL + 10;
  const plot = svg('svg', {
    width, height: chains.length * rowHeight + 4, tabindex: 0, role: 'img', class: 'track',
    'aria-label': 'Per-residue log-probability; use the arrow keys to read each residue',
  });
  const marker = svg('rect', { class: 'cursor', width: CELL, height: TRACK + 14, visibility: 'hidden' });
  const cells: { x: number; y: number; text: string }[] = [];
  chains.forEach((chain, row) => {
    const top = row * rowHeight + 4;
    plot.append(
      svg('text', { x: 0, y: top + TRACK / 2 + 4, class: 'axis-label' }, chain === 'H' ? 'Heavy' : 'Light'),
      svg('text', { x: LABEL - 4, y: top + 9, class: 'axis-note', 'text-anchor': 'end' }, '0'),
      svg('text', { x: LABEL - 4, y: top + TRACK, class: 'axis-note', 'text-anchor': 'end' }, formatNumber(min, 1)),
      svg('line', { x1: LABEL, x2: width - 10, y1: top, y2: top, class: 'baseline' }),
    );
    residues.forEach((residue, k) => {
      if (residue.chain !== chain) return;
      const value = values[k] as number;
      const x = LABEL + (residue.position - 1) * CELL;
      const height = Math.max(1, (value / min) * TRACK);
      const text = `${chain === 'H' ? 'Heavy' : 'Light'} ${residue.position} ${residue.residue}: log p = ${formatNumber(value)}`;
      plot.append(
        svg('rect', {
          x, y: top, width: CELL - 1, height, fill: sequentialColour(value, min),
          'data-index': cells.length, 'data-chain': chain, 'data-position': residue.position, 'data-residue': residue.residue, 'data-value': value,
        }, svg('title', {}, text)),
        svg('text', { x: x + CELL / 2, y: top + TRACK + 12, class: 'residue' }, residue.residue),
      );
      if (residue.position % 10 === 0) plot.append(svg('text', { x: x + CELL / 2, y: top + TRACK + 24, class: 'tick' }, String(residue.position)));
      cells.push({ x, y: top, text });
    });
  });
  plot.append(marker);
  gridCursor(plot, { columns: cells.length, rows: 1 }, (column) => {
    const cell = cells[column];
    if (!cell) return;
    marker.setAttribute('x', String(cell.x - 0.5));
    marker.setAttribute('y', String(cell.y - 1));
    marker.setAttribute('visibility', 'visible');
    readout.textContent = cell.text;
  }, (event) => {
    const index = (event.target as Element).getAttribute('data-index');
    return index === null ? undefined : { column: Number(index), row: 0 };
  });
  chart.replaceChildren(plot);
  readout.textContent = 'Hover, click or focus the chart and use the arrow keys to read a residue.';
}
