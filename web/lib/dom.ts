/** Small DOM helpers for the page: element creation, SVG, colour scales and a keyboard cursor over a chart. */

type Attributes = Record<string, string | number | boolean | undefined>;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  element.append(...children);
  return element;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  setAttributes(element, attributes);
  element.append(...children);
  return element;
}

function setAttributes(element: Element, attributes: Attributes): void {
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(key, value === true ? '' : String(value));
  }
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`page is missing #${id}`);
  return found as T;
}

/** Formats a log-probability or score for people: 3 decimals, a real minus sign. */
export const formatNumber = (value: number, digits = 3): string => value.toFixed(digits).replace('-', '−');

/**
 * Diverging colour for a mutation score: blue above 0 (better than the wild type), red below, white at 0.
 * Colours from ColorBrewer RdBu, readable for red-green colour blindness.
 */
export function divergingColour(value: number, limit: number): string {
  const t = Math.max(-1, Math.min(1, value / (limit || 1)));
  const [r, g, b] = t >= 0 ? mix([247, 247, 247], [33, 102, 172], t) : mix([247, 247, 247], [178, 24, 43], -t);
  return `rgb(${r},${g},${b})`;
}

/** Sequential colour for a log-probability in [min, 0]: pale yellow (likely) to dark purple (unlikely). */
export function sequentialColour(value: number, min: number): string {
  const t = Math.max(0, Math.min(1, value / (min || -1)));
  const stops: [number, number, number][] = [[253, 231, 37], [33, 145, 140], [68, 1, 84]];
  const [r, g, b] = t < 0.5 ? mix(stops[0]!, stops[1]!, t * 2) : mix(stops[1]!, stops[2]!, (t - 0.5) * 2);
  return `rgb(${r},${g},${b})`;
}

function mix(a: [number, number, number], b: [number, number, number], t: number): [number, number, number] {
  return [0, 1, 2].map((i) => Math.round(a[i]! + (b[i]! - a[i]!) * t)) as [number, number, number];
}

/**
 * Keyboard and pointer selection over a grid chart drawn as one focusable element (one tab stop however many
 * cells): arrow keys move, Home/End jump along the row, and every move calls `show` so an aria-live readout can
 * say the value. Pointer hover and click select the cell under the pointer.
 */
export function gridCursor(
  target: SVGElement | HTMLElement,
  size: { columns: number; rows: number },
  show: (column: number, row: number) => void,
  cellAt: (event: MouseEvent) => { column: number; row: number } | undefined,
): void {
  let column = 0;
  let row = 0;
  const move = (c: number, r: number): void => {
    column = Math.max(0, Math.min(size.columns - 1, c));
    row = Math.max(0, Math.min(size.rows - 1, r));
    show(column, row);
  };
  target.addEventListener('keydown', (event) => {
    const e = event as KeyboardEvent;
    const step = e.shiftKey ? 10 : 1;
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [column - step, row],
      ArrowRight: [column + step, row],
      ArrowUp: [column, row - 1],
      ArrowDown: [column, row + 1],
      Home: [0, row],
      End: [size.columns - 1, row],
    };
    const next = moves[e.key];
    if (!next) return;
    e.preventDefault();
    move(...next);
  });
  target.addEventListener('focus', () => move(column, row));
  const pick = (event: Event): void => {
    const cell = cellAt(event as MouseEvent);
    if (cell) move(cell.column, cell.row);
  };
  target.addEventListener('mousemove', pick);
  target.addEventListener('click', pick);
}
