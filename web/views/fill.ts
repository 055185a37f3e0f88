/**
 * Infill view: the residues written "*" are predicted from the masked-LM head. Shows the design (filled residues
 * highlighted) and, for each masked position, the candidate residues best first with their log p.
 */
import { FILL_ORDERS, type FillOrder, type FillResult } from '../../src/web.js';
import type { PageContext } from '../main.js';
import { el, formatNumber } from '../lib/dom.js';

export function mountFill(panel: HTMLElement, page: PageContext): void {
  const order = el('select', { id: 'fill-order' },
    el('option', { value: 'parallel' }, 'All at once (one pass)'),
    el('option', { value: 'confidence' }, 'Most confident first (one pass per residue)'));
  const count = el('input', { id: 'fill-candidates', type: 'number', min: 1, max: 20, value: 5, inputmode: 'numeric' });
  const button = el('button', { id: 'run-fill', type: 'button' }, 'Infill');
  const status = el('p', { id: 'fill-status', class: 'status', role: 'status', 'aria-live': 'polite' });
  const output = el('div', { id: 'fill-output' });
  panel.append(
    el('p', { class: 'hint' }, 'Write * in a chain above for each residue to predict, e.g. CAR**********WGQG.'),
    el('div', { class: 'controls' },
      el('label', { for: 'fill-order' }, 'Order'), order,
      el('label', { for: 'fill-candidates' }, 'Candidates shown'), count, button),
    status, output,
  );
  button.addEventListener('click', () => {
    const antibody = page.antibody({ allowMasks: true });
    if (!antibody) {
      status.textContent = 'Fix the antibody above first.';
      return;
    }
    if (!`${antibody.heavy ?? ''}${antibody.light ?? ''}`.includes('*')) {
      status.textContent = 'Write * in a chain for each residue to infill, then press Infill.';
      return;
    }
    void page.run(button, status, 'Infilling', async (model) => {
      const chosen = order.value as FillOrder;
      if (!FILL_ORDERS.includes(chosen)) throw new Error(`unknown order ${chosen}`);
      const candidates = Math.max(1, Math.min(20, Number(count.value) || 5));
      const [result] = await model.fill([antibody], { order: chosen, candidates });
      render(result as FillResult, antibody.heavy ?? '', antibody.light ?? '', output);
      return `Filled ${result?.positions.length ?? 0} masked residues`;
    });
  });
}

function render(result: FillResult, heavyInput: string, lightInput: string, output: HTMLElement): void {
  const design = result.designs[0];
  if (!design) return;
  const masked = (input: string): Set<number> => {
    const compact = input.replace(/\s/g, '');
    return new Set([...compact].flatMap((c, i) => (c === '*' ? [i] : [])));
  };
  const sequence = (label: string, id: string, text: string, maskedAt: Set<number>): HTMLElement =>
    el('p', { class: 'design' }, el('span', { class: 'design-label' }, label),
      el('code', { id }, ...[...text].map((c, i) => (maskedAt.has(i) ? el('mark', {}, c) : c))));
  const rows = result.positions.map((p) =>
    el('tr', { 'data-chain': p.chain, 'data-position': p.position },
      el('th', { scope: 'row' }, `${p.chain}${p.position}`),
      el('td', {}, el('ol', { class: 'candidates' }, ...p.candidates.map((c) =>
        el('li', { 'data-residue': c.residue, 'data-value': c.logprob }, el('strong', {}, c.residue), el('span', {}, formatNumber(c.logprob)))))),
    ));
  output.replaceChildren(
    el('h3', {}, 'Design'),
    ...(design.heavy ? [sequence('Heavy', 'fill-heavy', design.heavy, masked(heavyInput))] : []),
    ...(design.light ? [sequence('Light', 'fill-light', design.light, masked(lightInput))] : []),
    el('p', { id: 'fill-logprob', 'data-value': design.logprob }, `Sum of log p over the filled residues: ${formatNumber(design.logprob)}`),
    el('h3', {}, 'Candidates per masked position (log p, best first)'),
    el('table', { class: 'candidates-table' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Position'), el('th', { scope: 'col' }, 'Candidates'))),
      el('tbody', {}, ...rows)),
  );
}
