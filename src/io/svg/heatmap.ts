/**
 * A deep-mutational-scan heatmap as an SVG string: scanned positions left to right (heavy then light, chain boundary
 * and range gaps marked), the 20 amino acids top to bottom, each cell coloured by its score on a blue-white-red scale
 * centred on 0 (the wild type), the wild type marked with a dot, and a legend. Every cell has a tooltip.
 */
import { CHAIN_LETTERS, type ChainLetter } from '../../chains.js';
import { divergingColour, escapeXml, placeTicks, label, niceCeil, px, svgDocument, text, textWidth } from './_svg.js';

export interface HeatmapPosition {
  chain: ChainLetter;
  /** 1-based within the chain. */
  position: number;
  wildType: string;
  /** One score per letter of `aminoAcids`. */
  scores: ArrayLike<number>;
}

export interface HeatmapInput {
  id: string;
  /** How the scores were computed, for the subtitle (e.g. "masked-marginal"). */
  method: string;
  /** Row order, e.g. "ACDEFGHIKLMNPQRSTVWY". */
  aminoAcids: string;
  positions: readonly HeatmapPosition[];
}

const CELL_HEIGHT = 16;
const LEFT = 64;
const TOP = 92;
/** From the legend's left edge to the figure's right edge: the legend's widest line and a margin. */
const LEGEND_WIDTH = 154;
const LEGEND_GAP = 36;
const BOTTOM = 64;
const CHAIN_GAP = 8;
const RANGE_GAP = 3;

/** |score| at the 99th percentile, rounded up: one extreme cell does not wash out the rest (it is drawn clipped). */
function scaleLimit(input: HeatmapInput): number {
  const magnitudes: number[] = [];
  for (const p of input.positions) for (let a = 0; a < p.scores.length; a++) magnitudes.push(Math.abs(p.scores[a] as number));
  magnitudes.sort((x, y) => x - y);
  const index = Math.min(magnitudes.length - 1, Math.floor(magnitudes.length * 0.99));
  return niceCeil(magnitudes[index] ?? 1);
}

export function scanHeatmapSvg(input: HeatmapInput): string {
  const n = input.positions.length;
  const rows = input.aminoAcids.length;
  const cellWidth = Math.max(6, Math.min(20, 900 / Math.max(n, 1)));
  const limit = scaleLimit(input);
  const prefix = (p: HeatmapPosition): string => `${p.chain}${p.position}`;

  // Column x positions, with a gap at the chain boundary and where a range skips positions.
  const xs: number[] = [];
  let x = LEFT;
  input.positions.forEach((p, i) => {
    const previous = input.positions[i - 1];
    if (previous && previous.chain !== p.chain) x += CHAIN_GAP;
    else if (previous && p.position !== previous.position + 1) x += RANGE_GAP;
    xs.push(x);
    x += cellWidth;
  });
  const plotRight = x;
  const plotBottom = TOP + rows * CELL_HEIGHT;
  // The axis caption is centred under the plot; under a plot narrower than itself it starts near the left edge, and
  // the legend moves right to stay clear of it (its key shares the caption's baseline).
  const caption = 'position in chain (1-based); wild type marked \u25cf';
  const captionWidth = textWidth(caption, 11);
  const captionCentre = Math.max((LEFT + plotRight) / 2, 8 + captionWidth / 2);
  const legendLeft = Math.max(plotRight + LEGEND_GAP, captionCentre + captionWidth / 2 + LEGEND_GAP);
  const width = Math.max(legendLeft + LEGEND_WIDTH, 640);
  const height = plotBottom + BOTTOM;
  const body: string[] = [];

  body.push(text(LEFT, 24, `${input.id} \u2014 deep mutational scan`, 'font-size="16" font-weight="bold"'));
  body.push(
    text(
      LEFT,
      42,
      `score = log p(mutant) \u2212 log p(wild type), natural log, ${input.method}; ${n} position${n === 1 ? '' : 's'}`,
      'font-size="11" fill="#444"',
    ),
  );

  // Chain brackets above the columns.
  for (const chain of CHAIN_LETTERS) {
    const columns = input.positions.flatMap((p, i) => (p.chain === chain ? [i] : []));
    if (columns.length === 0) continue;
    const left = xs[columns[0] as number] as number;
    const right = (xs[columns[columns.length - 1] as number] as number) + cellWidth;
    body.push(`<path d="M${px(left)} 66 V60 H${px(right)} V66" fill="none" stroke="#333"/>`);
    const name = `${chain === 'H' ? 'Heavy' : 'Light'} chain`;
    body.push(text((left + right) / 2, 55, right - left > 60 ? name : chain, 'text-anchor="middle" font-weight="bold"'));
  }

  // Wild-type letters above the columns, when there is room to read them.
  if (cellWidth >= 8) {
    input.positions.forEach((p, i) => {
      body.push(text((xs[i] as number) + cellWidth / 2, TOP - 8, p.wildType, 'text-anchor="middle" font-size="10" fill="#333"'));
    });
  }

  // Cells.
  const radius = Math.min(cellWidth, CELL_HEIGHT) * 0.22;
  input.positions.forEach((p, i) => {
    const left = xs[i] as number;
    for (let a = 0; a < rows; a++) {
      const mutant = input.aminoAcids[a] as string;
      const score = p.scores[a] as number;
      const top = TOP + a * CELL_HEIGHT;
      const isWildType = mutant === p.wildType;
      const tip = isWildType ? `${prefix(p)} ${p.wildType} (wild type)` : `${prefix(p)} ${p.wildType}\u2192${mutant}: ${label(score)}`;
      body.push(
        `<rect x="${px(left)}" y="${px(top)}" width="${px(cellWidth)}" height="${CELL_HEIGHT}" fill="${divergingColour(score, limit)}"><title>${escapeXml(tip)}</title></rect>`,
      );
      if (isWildType) {
        body.push(`<circle cx="${px(left + cellWidth / 2)}" cy="${px(top + CELL_HEIGHT / 2)}" r="${px(radius)}" fill="#111"/>`);
      }
    }
  });

  // Thin separators at the chain boundary keep the two chains apart even where the gap is small.
  input.positions.forEach((p, i) => {
    const previous = input.positions[i - 1];
    if (previous && previous.chain !== p.chain) {
      const middle = (xs[i] as number) - CHAIN_GAP / 2;
      body.push(`<line x1="${px(middle)}" y1="${TOP - 4}" x2="${px(middle)}" y2="${plotBottom + 4}" stroke="#111" stroke-width="1.5"/>`);
    }
  });

  // Amino-acid row labels and axis titles.
  for (let a = 0; a < rows; a++) {
    body.push(text(LEFT - 8, TOP + a * CELL_HEIGHT + CELL_HEIGHT / 2 + 4, input.aminoAcids[a] as string, 'text-anchor="end" font-size="11"'));
  }
  body.push(text(18, (TOP + plotBottom) / 2, 'mutant amino acid', `text-anchor="middle" transform="rotate(-90 18 ${px((TOP + plotBottom) / 2)})"`));

  // Position ticks (1-based within each chain).
  const ticks = input.positions.map((p, i) => {
    const previous = input.positions[i - 1];
    const first = !previous || previous.chain !== p.chain || p.position !== previous.position + 1;
    return { x: (xs[i] as number) + cellWidth / 2, label: String(p.position), first };
  });
  for (const tick of placeTicks(ticks, cellWidth >= 16 ? 1 : cellWidth >= 10 ? 5 : 10)) {
    body.push(`<line x1="${px(tick.x)}" y1="${plotBottom}" x2="${px(tick.x)}" y2="${plotBottom + 4}" stroke="#333"/>`);
    body.push(text(tick.x, plotBottom + 15, tick.label, 'text-anchor="middle" font-size="10"'));
  }
  body.push(text(captionCentre, plotBottom + 38, caption, 'text-anchor="middle"'));

  body.push(...legend(legendLeft, TOP, rows * CELL_HEIGHT, limit));
  return svgDocument(width, height, `${input.id}: deep mutational scan`, body);
}

function legend(left: number, top: number, barHeight: number, limit: number): string[] {
  const out: string[] = [];
  const stops = 8;
  out.push('<defs><linearGradient id="scale" x1="0" y1="0" x2="0" y2="1">');
  for (let k = 0; k <= stops; k++) {
    out.push(`<stop offset="${px(k / stops)}" stop-color="${divergingColour(limit * (1 - (2 * k) / stops), limit)}"/>`);
  }
  out.push('</linearGradient></defs>');
  out.push(text(left - 6, top - 22, 'log p(mut) \u2212 log p(wt)', 'font-size="11" font-weight="bold"'));
  out.push(`<rect x="${left}" y="${top}" width="14" height="${px(barHeight)}" fill="url(#scale)" stroke="#333" stroke-width="0.5"/>`);
  for (const fraction of [1, 0.5, 0, -0.5, -1]) {
    const y = top + ((1 - fraction) / 2) * barHeight;
    const value = fraction * limit;
    const name = fraction === 1 ? `\u2265 ${label(value)}` : fraction === -1 ? `\u2264 ${label(value)}` : label(value);
    out.push(`<line x1="${left + 14}" y1="${px(y)}" x2="${left + 18}" y2="${px(y)}" stroke="#333"/>`);
    out.push(text(left + 21, y + 4, fraction === 0 ? '0 (= wild type)' : name, 'font-size="10"'));
  }
  out.push(text(left - 6, top - 8, 'more likely than wild type', 'font-size="10" fill="#b2182b"'));
  out.push(text(left - 6, top + barHeight + 16, 'less likely than wild type', 'font-size="10" fill="#2166ac"'));
  out.push(`<circle cx="${left + 7}" cy="${px(top + barHeight + 34)}" r="3.5" fill="#111"/>`);
  out.push(text(left + 16, top + barHeight + 38, 'wild-type residue', 'font-size="10"'));
  return out;
}
