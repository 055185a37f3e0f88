/**
 * Issue #13, tried as a new user would: files are never destroyed, good rows never lost, mistakes fail before the work,
 * progress moves, one error style. Real processes and files, the small committed checkpoint (fast).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CHECKPOINTS, ROOT } from './helpers.js';
import { tempDir } from './pipeline-helpers.js';

const BIN = join(ROOT, 'bin', 'igbert.js');
const MODEL = join(CHECKPOINTS, 'mlm-h64');
const CSV = 'id,heavy,light\na,EVQLV,DIQMT\nb,QVQL,\n';

function igbert(args: string[], input?: string | Buffer): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, maxBuffer: 64 << 20 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

describe('one error style (#13 item 13)', () => {
  const commanderErrors: [string, string[], RegExp][] = [
    ['a missing required option', ['embed', '--model', MODEL, '--output', 'x.jsonl'], /^igbert: error: required option '--input <file>' not specified \(see igbert embed --help\)\n$/],
    ['an unknown option', ['score', '--input', '-', '--output', '-', '--nope'], /^igbert: error: unknown option '--nope' \(see igbert score --help\)\n$/],
    ['an unknown command', ['embedd'], /^igbert: error: unknown command 'embedd'/],
    ['a subcommand of probe', ['probe', 'fit', '--model', MODEL], /^igbert: error: required option .* \(see igbert probe fit --help\)\n$/],
  ];
  for (const [label, args, message] of commanderErrors) {
    test(`commander's own errors read like ours: ${label} → exit 2`, () => {
      const run = igbert(args);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    });
  }

  test('every seed option has one rule and one message: 0 to 2^32-1', () => {
    const seedRuns: string[][] = [
      ['fill', '--model', MODEL, '--input', '-', '--output', '-', '--seed'],
      ['init', '--random', '--output', join(tempDir(), 'm'), '--seed'],
      ['probe', 'fit', '--model', MODEL, '--input', 'x.csv', '--target', 't', '--output', 'h.json', '--seed'],
    ];
    for (const args of seedRuns) {
      for (const seed of ['-1', '-5', '99999999999999999999', '4294967296', '1.5', 'abc']) {
        const run = igbert([...args, seed], CSV);
        assert.equal(run.code, 2, `${args[0]} --seed ${seed}: ${run.stderr}`);
        assert.equal(run.stderr, `igbert: error: --seed must be an integer from 0 to 4294967295; got ${JSON.stringify(seed)}.\n`);
      }
    }
  });

  test('rejected rows of a stdout run are "listed above", not "see (stderr)"', () => {
    const run = igbert(['embed', '--model', MODEL, '--input', '-', '--output', '-'], 'id,heavy\nok,EVQL\nbad,EV1QL\n');
    assert.equal(run.code, 3, run.stderr);
    assert.doesNotMatch(run.stderr, /\(stderr\)/);
    assert.match(run.stderr, /rejected row 2: .*\nigbert: 1 row\(s\) rejected \(listed above\); all other rows were processed\.\n$/);
  });

  test('a gap names the option that removes it, without "the CLI has"', () => {
    const run = igbert(['embed', '--model', MODEL, '--input', '-', '--output', '-'], 'id,heavy\ng,EV-QL\n');
    assert.equal(run.code, 3, run.stderr);
    assert.doesNotMatch(run.stderr, /the CLI has/);
    assert.match(run.stderr, /character "-" is not allowed: gaps are not residues.*; pass --strip-gaps to remove them\./);
  });

  test('int8 speed is worded as in the README (~2.8x)', () => {
    for (const command of ['embed', 'score', 'mutate', 'fill']) {
      const help = igbert([command, '--help']).stdout;
      assert.match(help, /~2\.8x faster on CPU/, command);
      assert.doesNotMatch(help, /~3x/, command);
    }
  });
});
