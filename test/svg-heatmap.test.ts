/**
 * Geometry of the scan heatmap: no text overlaps another text or the legend's colour bar, and round positions (100)
 * get their tick. Text boxes are estimated as 0.6 em per character (Helvetica's digits and lower case are narrower),
 * from the baseline up 0.8 em and down 0.2 em.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { scanHeatmapSvg, type HeatmapPosition } from '../src/io/svg/heatmap.js';

const AMINO_ACIDS = 'ACDEFGHIKLMNPQRSTVWY';

interface Box {
  label: string;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const attribute = (tag: string, name: string): string | undefined => new RegExp(` ${name}="([^"]*)"`).exec(tag)?.[1];

function textBoxes(svg: string): Box[] {
  const boxes: Box[] = [];
  for (const match of svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)) {
    const tag = match[1] as string;
    if (attribute(tag, 'transform')) continue; // the rotated axis title stands apart, left of the rows
    const content = (match[2] as string).replace(/&[a-z]+;/g, '_');
    const size = Number(attribute(tag, 'font-size') ?? 11);
    const x = Number(attribute(tag, 'x'));
    const y = Number(attribute(tag, 'y'));
    const width = [...content].length * size * 0.6;
    const anchor = attribute(tag, 'text-anchor') ?? 'start';
    const left = anchor === 'middle' ? x - width / 2 : anchor === 'end' ? x - width : x;
    boxes.push({ label: content, left, right: left + width, top: y - size * 0.8, bottom: y + size * 0.2 });
  }
  return boxes;
}

/** The legend's colour bar and wild-type key, as boxes. */
function legendShapes(svg: string): Box[] {
  const shapes: Box[] = [];
  for (const match of svg.matchAll(/<rect([^>]*fill="url\(#scale\)"[^>]*)\/>/g)) {
    const tag = match[1] as string;
    const [x, y, w, h] = ['x', 'y', 'width', 'height'].map((name) => Number(attribute(tag, name)));
    shapes.push({ label: 'colour bar', left: x!, right: x! + w!, top: y!, bottom: y! + h! });
  }
  return shapes;
}

const overlaps = (a: Box, b: Box): boolean => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

function scan(chains: Array<{ chain: 'H' | 'L'; from: number; to: number }>): HeatmapPosition[] {
  return chains.flatMap(({ chain, from, to }) =>
    Array.from({ length: to - from + 1 }, (_, k) => ({
      chain,
      position: from + k,
      wildType: AMINO_ACIDS[(from + k) % 20] as string,
      scores: Array.from({ length: 20 }, (_, a) => Math.sin(from + k + a) * 3),
    })),
  );
}

const CASES = {
  "the README's H:95-102": scan([{ chain: 'H', from: 95, to: 102 }]),
  'one position': scan([{ chain: 'L', from: 100, to: 100 }]),
  'both chains, short ranges': scan([{ chain: 'H', from: 98, to: 104 }, { chain: 'L', from: 1, to: 3 }]),
  'a whole heavy chain': scan([{ chain: 'H', from: 1, to: 120 }]),
  'both whole chains': scan([{ chain: 'H', from: 1, to: 120 }, { chain: 'L', from: 1, to: 108 }]),
};

describe('scan heatmap geometry', () => {
  for (const [name, positions] of Object.entries(CASES)) {
    const svg = scanHeatmapSvg({ id: 'ab1', method: 'masked-marginal', aminoAcids: AMINO_ACIDS, positions });
    const width = Number(/<svg[^>]* width="([\d.]+)"/.exec(svg)?.[1]);
    const height = Number(/<svg[^>]* height="([\d.]+)"/.exec(svg)?.[1]);

    test(`${name}: no text overlaps another text or the colour bar, and all of it is inside the figure`, () => {
      const texts = textBoxes(svg);
      const caption = texts.find((box) => box.label.startsWith('position in chain'));
      assert.ok(caption, 'the axis caption is drawn');
      const shapes = legendShapes(svg);
      assert.equal(shapes.length, 1, 'one colour bar');
      for (let i = 0; i < texts.length; i++) {
        const a = texts[i]!;
        for (const b of [...texts.slice(i + 1), ...shapes]) {
          assert.ok(!overlaps(a, b), `"${a.label}" ${JSON.stringify(a)} overlaps "${b.label}" ${JSON.stringify(b)}`);
        }
        assert.ok(a.left >= 0 && a.right <= width && a.top >= 0 && a.bottom <= height, `"${a.label}" is outside ${width}x${height}`);
      }
    });
  }

  test('a region spanning position 100 has a tick labelled 100', () => {
    for (const [from, to] of [[95, 102], [96, 104], [99, 101], [90, 110], [1, 120]] as const) {
      const svg = scanHeatmapSvg({ id: 'ab1', method: 'masked-marginal', aminoAcids: AMINO_ACIDS, positions: scan([{ chain: 'H', from, to }]) });
      const labels = textBoxes(svg).map((box) => box.label);
      assert.ok(labels.includes('100'), `H:${from}-${to} has no tick at 100 (ticks: ${labels.filter((l) => /^\d+$/.test(l)).join(' ')})`);
    }
  });
});
