/**
 * The paired-FASTA naming convention, shared by the CLI's reader (src/io/readFasta.ts) and the web page: an
 * antibody's two records are named `<id>_H` / `<id>_L` (or `_VH`/`_VL`, `_HC`/`_LC`, `_heavy`/`_light`, any case,
 * or the same after `|`: `mAb1|heavy`). Isomorphic: no Node imports.
 */
const CHAIN_SUFFIX = /^(.+)[_|](h|l|vh|vl|hc|lc|heavy|light)$/i;
const HEAVY_SUFFIXES = new Set(['h', 'vh', 'hc', 'heavy']);

/** Splits a paired record name into its id and chain, or undefined when it has no chain suffix. */
export function pairedName(name: string): { id: string; chain: 'heavy' | 'light' } | undefined {
  const match = CHAIN_SUFFIX.exec(name);
  if (!match) return undefined;
  return { id: match[1] as string, chain: HEAVY_SUFFIXES.has((match[2] as string).toLowerCase()) ? 'heavy' : 'light' };
}
