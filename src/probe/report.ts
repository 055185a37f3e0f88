/**
 * The human side of a fitted probe: a Markdown report (metrics table, per-fold results, the exact protocol, label
 * hygiene) next to the head, and an SVG plot of out-of-fold predictions against the measurements (regression) or
 * of out-of-fold probabilities by measured class (classification). SVG is written by hand: a scatter plot needs no
 * plotting library.
 */
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { FileError } from '../errors.js';
import type { MetricName } from './crossValidate.js';
import { serializeHead } from './head.js';
import { sigmoid } from './logistic.js';
import type { ProbeFitResult } from './probe.js';

const METRIC_LABELS: Record<MetricName, string> = { r2: 'R²', spearman: 'Spearman ρ', rmse: 'RMSE', roc_auc: 'ROC AUC', accuracy: 'Accuracy' };
const FOLD_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** 0.00316, 316, 1000: three significant digits without exponent notation. */
const short = (value: number): string => String(Number(value.toPrecision(3)));
const fixed = (value: number | undefined, digits = 3): string => (value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits));
const escapeXml = (text: string): string => text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);

/** Paths of the report files that go with a head file: HEAD.json → HEAD.md, HEAD.scatter.svg. */
export function reportPaths(headPath: string): { markdown: string; svg: string } {
  const stem = headPath.replace(/\.json$/i, '');
  return { markdown: `${stem}.md`, svg: `${stem}.scatter.svg` };
}

/** Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten. */
function ticks(low: number, high: number, count = 5): number[] {
  const span = high - low || Math.abs(high) || 1;
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) as number) * power;
  const out: number[] = [];
  for (let t = Math.ceil(low / step) * step; t <= high + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

function targetLabel(result: ProbeFitResult): string {
  const { column, transform } = result.head.target;
  return transform === 'none' ? column : transform === 'log10' ? `log10(${column})` : `−log10(${column})`;
}

export function scatterSvg(result: ProbeFitResult): string {
  const { head, crossValidation, measured } = result;
  const classification = head.task === 'classification';
  const size = 480;
  const margin = { left: 64, right: 16, top: 36, bottom: 52 };
  const plot = size - margin.left - margin.right;
  const xs = classification
    ? Array.from(measured, (c, i) => c + (((i * 0.6180339887) % 1) - 0.5) * 0.5) // deterministic jitter
    : Array.from(measured);
  const ys = Array.from(crossValidation.outOfFold, (d) => (classification ? sigmoid(d) : d));
  const bounds = (values: number[]): [number, number] => {
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const pad = (hi - lo || 1) * 0.05;
    return [lo - pad, hi + pad];
  };
  let [x0, x1] = classification ? [-0.5, 1.5] : bounds(xs);
  let [y0, y1] = classification ? [0, 1] : bounds(ys);
  if (!classification) [x0, x1, y0, y1] = [Math.min(x0, y0), Math.max(x1, y1), Math.min(x0, y0), Math.max(x1, y1)]; // same scale: y = x is the diagonal
  const px = (x: number) => margin.left + ((x - x0) / (x1 - x0)) * plot;
  const py = (y: number) => margin.top + plot - ((y - y0) / (y1 - y0)) * plot;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" font-family="sans-serif" font-size="12">`,
    `<rect width="${size}" height="${size}" fill="white"/>`,
    `<rect x="${margin.left}" y="${margin.top}" width="${plot}" height="${plot}" fill="none" stroke="#444"/>`,
  ];
  const xTicks = classification ? [0, 1] : ticks(x0, x1);
  for (const t of xTicks) {
    const label = classification ? (head.target.classes?.[t] ?? String(t)) : String(t);
    parts.push(`<line x1="${px(t)}" y1="${margin.top + plot}" x2="${px(t)}" y2="${margin.top + plot + 5}" stroke="#444"/>`);
    parts.push(`<text x="${px(t)}" y="${margin.top + plot + 18}" text-anchor="middle">${escapeXml(label)}</text>`);
  }
  for (const t of ticks(y0, y1)) {
    parts.push(`<line x1="${margin.left - 5}" y1="${py(t)}" x2="${margin.left}" y2="${py(t)}" stroke="#444"/>`);
    parts.push(`<text x="${margin.left - 8}" y="${py(t) + 4}" text-anchor="end">${t}</text>`);
  }
  if (!classification) {
    parts.push(`<line x1="${px(x0)}" y1="${py(x0)}" x2="${px(x1)}" y2="${py(x1)}" stroke="#999" stroke-dasharray="4 4"/>`);
  } else {
    parts.push(`<line x1="${px(x0)}" y1="${py(0.5)}" x2="${px(x1)}" y2="${py(0.5)}" stroke="#999" stroke-dasharray="4 4"/>`);
  }
  xs.forEach((x, i) => {
    const colour = FOLD_COLOURS[(crossValidation.assignment[i] as number) % FOLD_COLOURS.length];
    parts.push(`<circle cx="${px(x).toFixed(2)}" cy="${py(ys[i] as number).toFixed(2)}" r="3" fill="${colour}" fill-opacity="0.7"/>`);
  });
  const summary = head.metrics.summary;
  const title = classification
    ? `ROC AUC ${fixed(summary.roc_auc?.mean)} ± ${fixed(summary.roc_auc?.sd)} (${head.protocol.folds}-fold CV)`
    : `R² ${fixed(summary.r2?.mean)} ± ${fixed(summary.r2?.sd)} (${head.protocol.folds}-fold CV)`;
  parts.push(`<text x="${margin.left + plot / 2}" y="16" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`);
  parts.push(`<text x="${margin.left + plot / 2}" y="30" text-anchor="middle" font-size="10" fill="#555">${xs.length} antibodies; colour = outer fold</text>`);
  const xLabel = classification ? `measured class (${head.target.column})` : `measured ${targetLabel(result)}`;
  const yLabel = classification
    ? `out-of-fold probability of "${head.target.classes?.[1] ?? 'class 1'}"`
    : 'predicted (out of fold)';
  parts.push(`<text x="${margin.left + plot / 2}" y="${size - 12}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${margin.top + plot / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function protocolLines(result: ProbeFitResult): string[] {
  const { head } = result;
  const p = head.protocol;
  const lines = [
    `- Target: column \`${head.target.column}\`` +
      (head.target.transform === 'none' ? ', untransformed' : `, transformed to ${targetLabel(result)} before fitting and scoring`) +
      (head.target.threshold !== undefined ? `; class 1 = value > ${head.target.threshold}` : '') +
      (head.target.classes ? `; classes 0 = "${head.target.classes[0]}", 1 = "${head.target.classes[1]}"` : '') +
      '.',
    head.features.recipe === 'pooler-head'
      ? `- Features: the [CLS] state of the last hidden layer (layer ${head.features.layer}), ${head.features.width} values per antibody, encoder frozen.`
      : `- Features: \`${head.features.recipe}\` pooling of the last hidden state (layer ${head.features.layer}), ${head.features.width} values per antibody.`,
    `- Outer cross-validation: ${p.folds} folds from a seeded shuffle (seed ${p.seed})` +
      `${head.task === 'classification' ? ', stratified by class' : ''}; the fold of every row is in the head (metrics.assignment).`,
  ];
  if (head.model.kind === 'pooler-head') {
    const o = p.poolerHead ?? {};
    lines.push(
      `- Model: BertPooler (dense ${head.features.width}×${head.features.width} + tanh on [CLS], initialised from the ` +
        `${head.model.initialisedFrom === 'checkpoint' ? "checkpoint's pooler" : 'seeded random normal(0, initializer_range)'}) + linear head; ` +
        `Adam (lr ${o['learningRate']}, batch ${o['batchSize']}), early stopping on a ${(o['validationFraction'] ?? 0) * 100}% validation split ` +
        `(patience ${o['patience']}, at most ${o['maxEpochs']} epochs).`,
    );
  } else {
    const penalty = head.model.kind === 'ridge' ? 'α' : 'C';
    lines.push(
      `- Model: ${head.model.kind === 'ridge' ? 'ridge regression' : 'L2 logistic regression'} on standardised features ` +
        `(mean/sd of the training rows), intercept unpenalised.`,
      `- Penalty: ${penalty} from {${(p.grid ?? []).map(short).join(', ')}} by ${p.innerFolds}-fold inner CV on each outer ` +
        `training set (${p.innerScoring === 'r2' ? 'KFold, R²' : 'StratifiedKFold, ROC AUC'}; as scikit-learn GridSearchCV); ` +
        `final model: ${penalty} = ${short(head.model.penalty)} chosen the same way on all rows.`,
    );
  }
  lines.push(`- Mean ± sd over the outer folds; sd is the population standard deviation (ddof 0).`);
  return lines;
}

export function probeReportMarkdown(result: ProbeFitResult, svgName: string): string {
  const { head, crossValidation, targets, rejected } = result;
  const names = Object.keys(crossValidation.summary) as MetricName[];
  const penaltyName = head.model.kind === 'pooler-head' ? 'epochs' : head.model.kind === 'ridge' ? 'α' : 'C';
  const lines = [
    `# Probe: ${head.target.column} (${head.task})`,
    '',
    `Checkpoint \`${head.checkpoint.source}\` (identity ${head.checkpoint.identity.slice(0, 12)}), input \`${head.training.input}\`: ` +
      `${head.training.rows} rows used, ${targets.skipped.length} skipped for their label, ${rejected.length} rejected for their sequence.`,
    '',
    `## Cross-validated metrics (${head.protocol.folds} folds)`,
    '',
    '| metric | mean ± sd |',
    '| --- | --- |',
    ...names.map((n) => `| ${METRIC_LABELS[n]} | ${fixed(crossValidation.summary[n]?.mean)} ± ${fixed(crossValidation.summary[n]?.sd)} |`),
    '',
    `| fold | train | test | ${penaltyName} | ${names.map((n) => METRIC_LABELS[n]).join(' | ')} |`,
    `| --- | --- | --- | --- | ${names.map(() => '---').join(' | ')} |`,
    ...crossValidation.folds.map(
      (f) =>
        `| ${f.fold + 1} | ${f.trainSize} | ${f.testSize} | ${f.penalty !== undefined ? short(f.penalty) : (f.epochs ?? '')} | ` +
        `${names.map((n) => fixed(f.metrics[n])).join(' | ')} |`,
    ),
    '',
    `![${head.task === 'regression' ? 'out-of-fold predictions against measurements' : 'out-of-fold probabilities by class'}](${svgName})`,
    '',
    '## Protocol',
    '',
    ...protocolLines(result),
    '',
    '## Label hygiene',
    '',
  ];
  const listed = <T>(items: T[], describe: (item: T) => string): string[] =>
    [...items.slice(0, 20).map((item) => `  - ${describe(item)}`), ...(items.length > 20 ? [`  - … and ${items.length - 20} more`] : [])];
  lines.push(`- Rows skipped for their label: ${targets.skipped.length}`);
  lines.push(...listed(targets.skipped, (s) => `row ${s.row} (id ${s.id}): ${s.reason}${s.value ? ` (${JSON.stringify(s.value)})` : ''}`));
  lines.push(`- Rows rejected for their sequence: ${rejected.length}`);
  lines.push(...listed(rejected, (r) => `row ${r.row} (id ${r.id}): ${r.error}`));
  lines.push(`- Same antibody listed with different labels: ${targets.conflicts.length} (kept as given)`);
  lines.push(...listed(targets.conflicts, (c) => `rows ${c.rows.join(', ')} (ids ${c.ids.join(', ')}): ${c.values.join(' vs ')}`));
  lines.push('', `Written by igbert ${head.producer.version} on ${head.created}.`, '');
  return lines.join('\n');
}

/** Writes HEAD.json and, beside it, HEAD.md and HEAD.scatter.svg. */
export async function writeProbeFiles(result: ProbeFitResult, headPath: string): Promise<{ head: string; markdown: string; svg: string }> {
  const paths = reportPaths(headPath);
  try {
    await writeFile(headPath, serializeHead(result.head));
    await writeFile(paths.svg, scatterSvg(result));
    await writeFile(paths.markdown, probeReportMarkdown(result, basename(paths.svg)));
  } catch (cause) {
    throw new FileError(`cannot write the probe head or report next to ${headPath}: ${(cause as Error).message}`, { cause });
  }
  return { head: headPath, ...paths };
}
