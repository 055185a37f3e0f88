/**
 * Deep mutational scan view: a heatmap of positions (columns, heavy then light) x the 20 amino acids (rows) of
 * log p(mutant) - log p(wild type). Blue = the model prefers the mutant, red = the wild type; the wild type is
 * marked with a dot. One tab stop: arrow keys move over cells (Shift: 10 positions), hover and click too, and the
 * readout says the value.
 */
import { AMINO_ACIDS, MUTATION_METHODS, type MutationMethod, type ScanResult } from '../../src/web.js';
import type { PageContext } from '../main.js';
import { divergingColour, el, formatNumber, gridCursor, svg } from '../lib/dom.js';

const CELL_H = 13;
const LEFT = 22;
const TOP = 18;
const CHAIN_GAP = 14;

export function mountScan(panel: HTMLElement, page: PageContext): void {
  const method = el('select', { id: 'scan-method' },
    el('option', { value: 'masked-marginal' }, 'Masked marginal (one pass per position)'),
    el('option', { value: 'wt-marginal' }, 'Wild-type marginal (one pass)'));
  const regions = el('input', { id: 'scan-regions', type: 'text', size: 30, placeholder: 'all residues, or e.g. H:95-102,L', spellcheck: 'false' });
  const button = el('button', { id: 'run-scan', type: 'button' }, 'Scan');
  const status = el('p', { id: 'scan-status', class: 'status', role: 'status', 'aria-live': 'polite' });
  const chart = el('div', { id: 'scan-heatmap', class: 'chart' });
  const readout = el('p', { id: 'scan-readout', class: 'readout', 'aria-live': 'polite' });
  panel.append(
    el('p', { class: 'hint' }, 'Score of every amino acid at every position: log p(mutant) − log p(wild type). The wild type scores 0 and is marked •.'),
    el('div', { class: 'controls' },
      el('label', { for: 'scan-method' }, 'Method'), method,
      el('label', { for: 'scan-regions' }, 'Regions'), regions, button),
    status, chart, readout,
  );
  button.addEventListener('click', () => {
    const antibody = page.antibody();
    if (!antibody) {
      status.textContent = 'Fix the antibody above first.';
      return;
    }
    void page.run(button, status, 'Scanning', async (model) => {
      const chosen = method.value as MutationMethod;
      if (!MUTATION_METHODS.includes(chosen)) throw new Error(`unknown method ${chosen}`);
      const [result] = await model.scan([antibody], { method: chosen, ...(regions.value.trim() ? { regions: regions.value.trim() } : {}) });
      render(result as ScanResult, chart, readout);
      return `Scanned ${result?.positions.length ?? 0} positions × ${AMINO_ACIDS.length} amino acids`;
    });
  });
}

function render(result: ScanResult, chart: HTMLElement, readout: HTMLElement): void {
  const positions = result.positions;
  // Cells as wide as the panel allows (6-18 px); IgBert-length chains scroll sideways at 6 px.
  const CELL_W = Math.max(6, Math.min(18, Math.floor(((chart.clientWidth || 900) - LEFT - CHAIN_GAP - 12) / Math.max(1, positions.length))));
  let limit = 0;
  for (const p of positions) for (const s of p.scores) limit = Math.max(limit, Math.abs(s));
  // Columns: positions in order, with a gap where the light chain starts.
  const xs: number[] = [];
  let x = LEFT;
  positions.forEach((p, i) => {
    if (i > 0 && p.chain !== positions[i - 1]?.chain) x += CHAIN_GAP;
    xs.push(x);
    x += CELL_W;
  });
  const width = x + 8;
  const gridBottom = TOP + AMINO_ACIDS.length * CELL_H;
  const height = gridBottom + 42;
  const plot = svg('svg', {
    width, height, tabindex: 0, role: 'img', class: 'heatmap',
    'aria-label': 'Mutational scan heatmap; use the arrow keys to read a cell',
  });
  [...AMINO_ACIDS].forEach((aa, row) => plot.append(svg('text', { x: 2, y: TOP + row * CELL_H + 10, class: 'axis-label' }, aa)));
  positions.forEach((p, column) => {
    const cx = xs[column] as number;
    if (column === 0 || p.chain !== positions[column - 1]?.chain) {
      plot.append(svg('text', { x: cx, y: 11, class: 'axis-label' }, p.chain === 'H' ? 'Heavy' : 'Light'));
    }
    if (p.position % 10 === 0) plot.append(svg('text', { x: cx + CELL_W / 2, y: gridBottom + 11, class: 'tick' }, String(p.position)));
    [...AMINO_ACIDS].forEach((aa, row) => {
      const value = p.scores[row] as number;
      plot.append(svg('rect', {
        x: cx, y: TOP + row * CELL_H, width: CELL_W - 1, height: CELL_H - 1, fill: divergingColour(value, limit),
        'data-column': column, 'data-row': row, 'data-chain': p.chain, 'data-position': p.position, 'data-aa': aa,
        'data-value': value, ...(aa === p.wildType ? { 'data-wild-type': 'true' } : {}),
      }));
      if (aa === p.wildType) plot.append(svg('circle', { cx: cx + CELL_W / 2 - 0.5, cy: TOP + row * CELL_H + CELL_H / 2 - 0.5, r: 2, class: 'wild-type' }));
    });
  });
  plot.append(legend(limit, height));
  const marker = svg('rect', { class: 'cursor', width: CELL_W + 1, height: CELL_H + 1, visibility: 'hidden' });
  plot.append(marker);
  gridCursor(plot, { columns: positions.length, rows: AMINO_ACIDS.length }, (column, row) => {
    const p = positions[column];
    if (!p) return;
    const aa = AMINO_ACIDS[row] as string;
    marker.setAttribute('x', String((xs[column] as number) - 1));
    marker.setAttribute('y', String(TOP + row * CELL_H - 1));
    marker.setAttribute('visibility', 'visible');
    readout.textContent = aa === p.wildType
      ? `${p.chain}:${p.wildType}${p.position} (wild type): log p = ${formatNumber(p.logProbs[row] as number)}`
      : `${p.chain}:${p.wildType}${p.position}${aa}: score ${formatNumber(p.scores[row] as number)} ` +
        `(log p ${aa} = ${formatNumber(p.logProbs[row] as number)}, log p ${p.wildType} = ${formatNumber(p.logProbs[AMINO_ACIDS.indexOf(p.wildType)] as number)})`;
  }, (event) => {
    const target = event.target as Element;
    const column = target.getAttribute('data-column');
    return column === null ? undefined : { column: Number(column), row: Number(target.getAttribute('data-row')) };
  });
  chart.replaceChildren(plot);
  readout.textContent = 'Hover, click or focus the heatmap and use the arrow keys (Shift: 10 positions) to read a cell.';
}

/** A small colour key under the heatmap. */
function legend(limit: number, height: number): SVGGElement {
  const group = svg('g', { class: 'legend', transform: `translate(${LEFT}, ${height - 4})` });
  const steps = 9;
  for (let i = 0; i < steps; i++) {
    const value = -limit + (2 * limit * i) / (steps - 1);
    group.append(svg('rect', { x: 150 + i * 14, y: -8, width: 14, height: 8, fill: divergingColour(value, limit) }));
  }
  group.append(
    svg('text', { x: 0, y: 0, class: 'axis-note' }, 'wild type better ◀'),
    svg('text', { x: 146, y: 0, class: 'axis-note', 'text-anchor': 'end' }, formatNumber(-limit, 1)),
    svg('text', { x: 150 + steps * 14 + 4, y: 0, class: 'axis-note' }, `${formatNumber(limit, 1)} ▶ mutant better`),
  );
  return group;
}
