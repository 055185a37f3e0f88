/**
 * Options that name positions for every row (`--mask`, `--region`, `--mutations`) may not fit a given row: its chain
 * is shorter, or absent. That row is rejected like any bad row. But when such an option fits no row at all, the
 * option is the mistake, not the rows: the run is a usage error (exit 2) and writes nothing (see OptionMisfits).
 */
import { describeLocation, InputError, UsageError, type InputLocation } from '../errors.js';
import { formatMutation, type Mutation } from '../tasks/mutate.js';
import { chainField, type ChainLetter } from '../chains.js';
import type { Region } from '../tasks/positions.js';
import type { EncodedAntibody, RecordLocation } from '../tokenizer/antibody.js';

/** A row that an option's positions do not fit. */
export class OptionMisfit extends InputError {
  constructor(
    /** The option and the item that does not fit, e.g. "--mask H:1-500". */
    readonly option: string,
    readonly detail: string,
    location: InputLocation,
  ) {
    super(`${describeLocation(location)}: ${option} ${detail}.`, location);
  }

  get optionName(): string {
    return this.option.split(' ')[0] as string;
  }
}

function checkPosition(encoded: EncodedAntibody, chain: ChainLetter, first: number, last: number | undefined, option: string, where: RecordLocation): void {
  const field = chainField(chain);
  const length = encoded[field].length;
  if (length === 0) throw new OptionMisfit(option, `is on the ${field} chain, and this row has no ${field} chain`, { ...where, chain, position: first });
  if (last !== undefined && last > length) {
    throw new OptionMisfit(option, `goes beyond the ${field} chain (${length} residues)`, { ...where, chain, position: last });
  }
}

/** Throws an OptionMisfit when one of `regions` (of option `name`) is not inside this row's chains. */
export function checkRegionsFit(encoded: EncodedAntibody, regions: readonly Region[], name: string, where: RecordLocation): void {
  for (const region of regions) checkPosition(encoded, region.chain, region.start, region.end, `${name} ${formatRegion(region)}`, where);
}

/** Throws an OptionMisfit when a mutation given for every row (`--mutations`) names a position this row lacks. */
export function checkMutationsFit(encoded: EncodedAntibody, sets: readonly (readonly Mutation[])[], where: RecordLocation): void {
  for (const set of sets) {
    for (const mutation of set) checkPosition(encoded, mutation.chain, mutation.position, mutation.position, `--mutations ${formatMutation(mutation)}`, where);
  }
}

/** --mutations as given for every row: positions are 1-based, so 0 is a mistake in the option, not in a row. */
export function checkMutationPositions(sets: readonly (readonly Mutation[])[]): void {
  for (const mutation of sets.flat()) {
    if (mutation.position < 1) {
      throw new UsageError(`--mutations: ${JSON.stringify(formatMutation(mutation))}: positions are 1-based within the chain (the first residue is 1).`);
    }
  }
}

function formatRegion(region: Region): string {
  const chain = region.chain;
  if (region.end === undefined) return region.start === 1 ? chain : `${chain}:${region.start}-`;
  return region.end === region.start ? `${chain}:${region.start}` : `${chain}:${region.start}-${region.end}`;
}

/** Counts, over a run, the rows processed and the rejections; tells when one option fitted no row at all. */
export class OptionMisfits {
  private processed = 0;
  private others = 0;
  private first: OptionMisfit | undefined;
  private mixed = false;

  note(processed: number, rejected: readonly { error: InputError }[]): void {
    this.processed += processed;
    for (const { error } of rejected) {
      if (!(error instanceof OptionMisfit)) this.others++;
      else if (!this.first) this.first = error;
      else if (error.optionName !== this.first.optionName) this.mixed = true;
    }
  }

  /** The usage error when every row was rejected because of one option (and none for another reason). */
  usageError(): UsageError | undefined {
    if (this.processed > 0 || this.others > 0 || this.mixed || !this.first) return undefined;
    const row = this.first.location.record;
    return new UsageError(
      `${this.first.option} fits no row of the input (row ${row}: ${this.first.detail}); nothing was processed. ` +
        'Positions are 1-based within each chain.',
    );
  }
}
