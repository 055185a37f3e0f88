/**
 * FASTA → records. Paired files hold each antibody as two adjacent records whose names (first word of the header)
 * end in a chain suffix: `_H`/`_L`, `_VH`/`_VL`, `_HC`/`_LC`, `_heavy`/`_light`, or the same after `|`
 * (`mAb1|heavy`); the id is the name without the suffix. Adjacency keeps the reader streaming. With `chain` set,
 * every record is that one chain and its id is the whole name.
 */
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { FileError } from '../errors.js';
import { pairedName } from './fastaNames.js';
import { invalidRecord, numberedRecord, type NumberedRecord, type ReadOptions } from './numberedRecord.js';

export type FastaChain = 'H' | 'L';

interface FastaEntry {
  name: string;
  sequence: string;
}

async function* fastaEntries(stream: Readable, path: string): AsyncGenerator<FastaEntry> {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let current: FastaEntry | undefined;
  let parts: string[] = [];
  let lineNumber = 0;
  for await (const rawLine of lines) {
    lineNumber++;
    const line = rawLine.trim();
    if (line === '' || line.startsWith(';')) continue;
    if (line.startsWith('>')) {
      if (current) yield { ...current, sequence: parts.join('') };
      current = { name: line.slice(1).trim().split(/\s+/)[0] ?? '', sequence: '' };
      parts = [];
    } else if (!current) {
      throw new FileError(`${path} line ${lineNumber} is not FASTA: expected a ">name" header line before any sequence.`);
    } else {
      parts.push(line);
    }
  }
  if (current) yield { ...current, sequence: parts.join('') };
}

export async function* readFasta(stream: Readable, path: string, options: ReadOptions): AsyncGenerator<NumberedRecord> {
  let row = 0;
  if (options.chain) {
    const chain = options.chain === 'H' ? 'heavy' : 'light';
    for await (const entry of fastaEntries(stream, path)) {
      yield numberedRecord(++row, { id: entry.name, [chain]: entry.sequence }, {}, options);
    }
    return;
  }
  let pending: (FastaEntry & { id: string; chain: 'heavy' | 'light' }) | undefined;
  const orphan = (entry: FastaEntry & { id: string; chain: 'heavy' | 'light' }): NumberedRecord => {
    const missing = entry.chain === 'heavy' ? 'light' : 'heavy';
    return invalidRecord(
      ++row,
      entry.id,
      `FASTA record ${JSON.stringify(entry.name)} has no ${missing} chain right before or after it: paired FASTA ` +
        `needs each antibody's two records next to each other; for single chains pass --chain H or --chain L.`,
    );
  };
  for await (const entry of fastaEntries(stream, path)) {
    const parsed = pairedName(entry.name);
    if (!parsed) {
      if (pending) yield orphan(pending);
      pending = undefined;
      yield invalidRecord(
        ++row,
        entry.name,
        `cannot tell the chain of FASTA record ${JSON.stringify(entry.name)}: end paired names in _H/_L ` +
          '(or |heavy/|light, _VH/_VL, _HC/_LC), or pass --chain H or --chain L for single chains.',
      );
      continue;
    }
    const named = { ...entry, ...parsed };
    if (pending && pending.id === named.id && pending.chain !== named.chain) {
      const [heavy, light] = pending.chain === 'heavy' ? [pending, named] : [named, pending];
      yield numberedRecord(++row, { id: named.id, heavy: heavy.sequence, light: light.sequence }, {}, options);
      pending = undefined;
    } else {
      if (pending) yield orphan(pending);
      pending = named;
    }
  }
  if (pending) yield orphan(pending);
}
