/** `igbert mutate`: scores of mutation sets, or a deep mutational scan (long-form rows, optional SVG heatmaps). */
import { MUTATION_FIELDS, mutationRow, scanRows, SUBSTITUTION_FIELDS } from '../../tasks/resultRows.js';
import type { Command } from 'commander';
import { describeLocation, InputError, UsageError } from '../../errors.js';
import { scalarColumns } from '../../io/outputFormats.js';
import type { NumberedRecord } from '../../io/readRecords.js';
import type { ResultRow } from '../../io/resultWriter.js';
import { scanHeatmapSvg } from '../../io/svg/heatmap.js';
import { loadModel } from '../../node/loadModel.js';
import { MUTATION_METHODS, mutateEncoded, parseMutationSets, prepareMutations, type Mutation, type MutationMethod } from '../../tasks/mutate.js';
import { AMINO_ACIDS, parseRegions, recordLocation, type Region } from '../../tasks/positions.js';
import { prepareScan, scanEncoded, type PreparedScan } from '../../tasks/scan.js';
import type { EncodedAntibody } from '../../tokenizer/antibody.js';
import { collect, parseChoice } from '../options.js';
import { checkMutationPositions, checkMutationsFit, checkRegionsFit } from '../optionFit.js';
import { openJob } from '../pipeline.js';
import { residueCap } from '../residueCap.js';
import { SvgFolder } from '../svgFolder.js';
import { addCommonOptions, EXIT_CODES_HELP, modelOptionsFrom, pipelineOptionsFrom, type CommonCliOptions } from '../commonOptions.js';

interface MutateCliOptions extends CommonCliOptions {
  mutations: string[];
  method: MutationMethod;
  scan?: boolean;
  region?: string;
  heatmap?: string;
}

const DEFINITIONS = `
Mutations: "H:S30A" = heavy chain, wild-type S at 1-based position 30 of that chain, mutant A (L for the light
chain). A set joins mutations with "," and is scored as one variant; several sets are separated by ";" or given
as repeated --mutations. Without --mutations each row's sets come from a CSV column "mutations". The wild-type
letter is checked against the sequence: a mismatch rejects the row with a message naming record, chain, position.

Scores (natural log, full-vocabulary log-softmax of the masked-LM head; ESM conventions):
  masked-marginal  all sites of a set masked together in one pass;
                   score = sum over sites of log p(mutant) - log p(wild type)   (default)
  wt-marginal      the same sum read from one unmasked pass of the wild type
  > 0: the model finds the variant more likely than the wild type; < 0: less likely.
Output: one row per (record, mutation set): {"id", "method", "mutations", "score"} (JSON Lines or CSV).

--scan: for every position of --region (default: every residue of both chains), one pass with that residue
masked gives the score of each of the 19 substitutions (wt-marginal: read from one unmasked pass).
Output: long form, one row per substitution: id, method, chain (H/L), position, wt, mut, score (CSV or JSON Lines);
--heatmap DIR also writes one SVG per antibody (positions x 20 amino acids, wild type marked).`;

export function registerMutate(program: Command): void {
  const command = program
    .command('mutate')
    .description('Mutation effects: scores of mutation sets ({"id", "method", "mutations", "score"}), or a deep mutational scan with --scan.');
  addCommonOptions(command, 'output: .jsonl or .csv')
    .option('--mutations <sets>', 'mutation sets for every row, e.g. "H:S30A,L:Y49F;H:S30G" (repeatable)', collect, [])
    .option('--method <name>', `${MUTATION_METHODS.join(' | ')} (see Scores)`, parseChoice('--method', MUTATION_METHODS), 'masked-marginal')
    .option('--scan', 'deep mutational scan: every substitution at every position of --region')
    .option('--region <regions>', 'with --scan: positions to scan, e.g. "H:95-102", "H:95-102,L:89-97", "H" (default: all)')
    .option('--heatmap <dir>', 'with --scan: write one SVG heatmap per antibody into <dir>')
    .addHelpText(
      'after',
      DEFINITIONS +
        '\n' +
        EXIT_CODES_HELP +
        '\n\nExamples:\n' +
        '  igbert mutate --model ./IgBert --input pairs.csv --output effects.csv --mutations "H:S30A,L:Y49F"\n' +
        '  igbert mutate --model ./IgBert --input pairs.csv --output scan.csv --scan --region H:95-102 --heatmap ./heatmaps',
    )
    .action(async (options: MutateCliOptions) => {
      process.exitCode = options.scan ? await runScan(options) : await runMutations(options);
    });
}

const MUTATIONS_COLUMN = 'mutations';

/** The row's "mutations" column (CSV/TSV column or JSONL key), blank = none. */
function mutationsColumn(numbered: NumberedRecord): string | undefined {
  const value = numbered.extra?.[MUTATIONS_COLUMN];
  return value === undefined || value.trim() === '' ? undefined : value;
}

async function runMutations(options: MutateCliOptions): Promise<number> {
  if (options.region !== undefined || options.heatmap !== undefined) {
    throw new UsageError('--region and --heatmap belong to --scan; for mutation sets, list the mutations with --mutations.');
  }
  let shared: Mutation[][] | undefined;
  if (options.mutations.length > 0) {
    try {
      shared = parseMutationSets(options.mutations.join(';'));
    } catch (error) {
      if (error instanceof InputError) throw new UsageError(`--mutations: ${error.message}`);
      throw error;
    }
    checkMutationPositions(shared);
  }
  await using job = await openJob(pipelineOptionsFrom(options), {
    columns: scalarColumns(...MUTATION_FIELDS),
    checkInput(names) {
      if (shared || names?.includes(MUTATIONS_COLUMN)) return;
      throw new UsageError(
        `mutate needs mutation sets: pass --mutations, or give the input a "${MUTATIONS_COLUMN}" column ` +
          `(found: ${names?.join(', ') ?? 'none, FASTA has no columns'}).`,
      );
    },
  });
  if (job.finished !== undefined) return job.finished;
  await using model = await loadModel(options.model, modelOptionsFrom(options));
  model.assertSupports({ logProbs: true });
  return await job.run({
    engine: model,
    maxResidues: residueCap(options.maxResidues, model.config),
    prepare(numbered) {
      const [encoded] = model.encode([numbered.record], numbered.row) as [EncodedAntibody];
      const where = recordLocation(encoded, numbered.row);
      const column = mutationsColumn(numbered);
      if (shared) checkMutationsFit(encoded, shared, where);
      const sets = shared ?? (column !== undefined ? parseMutationSets(column, where) : undefined);
      if (!sets) {
        throw new InputError(
          `${describeLocation(where)} has no mutations: pass --mutations for every row, or fill the row's "mutations" column.`,
          where,
        );
      }
      return prepareMutations(model, encoded, sets, numbered.row);
    },
    async process(prepared) {
      const results = await mutateEncoded(model, prepared, options.method);
      // One group of rows per input row (one per mutation set), so --keep-cols can copy that row's columns.
      let next = 0;
      return prepared.map((item) =>
        results.slice(next, (next += item.sets.length)).map(mutationRow),
      );
    },
  });
}

async function runScan(options: MutateCliOptions): Promise<number> {
  if (options.mutations.length > 0) throw new UsageError('--scan scores every substitution itself; drop --mutations (or drop --scan).');
  const regions: Region[] = options.region !== undefined ? parseRegions(options.region, '--region') : [];
  await using job = await openJob(pipelineOptionsFrom(options), { columns: scalarColumns(...SUBSTITUTION_FIELDS) });
  if (job.finished !== undefined) return job.finished;
  await using model = await loadModel(options.model, modelOptionsFrom(options));
  model.assertSupports({ logProbs: true });
  const heatmaps = options.heatmap ? new SvgFolder(options.heatmap) : undefined;
  return await job.run<{ prepared: PreparedScan; row: number }>({
    engine: model,
    maxResidues: residueCap(options.maxResidues, model.config),
    prepare({ row, record }) {
      const [encoded] = model.encode([record], row) as [EncodedAntibody];
      checkRegionsFit(encoded, regions, '--region', recordLocation(encoded, row));
      return { prepared: prepareScan(encoded, regions, row), row };
    },
    async process(items) {
      const results = await scanEncoded(model, items.map((item) => item.prepared), options.method);
      // One group of rows per input row (19 per scanned position), so --keep-cols can copy that row's columns.
      const groups: ResultRow[][] = [];
      for (const [i, result] of results.entries()) {
        const rows: ResultRow[] = [];
        groups.push(rows);
        if (heatmaps) {
          const svg = scanHeatmapSvg({ id: result.id, method: result.method, aminoAcids: AMINO_ACIDS, positions: result.positions });
          await heatmaps.write(result.id, items[i]?.row ?? i + 1, svg);
        }
        rows.push(...scanRows(result));
      }
      return groups;
    },
  });
}
