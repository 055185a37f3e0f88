/**
 * `igbert probe fit` and `igbert probe predict`: property prediction on embeddings (see docs/probe.md).
 * fit cross-validates a probe, then writes the head (JSON) and its report (Markdown + SVG); predict applies a head.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { FileError, InputError, UsageError } from '../../errors.js';
import { loadModel } from '../../node/loadModel.js';
import { assertNotAnInput, resolveOutputTarget, type OutputTarget } from '../../io/outputTarget.js';
import { checkOutputHolds, scalarColumns } from '../../io/outputFormats.js';
import { openResultWriter, outputFormat, writtenFiles } from '../../io/resultWriter.js';
import { FEATURE_RECIPES, type FeatureRecipe, type RejectedRow } from '../../probe/features.js';
import { parseHead } from '../../probe/head.js';
import type { ProbeTask } from '../../probe/linearProbe.js';
import { fitProbe, predictProbe } from '../../probe/probe.js';
import { writeProbeFiles } from '../../probe/report.js';
import { TRANSFORMS, type SkippedRow, type TargetTransform } from '../../probe/table.js';
import { EXIT } from '../exitCodes.js';
import { parseChoice, parseInteger, parseNumber, parseSeed, SEED_RANGE } from '../options.js';
import { RejectLog } from '../rejects.js';

interface SharedOptions {
  model: string;
  input: string;
  output: string;
  cache: boolean;
  threads?: number;
  maxBatchTokens?: number;
}

interface FitCliOptions extends SharedOptions {
  target: string;
  task: ProbeTask;
  features: FeatureRecipe;
  folds: number;
  innerFolds: number;
  seed: number;
  transform: TargetTransform;
  threshold?: number;
  positive?: string;
}

interface PredictCliOptions extends SharedOptions {
  head: string;
}

function addSharedOptions(command: Command, outputHelp: string): Command {
  return command
    .requiredOption('--model <dir>', 'checkpoint folder in Hugging Face format')
    .requiredOption('--input <file>', 'CSV/TSV with a header: heavy, light (either may be empty), optional id (else the row number), measurements')
    .requiredOption('--output <file>', outputHelp)
    .option('--no-cache', 'always run the model (default: reuse embeddings cached under $IGBERT_CACHE_DIR/probe or ~/.cache/igbert/probe)')
    .option('--max-batch-tokens <n>', 'token budget per batch, padding included (default 8192)', parseInteger('--max-batch-tokens', { min: 1 }))
    .option('--threads <n>', 'CPU threads for ONNX Runtime (default: all cores)', parseInteger('--threads', { min: 1 }));
}

const log = (message: string): void => void process.stderr.write(`igbert: ${message}\n`);

async function openModel(options: SharedOptions) {
  return loadModel(options.model, {
    ...(options.threads ? { threads: options.threads } : {}),
    ...(options.maxBatchTokens ? { batching: { maxBatchTokens: options.maxBatchTokens } } : {}),
  });
}

/** Logs skipped and rejected rows to <output>.errors.jsonl; returns how many there were. */
async function logRejects(output: OutputTarget, skipped: readonly SkippedRow[], rejected: readonly RejectedRow[]): Promise<number> {
  const rejects = new RejectLog(output);
  try {
    const all = [
      ...skipped.map((s) => ({ row: s.row, id: s.id, message: `${s.reason}${s.value ? ` (${JSON.stringify(s.value)})` : ''}` })),
      ...rejected.map((r) => ({ row: r.row, id: r.id, message: r.error })),
    ].sort((a, b) => a.row - b.row);
    for (const entry of all) await rejects.reject(entry.row, entry.id, new InputError(entry.message, { record: entry.row, id: entry.id }));
    await rejects.close();
  } catch (error) {
    await rejects.abandon(true);
    throw error;
  }
  if (rejects.count > 0) log(`${rejects.count} row(s) not used, ${rejects.listed}.`);
  return rejects.count;
}

async function runFit(options: FitCliOptions): Promise<number> {
  if (!/\.json$/i.test(options.output)) throw new UsageError(`--output must be a .json file (the head); got ${options.output}.`);
  const target = await resolveOutputTarget(options.output, [options.input]);
  if (target.kind !== 'file') throw new UsageError(`--output must be a file: the head is written with its report beside it; got ${options.output}.`);
  if ((options.threshold !== undefined || options.positive !== undefined) && options.task !== 'classification') {
    throw new UsageError(`${options.threshold !== undefined ? '--threshold' : '--positive'} defines classes; it needs --task classification.`);
  }
  if (options.threshold !== undefined && options.positive !== undefined) {
    throw new UsageError('--threshold and --positive exclude each other: with --threshold, class 1 is the values above it.');
  }
  await using model = await openModel(options);
  const result = await fitProbe(model, options.input, {
    target: options.target,
    task: options.task,
    features: options.features,
    folds: options.folds,
    innerFolds: options.innerFolds,
    seed: options.seed,
    transform: options.transform,
    ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
    ...(options.positive !== undefined ? { positive: options.positive } : {}),
    ...(options.cache ? {} : { cache: false as const }),
    log,
  });
  const files = await writeProbeFiles(result, target.path);
  for (const c of result.targets.conflicts) {
    log(`warning: rows ${c.rows.join(', ')} are the same antibody with different labels (${c.values.join(' vs ')}); kept as given.`);
  }
  const summary = Object.entries(result.crossValidation.summary)
    .map(([name, s]) => `${name} ${s.mean.toFixed(3)} ± ${s.sd.toFixed(3)}`)
    .join(', ');
  log(`${options.folds}-fold CV on ${result.rows.length} rows: ${summary}`);
  log(`wrote ${files.head}, ${files.markdown}, ${files.svg}`);
  return (await logRejects(target, result.targets.skipped, result.rejected)) > 0 ? EXIT.rowsRejected : EXIT.ok;
}

async function runPredict(options: PredictCliOptions): Promise<number> {
  const target = await resolveOutputTarget(options.output);
  const format = outputFormat(target);
  checkOutputHolds(format, target, scalarColumns('row', 'id', 'prediction'));
  if (target.kind === 'file') await assertNotAnInput([...writtenFiles(target.path, format), `${target.path}.errors.jsonl`], [options.input, options.head]);
  let text: string;
  try {
    text = await readFile(options.head, 'utf8');
  } catch (cause) {
    throw new FileError(`cannot read the head ${options.head}: ${(cause as Error).message}`, { cause });
  }
  const head = parseHead(text, options.head);
  await using model = await openModel(options);
  const { predictions, rejected } = await predictProbe(model, head, options.input, {
    ...(options.cache ? {} : { cache: false as const }),
    log,
  });
  const writer = await openResultWriter(target, format);
  try {
    for (const p of predictions) {
      await writer.write(
        head.task === 'classification'
          ? { row: p.row, id: p.id, probability: p.probability, label: p.label }
          : { row: p.row, id: p.id, prediction: p.decision, ...(p.untransformed !== undefined ? { [`predicted_${head.target.column}`]: p.untransformed } : {}) },
      );
    }
    await writer.finish();
  } catch (error) {
    await writer.abandon(true);
    throw error;
  }
  return (await logRejects(target, [], rejected)) > 0 ? EXIT.rowsRejected : EXIT.ok;
}

const EXIT_HELP = '\nExit codes: 0 success; 1 failure; 2 usage error; 3 some rows not used (listed in <output>.errors.jsonl).';

export function registerProbe(program: Command): void {
  const probe = program
    .command('probe')
    .description('Predict measured properties from embeddings: fit a probe with cross-validation, or apply a fitted head.');
  const fit = probe
    .command('fit')
    .description('Cross-validate a probe on a labelled CSV, fit it on all rows, write HEAD.json + HEAD.md + HEAD.scatter.svg.');
  addSharedOptions(fit, 'head file to write (.json); the report goes beside it (.md, .scatter.svg)')
    .requiredOption('--target <column>', 'the measurement column to predict')
    .option('--task <name>', 'regression (ridge) | classification (L2 logistic regression)', parseChoice('--task', ['regression', 'classification'] as const), 'regression')
    .option(
      '--features <recipe>',
      `${FEATURE_RECIPES.join(' | ')}; pooler-head trains the model card's pooler + a linear head on [CLS]`,
      parseChoice('--features', FEATURE_RECIPES),
      'mean',
    )
    .option('--folds <k>', 'outer cross-validation folds', parseInteger('--folds', { min: 2 }), 5)
    .option('--inner-folds <k>', 'inner folds that choose the penalty (linear probes)', parseInteger('--inner-folds', { min: 2 }), 5)
    .option('--seed <n>', `seed of the outer folds (and of the pooler head), ${SEED_RANGE}`, parseSeed(), 0)
    .option('--transform <name>', `${TRANSFORMS.join(' | ')}: applied to the target before fitting (neglog10 for Kd: higher = tighter)`, parseChoice('--transform', TRANSFORMS), 'none')
    .option('--threshold <value>', 'classification from a numeric column: class 1 = (transformed) value above this', parseNumber('--threshold'))
    .option('--positive <label>', 'classification from a two-label column: the label that is class 1 (default: the later in sorted order)')
    .addHelpText(
      'after',
      EXIT_HELP +
        '\n\nExample (FLAb trastuzumab binding, Kd in nM):\n' +
        '  igbert probe fit --model ./IgBert --input flab_shanehsazzadeh2023_trastuzumab_kd.csv --target fitness \\\n' +
        '    --transform neglog10 --output kd-probe.json',
    )
    .action(async (options: FitCliOptions) => {
      process.exitCode = await runFit(options);
    });
  const predict = probe.command('predict').description('Apply a fitted head to every row of a CSV.');
  addSharedOptions(predict, 'predictions (.csv or .jsonl): row, id, prediction (and the untransformed value) or probability and label')
    .requiredOption('--head <file>', 'head written by `igbert probe fit`')
    .addHelpText('after', EXIT_HELP + '\n\nExample:\n  igbert probe predict --model ./IgBert --head kd-probe.json --input new.csv --output predictions.csv')
    .action(async (options: PredictCliOptions) => {
      process.exitCode = await runPredict(options);
    });
  for (const command of [probe, fit, predict]) command.exitOverride();
}
