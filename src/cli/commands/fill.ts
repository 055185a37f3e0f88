/** `igbert fill`: predict masked residues ('*' and --mask regions) of every row: designs and per-position candidates. */
import { FILL_DESIGN_FIELDS, fillDesignRows, fillJson } from '../../tasks/resultRows.js';
import type { Command } from 'commander';
import { scalarColumns, type ColumnSpec, type OutputFormat } from '../../io/outputFormats.js';
import { loadModel } from '../../node/loadModel.js';
import { FILL_ORDERS, FILL_STRATEGIES, fillEncoded, prepareFill, resolveFillOptions, type FillOptions, type FillOrder, type FillStrategy } from '../../tasks/fill.js';
import { parseRegions, recordLocation, type Region } from '../../tasks/positions.js';
import type { EncodedAntibody } from '../../tokenizer/antibody.js';
import { parseChoice, parseInteger, parseNumber, parseSeed, SEED_RANGE } from '../options.js';
import { checkRegionsFit } from '../optionFit.js';
import { openJob } from '../pipeline.js';
import { residueCap } from '../residueCap.js';
import { addCommonOptions, EXIT_CODES_HELP, modelOptionsFrom, pipelineOptionsFrom, type CommonCliOptions } from '../commonOptions.js';

interface FillCliOptions extends CommonCliOptions {
  mask?: string;
  strategy: FillStrategy;
  order: FillOrder;
  temperature?: number;
  topK?: number;
  seed?: number;
  num?: number;
  allowNonstandard?: boolean;
  candidates?: number;
}

const DEFINITIONS = `
Masks: write '*' for each residue to predict, and/or --mask H:95-102 (1-based, inclusive; several: "H:95-102,L:89-97")
to mask the same range in every row. Every mask is filled; rows without any are rejected. Unmasked residues are
never changed.
Strategies: greedy = the most probable residue; sample = drawn from softmax(log p / temperature) over the
allowed residues (the --top-k most probable when given), with a generator seeded by --seed and the row's
sequence: the same seed and input always give the same designs.
Orders: parallel = all masks from one pass; confidence = fill the mask whose best residue is most probable,
run the model again, repeat (one pass per mask).
Allowed residues: the 20 standard amino acids (--allow-nonstandard adds X B Z U O).
Output (natural log, full-vocabulary log-softmax of the masked-LM head):
  {"id", "designs": [{"heavy", "light", "logprob"}], "positions": [{"chain", "position", "candidates":
  [{"residue", "logprob"}]}]}: designs best first (logprob = sum over masks of log p of the chosen residue in
  the pass that chose it; sampled designs may repeat); candidates = allowed residues at each mask with their
  log p in the first pass (all masks in place), best first. chain is H or L, position 1-based in the chain;
  a chain the row lacks is null.
  CSV output has one row per design: id, design (rank), heavy, light, logprob.`;

export function registerFill(program: Command): void {
  const command = program
    .command('fill')
    .description('Infill masked residues: designs and per-position candidates for every input row.');
  addCommonOptions(command, 'JSON Lines output (.jsonl), or CSV (.csv) with one row per design')
    .option('--mask <regions>', 'also mask these ranges in every row, e.g. "H:95-102" (1-based, inclusive)')
    .option('--strategy <name>', FILL_STRATEGIES.join(' | '), parseChoice('--strategy', FILL_STRATEGIES), 'greedy')
    .option('--order <name>', FILL_ORDERS.join(' | '), parseChoice('--order', FILL_ORDERS), 'parallel')
    .option('--temperature <t>', 'sample: softmax temperature (default 1; lower = closer to greedy)', parseNumber('--temperature', { positive: true }))
    .option('--top-k <k>', 'sample: draw from the k most probable allowed residues (default all)', parseInteger('--top-k', { min: 1 }))
    .option('--seed <n>', `sample: random seed, ${SEED_RANGE} (default 0)`, parseSeed())
    .option('--num <n>', 'sample: designs per row (default 1)', parseInteger('--num', { min: 1 }))
    .option('--allow-nonstandard', 'allow X, B, Z, U, O as predictions')
    .option('--candidates <n>', 'candidates listed per masked position (default: all allowed residues)', parseInteger('--candidates', { min: 1 }))
    .addHelpText(
      'after',
      DEFINITIONS +
        '\n' +
        EXIT_CODES_HELP +
        '\n\nExamples:\n' +
        '  igbert fill --model ./IgBert --input masked.csv --output designs.jsonl\n' +
        '  igbert fill --model ./IgBert --input pairs.csv --output designs.jsonl --mask H:95-102 \\\n' +
        '      --strategy sample --temperature 0.8 --num 10 --seed 1 --order confidence',
    )
    .action(async (options: FillCliOptions) => {
      process.exitCode = await runFill(options);
    });
}

async function runFill(options: FillCliOptions): Promise<number> {
  const fillOptions: FillOptions = {
    strategy: options.strategy,
    order: options.order,
    allowNonStandard: Boolean(options.allowNonstandard),
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.topK !== undefined ? { topK: options.topK } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.num !== undefined ? { num: options.num } : {}),
    ...(options.candidates !== undefined ? { candidates: options.candidates } : {}),
  };
  // Fail on option combinations (greedy with --num, ...) and bad regions before loading the model.
  resolveFillOptions(fillOptions);
  const regions: Region[] = options.mask !== undefined ? parseRegions(options.mask, '--mask') : [];
  const columns = (format: OutputFormat): ColumnSpec[] =>
    format === 'csv'
      ? scalarColumns(...FILL_DESIGN_FIELDS)
      : [...scalarColumns('id'), { name: 'designs', holds: 'nested' }, { name: 'positions', holds: 'nested' }];
  await using job = await openJob(pipelineOptionsFrom(options), { columns });
  if (job.finished !== undefined) return job.finished;
  const csv = job.format === 'csv';
  await using model = await loadModel(options.model, modelOptionsFrom(options));
  model.assertSupports({ logProbs: true });
  return await job.run({
    engine: model,
    maxResidues: residueCap(options.maxResidues, model.config),
    prepare({ row, record }) {
      const [encoded] = model.encode([record], row) as [EncodedAntibody];
      checkRegionsFit(encoded, regions, '--mask', recordLocation(encoded, row));
      return prepareFill(model, encoded, regions, row);
    },
    async process(prepared) {
      const results = await fillEncoded(model, prepared, fillOptions);
      // CSV: one group of rows per input row (one per design), so --keep-cols can copy that row's columns.
      return csv ? results.map(fillDesignRows) : results.map(fillJson);
    },
  });
}
