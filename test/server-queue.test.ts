/** The cross-request WorkQueue alone, with fake library calls: merging, order, budget, limits, cancellation. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HttpError } from '../src/server/httpErrors.js';
import { ClientGone, WorkQueue, type DispatchReport, type WorkGroup } from '../src/server/workQueue.js';

/** A group whose run records each dispatch and waits for `gate` (so tests decide when a dispatch ends). */
function recordingGroup(key: string, dispatches: string[][], gate: () => Promise<void> = async () => {}): WorkGroup<string, string> {
  return {
    key,
    task: key,
    async run(items) {
      dispatches.push([...items]);
      await gate();
      return items.map((item) => `${key}:${item}`);
    },
  };
}

const items = (names: string[], tokens = 10) => names.map((item) => ({ item, tokens }));

describe('WorkQueue', () => {
  test('merges concurrent requests of one group into one dispatch; each request gets its own results in order', async () => {
    const dispatches: string[][] = [];
    const reports: DispatchReport[] = [];
    const queue = new WorkQueue({ maxQueueTokens: 1000, dispatchTokens: 100, maxWaitMs: 20, onDispatch: (r) => reports.push(r) });
    const group = recordingGroup('embed', dispatches);
    const [a, b, c] = await Promise.all([
      queue.submit(group, items(['a1', 'a2'])),
      queue.submit(group, items(['b1'])),
      queue.submit(group, items(['c1', 'c2', 'c3'])),
    ]);
    assert.deepEqual(dispatches, [['a1', 'a2', 'b1', 'c1', 'c2', 'c3']]);
    assert.deepEqual([a, b, c], [['embed:a1', 'embed:a2'], ['embed:b1'], ['embed:c1', 'embed:c2', 'embed:c3']]);
    assert.deepEqual(reports.map((r) => [r.task, r.items, r.tokens]), [['embed', 6, 60]]);
    assert.equal(queue.stats.queuedTokens, 0);
  });

  test('a dispatch stops at the token budget (a single larger item still goes alone); groups never mix; oldest first', async () => {
    const dispatches: string[][] = [];
    const queue = new WorkQueue({ maxQueueTokens: 1000, dispatchTokens: 25, maxWaitMs: 5 });
    const embed = recordingGroup('embed', dispatches);
    const score = recordingGroup('score', dispatches);
    await Promise.all([
      queue.submit(embed, items(['e1', 'e2', 'e3'])),
      queue.submit(score, [{ item: 'big', tokens: 80 }]),
      queue.submit(embed, items(['e4'])),
    ]);
    assert.deepEqual(dispatches, [['e1', 'e2'], ['e3', 'e4'], ['big']]);
  });

  test('waits at most maxWaitMs for company, and dispatches at once when a budget is full', async () => {
    const dispatches: string[][] = [];
    const queue = new WorkQueue({ maxQueueTokens: 1000, dispatchTokens: 20, maxWaitMs: 10_000 });
    const group = recordingGroup('g', dispatches);
    const started = performance.now();
    await queue.submit(group, items(['x', 'y'])); // 20 tokens: a full budget, no 10 s wait
    assert.ok(performance.now() - started < 1000);
    const lone = new WorkQueue({ maxQueueTokens: 1000, dispatchTokens: 20, maxWaitMs: 30 });
    const loneStart = performance.now();
    await lone.submit(group, items(['z']));
    assert.ok(performance.now() - loneStart >= 25, 'a lone item waits for company');
  });

  test('over the queue limit: 429 with Retry-After while busy; 413 for a request that could never fit', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const queue = new WorkQueue({ maxQueueTokens: 50, dispatchTokens: 100, maxWaitMs: 0 });
    const group = recordingGroup('g', [], () => gate);
    const running = queue.submit(group, items(['a', 'b', 'c'])); // 30 tokens
    assert.throws(() => queue.submit(group, items(['d', 'e', 'f'])), (error: HttpError) => {
      assert.equal(error.status, 429);
      assert.equal(error.headers['Retry-After'], '1');
      return true;
    });
    assert.throws(() => queue.submit(group, [{ item: 'huge', tokens: 51 }]), (error: HttpError) => error.status === 413);
    release();
    assert.deepEqual(await running, ['g:a', 'g:b', 'g:c']);
    assert.deepEqual(await queue.submit(group, items(['d', 'e', 'f'])), ['g:d', 'g:e', 'g:f']);
  });

  test("a request whose client is gone has its waiting items removed; others are unaffected", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const dispatches: string[][] = [];
    const queue = new WorkQueue({ maxQueueTokens: 1000, dispatchTokens: 10, maxWaitMs: 0 });
    const group = recordingGroup('g', dispatches, () => gate);
    const first = queue.submit(group, items(['a']));
    const controller = new AbortController();
    const gone = queue.submit(group, items(['b1', 'b2']), controller.signal);
    const kept = queue.submit(group, items(['c']));
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await assert.rejects(gone, ClientGone);
    assert.equal(queue.stats.cancelledItems, 2);
    release();
    assert.deepEqual([await first, await kept], [['g:a'], ['g:c']]);
    assert.deepEqual(dispatches, [['a'], ['c']]);
    await queue.idle();
    assert.deepEqual(queue.stats, { ...queue.stats, queuedTokens: 0, pendingItems: 0, running: false });
  });

  test('a failed dispatch fails the requests in it, and the queue goes on', async () => {
    const queue = new WorkQueue({ maxQueueTokens: 1000, dispatchTokens: 100, maxWaitMs: 0 });
    let fail = true;
    const group: WorkGroup<string, string> = {
      key: 'g',
      task: 'g',
      async run(batch) {
        if (fail) throw new Error('boom');
        return batch;
      },
    };
    await assert.rejects(queue.submit(group, items(['a'])), /boom/);
    fail = false;
    assert.deepEqual(await queue.submit(group, items(['b'])), ['b']);
  });
});
