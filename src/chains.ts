/**
 * The one spelling of a chain. Wherever a chain is a value — results, rejected rows, error locations, server error
 * details, parsed mutations and regions, the notation `H:S30A` / `H:95-102` and `--chain H` — it is the letter H
 * (heavy) or L (light), as in PDB, ANARCI and IMGT chain identifiers. The words heavy and light name the record
 * fields that hold the sequences, and are what messages say ("heavy chain, position 4").
 */

/** A chain as a value: H (heavy) or L (light). */
export type ChainLetter = 'H' | 'L';

/** The record field that holds a chain's residues. */
export type Chain = 'heavy' | 'light';

/** Chains in sequence order: heavy residues come first. */
export const CHAIN_LETTERS: readonly ChainLetter[] = ['H', 'L'];

export const chainField = (letter: ChainLetter): Chain => (letter === 'H' ? 'heavy' : 'light');

export const chainLetter = (field: Chain): ChainLetter => (field === 'heavy' ? 'H' : 'L');

/** A chain's residues as results give them: null when the record has no such chain (encoded records hold ''). */
export const chainOrNull = (residues: string): string | null => (residues === '' ? null : residues);
