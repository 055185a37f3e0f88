/** `igbert score`: pseudo-log-likelihood or wild-type marginal likelihood of every row, in input order. */
import type { Command } from 'commander';
import { scalarColumns, type ColumnSpec } from '../../io/outputFormats.js';
import { residuePlotSvg } from '../../io/svg/residuePlot.js';
import { loadModel } from '../../node/loadModel.js';
import { SCORE_FIELDS, scoreRow } from '../../tasks/resultRows.js';
import { checkScorable, scoreEncoded, SCORE_METHODS, type ScoreMethod } from '../../tasks/score.js';
import type { EncodedAntibody } from '../../tokenizer/antibody.js';
import { parseChoice } from '../options.js';
import { openJob } from '../pipeline.js';
import { residueCap } from '../residueCap.js';
import { SvgFolder } from '../svgFolder.js';
import { addCommonOptions, EXIT_CODES_HELP, modelOptionsFrom, pipelineOptionsFrom, type CommonCliOptions } from '../commonOptions.js';

interface ScoreCliOptions extends CommonCliOptions {
  method: ScoreMethod;
  perResidue?: boolean;
  plot?: string;
}

const DEFINITIONS = `
Definitions (natural log; every term is log p from the masked-LM head's log-softmax over the full vocabulary,
as Hugging Face, AbLang2 and ESM report them; terms run over residues, heavy then light, and the separator and
special tokens are not scored):
  pll          exact pseudo-log-likelihood: for each residue i, a copy with residue i alone replaced by [MASK];
               term_i = log p(x_i | x without x_i). One forward pass per residue (copies of many antibodies
               share batches), so it costs about L passes per antibody.
  wt-marginal  one unmasked pass; term_i = log p(x_i | x). Fast, but each residue sees itself.
Output fields: log_likelihood = sum of terms (the PLL for --method pll); mean_log_likelihood = mean of terms;
perplexity = exp(-mean_log_likelihood); heavy_log_likelihood / light_log_likelihood = sums over each chain (null
when absent); per_residue = the terms (with --per-residue).
Rows with '*' (masked residues) are rejected: use igbert fill for them.`;

export function registerScore(program: Command): void {
  const command = program
    .command('score')
    .description(
      'Score antibodies: one JSON object {"id", "method", "log_likelihood", "mean_log_likelihood", "perplexity", ' +
        '"heavy_log_likelihood", "light_log_likelihood"} per input row.',
    );
  addCommonOptions(command, 'JSON Lines output (.jsonl), or CSV (.csv) with the scalar columns')
    .option('--method <name>', `${SCORE_METHODS.join(' | ')} (see Definitions)`, parseChoice('--method', SCORE_METHODS), 'pll')
    .option('--per-residue', 'also write "per_residue": the term of each residue, heavy then light (JSON Lines only)')
    .option('--plot <dir>', 'write one SVG per antibody into <dir>: per-residue log-probability along the sequence')
    .addHelpText(
      'after',
      DEFINITIONS +
        '\n' +
        EXIT_CODES_HELP +
        '\n\nExample:\n  igbert score --model ./IgBert --input pairs.csv --output scores.jsonl --per-residue --plot ./score-plots',
    )
    .action(async (options: ScoreCliOptions) => {
      process.exitCode = await runScore(options);
    });
}

async function runScore(options: ScoreCliOptions): Promise<number> {
  const columns: ColumnSpec[] = [
    ...scalarColumns(...SCORE_FIELDS),
    ...(options.perResidue ? [{ name: 'per_residue', holds: 'list', option: '--per-residue' } as const] : []),
  ];
  await using job = await openJob(pipelineOptionsFrom(options), { columns });
  if (job.finished !== undefined) return job.finished;
  await using model = await loadModel(options.model, modelOptionsFrom(options));
  model.assertSupports({ logProbs: true });
  const plots = options.plot ? new SvgFolder(options.plot) : undefined;
  return await job.run<{ encoded: EncodedAntibody; row: number }>({
    engine: model,
    maxResidues: residueCap(options.maxResidues, model.config),
    prepare({ row, record }) {
      const [encoded] = model.encode([record], row) as [EncodedAntibody];
      checkScorable(encoded, row);
      return { encoded, row };
    },
    async process(items) {
      const results = await scoreEncoded(
        model,
        items.map((item) => item.encoded),
        { method: options.method, perResidue: Boolean(options.perResidue || plots) },
      );
      const rows = [];
      for (const [i, result] of results.entries()) {
        if (plots) {
          const svg = residuePlotSvg({ id: result.id, method: result.method, residues: result.residues ?? [], terms: result.perResidue ?? [] });
          await plots.write(result.id, items[i]?.row ?? i + 1, svg);
        }
        rows.push(scoreRow(result, options.perResidue));
      }
      return rows;
    },
  });
}
