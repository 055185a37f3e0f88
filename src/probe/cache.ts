/**
 * Embedding cache for the probes: trying another target, fold count or seed on the same file must not re-run the
 * model. An entry is keyed by sha256(checkpoint identity, input file sha256, feature recipe) and stored as raw
 * float32 rows (<key>.f32) plus JSON metadata (<key>.json, written last: it marks the entry complete). A damaged or
 * mismatched entry is a miss, never an error. Location: $IGBERT_CACHE_DIR/probe, else $XDG_CACHE_HOME/igbert/probe,
 * else ~/.cache/igbert/probe.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { FileError } from '../errors.js';
import { writeFileAtomically } from '../io/atomicFile.js';
import { findCheckpointWeights } from '../weights/checkpointFiles.js';
import type { FeatureMatrix } from './features.js';

const FORMAT = 'igbert-probe-embeddings/1';

export function defaultCacheDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env['IGBERT_CACHE_DIR']) return join(env['IGBERT_CACHE_DIR'], 'probe');
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'igbert', 'probe');
}

/**
 * What identifies a checkpoint's outputs without reading gigabytes: config.json and tokenizer files (content),
 * and each weight file's name, size and modification time. Editing or replacing a weight file changes its mtime,
 * so the cache misses; copying a checkpoint elsewhere does too (a recomputation, never a wrong hit).
 */
export async function checkpointIdentity(dir: string): Promise<string> {
  const hash = createHash('sha256').update(FORMAT);
  for (const name of ['config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json']) {
    try {
      hash.update(`\n${name}\n`).update(await readFile(join(dir, name)));
    } catch {
      hash.update(`\n${name} absent\n`);
    }
  }
  for (const file of await findCheckpointWeights(dir)) {
    const info = await stat(file.file);
    hash.update(`\n${basename(file.file)} ${info.size} ${info.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

export interface CacheKey {
  checkpoint: string;
  input: string;
  recipe: string;
}

interface CacheMeta {
  format: string;
  key: CacheKey;
  rows: number[];
  width: number;
  rejected: FeatureMatrix['rejected'];
  source: { checkpoint: string; input: string };
  created: string;
}

export class EmbeddingCache {
  constructor(readonly directory: string = defaultCacheDirectory()) {}

  keyOf(key: CacheKey): string {
    return createHash('sha256').update(JSON.stringify([FORMAT, key.checkpoint, key.input, key.recipe])).digest('hex');
  }

  async read(key: CacheKey): Promise<FeatureMatrix | undefined> {
    const id = this.keyOf(key);
    try {
      const meta = JSON.parse(await readFile(join(this.directory, `${id}.json`), 'utf8')) as CacheMeta;
      if (meta.format !== FORMAT || JSON.stringify(meta.key) !== JSON.stringify(key)) return undefined;
      const bytes = await readFile(join(this.directory, `${id}.f32`));
      if (bytes.byteLength !== meta.rows.length * meta.width * 4) return undefined;
      const data = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(data.buffer).set(bytes);
      return { rows: meta.rows, width: meta.width, data, rejected: meta.rejected };
    } catch {
      return undefined;
    }
  }

  async write(key: CacheKey, features: FeatureMatrix, source: CacheMeta['source']): Promise<void> {
    const id = this.keyOf(key);
    const meta: CacheMeta = {
      format: FORMAT,
      key,
      rows: features.rows,
      width: features.width,
      rejected: features.rejected,
      source,
      created: new Date().toISOString(),
    };
    try {
      await mkdir(this.directory, { recursive: true });
      await writeFileAtomically(join(this.directory, `${id}.f32`), new Uint8Array(features.data.buffer, features.data.byteOffset, features.data.byteLength));
      await writeFileAtomically(join(this.directory, `${id}.json`), JSON.stringify(meta));
    } catch (cause) {
      throw new FileError(
        `cannot write the embedding cache in ${this.directory}: ${(cause as Error).message}. ` +
          'Set IGBERT_CACHE_DIR to a writable folder, or pass --no-cache.',
        { cause },
      );
    }
  }
}

