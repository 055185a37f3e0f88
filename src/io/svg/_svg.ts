/** Small pieces shared by the SVG figures: escaping, number text, a diverging colour scale, tick steps. */

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);
}

/** Coordinates with at most 2 decimals keep files small without visible rounding. */
export const px = (value: number): string => String(Math.round(value * 100) / 100);

export function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${px(x)}" y="${px(y)}"${attributes ? ` ${attributes}` : ''}>${escapeXml(content)}</text>`;
}

/** A number for labels: 3 significant digits, no exponent for the ranges plotted here, a real minus sign. */
export function label(value: number): string {
  const rounded = Number(value.toPrecision(3));
  return (Object.is(rounded, -0) ? 0 : rounded).toString().replace('-', '\u2212');
}

/** ColorBrewer RdBu, blue (negative) through near-white (0) to red (positive): readable by most colour-blind people. */
const RD_BU = ['#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7', '#fddbc7', '#f4a582', '#d6604d', '#b2182b'];

function rgb(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

/** Colour of `value` on a scale symmetric around 0 from -limit to +limit (values beyond are clipped). */
export function divergingColour(value: number, limit: number): string {
  const t = Math.max(-1, Math.min(1, limit > 0 ? value / limit : 0));
  const position = ((t + 1) / 2) * (RD_BU.length - 1);
  const low = Math.floor(position);
  const high = Math.min(low + 1, RD_BU.length - 1);
  const [a, b] = [rgb(RD_BU[low] as string), rgb(RD_BU[high] as string)];
  const mix = a.map((channel, i) => Math.round(channel + (b[i]! - channel) * (position - low)));
  return `#${mix.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

/** The smallest of 1, 2, 2.5, 5 x 10^k that is >= value: round numbers for scale ends and tick steps. */
export function niceCeil(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value * (1 - 1e-9)) return step * power;
  return 10 * power;
}

export interface TickCandidate {
  x: number;
  label: string;
  /** The first position of a chain or range: always labelled, others make room for it. */
  first: boolean;
}

/** Estimated width of a label: 0.6 em per character bounds Helvetica's digits and lower-case letters. */
export const textWidth = (content: string, fontSize: number): number => [...content].length * fontSize * 0.6;

/** The roundest step a position is a multiple of: 100 before 50 before 10 ..., so 100 wins a place over 99. */
function roundness(position: number): number {
  for (const step of [100, 50, 10, 5]) if (position % step === 0) return step;
  return 1;
}

/**
 * Chain-relative position ticks (10 px labels): the first of each chain or range, then the multiples of `every`,
 * roundest first, wherever a label keeps 3 px from the labels already placed.
 */
export function placeTicks(candidates: readonly TickCandidate[], every: number): TickCandidate[] {
  const halfWidth = (tick: TickCandidate): number => textWidth(tick.label, 10) / 2 + 1.5;
  const placed: TickCandidate[] = [];
  const fits = (tick: TickCandidate): boolean => placed.every((p) => Math.abs(p.x - tick.x) >= halfWidth(p) + halfWidth(tick));
  const multiples = candidates.filter((tick) => !tick.first && Number(tick.label) % every === 0);
  multiples.sort((a, b) => roundness(Number(b.label)) - roundness(Number(a.label)));
  for (const tick of [...candidates.filter((tick) => tick.first), ...multiples]) if (fits(tick)) placed.push(tick);
  return placed.sort((a, b) => a.x - b.x);
}

export const FONT = 'font-family="Helvetica, Arial, sans-serif"';

export function svgDocument(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px(width)}" height="${px(height)}" viewBox="0 0 ${px(width)} ${px(height)}" ${FONT} font-size="11">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
