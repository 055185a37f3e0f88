/**
 * Per-residue log-probability along an antibody as an SVG string: one bar per residue hanging from 0 (longer bar =
 * less likely residue), heavy and light chains in two colours with a boundary, the mean as a dashed line, position
 * ticks within each chain, residue letters when there is room, and a tooltip per residue.
 */
import { CHAIN_LETTERS, type ChainLetter } from '../../chains.js';
import { escapeXml, placeTicks, label, niceCeil, px, svgDocument, text } from './_svg.js';

export interface ResiduePlotInput {
  id: string;
  /** How the terms were computed, for the subtitle (e.g. "pll"). */
  method: string;
  residues: readonly { chain: ChainLetter; position: number; residue: string }[];
  /** Natural-log probability of each residue, same order. */
  terms: ArrayLike<number>;
}

const COLOURS = { H: '#3b6fb6', L: '#d9822b' } as const;
const LEFT = 70;
const TOP = 92;
const PLOT_HEIGHT = 260;
const RIGHT = 30;
const BOTTOM = 76;
const CHAIN_GAP = 8;

export function residuePlotSvg(input: ResiduePlotInput): string {
  const n = input.residues.length;
  const step = Math.max(4, Math.min(18, 1000 / Math.max(n, 1)));
  let lowest = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    lowest = Math.min(lowest, input.terms[i] as number);
    sum += input.terms[i] as number;
  }
  const mean = n > 0 ? sum / n : 0;
  const bottomValue = -niceCeil(-lowest || 1);
  const y = (value: number): number => TOP + (value / bottomValue) * PLOT_HEIGHT;

  const xs: number[] = [];
  let x = LEFT;
  input.residues.forEach((r, i) => {
    if (i > 0 && input.residues[i - 1]?.chain !== r.chain) x += CHAIN_GAP;
    xs.push(x);
    x += step;
  });
  const plotRight = x;
  const width = Math.max(plotRight + RIGHT, 620);
  const height = TOP + PLOT_HEIGHT + BOTTOM;
  const body: string[] = [];

  body.push(text(LEFT, 24, `${input.id} \u2014 per-residue log-probability`, 'font-size="16" font-weight="bold"'));
  body.push(
    text(
      LEFT,
      42,
      `${input.method}: sum ${label(sum)}, mean ${label(mean)}, perplexity ${label(Math.exp(-mean))} (natural log, full vocabulary)`,
      'font-size="11" fill="#444"',
    ),
  );

  // Horizontal grid and y ticks.
  const tickStep = niceCeil(-bottomValue / 5);
  for (let value = 0; value >= bottomValue - 1e-9; value -= tickStep) {
    body.push(`<line x1="${LEFT}" y1="${px(y(value))}" x2="${px(plotRight)}" y2="${px(y(value))}" stroke="${value === 0 ? '#333' : '#e3e3e3'}"/>`);
    body.push(text(LEFT - 6, y(value) + 4, label(value), 'text-anchor="end" font-size="10"'));
  }
  body.push(text(20, TOP + PLOT_HEIGHT / 2, 'log p(residue)', `text-anchor="middle" transform="rotate(-90 20 ${px(TOP + PLOT_HEIGHT / 2)})"`));

  // Bars.
  input.residues.forEach((r, i) => {
    const value = input.terms[i] as number;
    const tip = `${r.chain}${r.position} ${r.residue}: ${label(value)} (p = ${label(Math.exp(value))})`;
    body.push(
      `<rect x="${px((xs[i] as number) + step * 0.1)}" y="${TOP}" width="${px(step * 0.8)}" height="${px(y(value) - TOP)}" fill="${COLOURS[r.chain]}"><title>${escapeXml(tip)}</title></rect>`,
    );
  });

  // Mean line, chain boundary, chain names.
  body.push(`<line x1="${LEFT}" y1="${px(y(mean))}" x2="${px(plotRight)}" y2="${px(y(mean))}" stroke="#111" stroke-dasharray="5 3"/>`);
  for (const chain of CHAIN_LETTERS) {
    const columns = input.residues.flatMap((r, i) => (r.chain === chain ? [i] : []));
    if (columns.length === 0) continue;
    const left = xs[columns[0] as number] as number;
    const right = (xs[columns[columns.length - 1] as number] as number) + step;
    body.push(text((left + right) / 2, TOP - 8, `${chain === 'H' ? 'Heavy' : 'Light'} chain`, `text-anchor="middle" font-weight="bold" fill="${COLOURS[chain]}"`));
    if (chain === 'L' && input.residues[0]?.chain === 'H') {
      const boundary = left - CHAIN_GAP / 2;
      body.push(`<line x1="${px(boundary)}" y1="${TOP - 4}" x2="${px(boundary)}" y2="${TOP + PLOT_HEIGHT}" stroke="#111" stroke-width="1.5"/>`);
    }
  }

  // Position ticks within each chain, residue letters when readable.
  const letters = step >= 9;
  const tickTop = TOP + PLOT_HEIGHT + (letters ? 16 : 0);
  if (letters) {
    input.residues.forEach((r, i) => {
      body.push(text((xs[i] as number) + step / 2, TOP + PLOT_HEIGHT + 12, r.residue, 'text-anchor="middle" font-size="9" fill="#333"'));
    });
  }
  const ticks = input.residues.map((r, i) => ({
    x: (xs[i] as number) + step / 2,
    label: String(r.position),
    first: i === 0 || input.residues[i - 1]?.chain !== r.chain,
  }));
  for (const tick of placeTicks(ticks, step >= 14 ? 5 : 10)) {
    body.push(`<line x1="${px(tick.x)}" y1="${tickTop}" x2="${px(tick.x)}" y2="${tickTop + 4}" stroke="#333"/>`);
    body.push(text(tick.x, tickTop + 15, tick.label, 'text-anchor="middle" font-size="10"'));
  }
  body.push(text((LEFT + plotRight) / 2, tickTop + 36, 'position in chain (1-based)', 'text-anchor="middle"'));

  // Legend, on its own line under the subtitle.
  body.push(`<rect x="${LEFT}" y="52" width="10" height="10" fill="${COLOURS.H}"/>`, text(LEFT + 14, 61, 'heavy chain', 'font-size="10"'));
  body.push(`<rect x="${LEFT + 90}" y="52" width="10" height="10" fill="${COLOURS.L}"/>`, text(LEFT + 104, 61, 'light chain', 'font-size="10"'));
  body.push(`<line x1="${LEFT + 180}" y1="57" x2="${LEFT + 205}" y2="57" stroke="#111" stroke-dasharray="5 3"/>`);
  body.push(text(LEFT + 210, 61, 'mean log p; a longer bar is a less likely residue', 'font-size="10"'));
  return svgDocument(width, height, `${input.id}: per-residue log-probability (${input.method})`, body);
}
