/**
 * Cross-request batching. Items of concurrent requests wait here and are handed to the library together: every
 * dispatch takes the oldest waiting item, then the later items of the same group (same task and options) up to
 * `dispatchTokens` of forward-pass work, and calls the group's library function once; the library's token-budget
 * batcher then sorts them by length into batches. Results go back to each request in its own item order.
 *
 * A dispatch starts when its group has a full budget waiting or its oldest item has waited `maxWaitMs`; one runs at
 * a time (ONNX Runtime already uses every core for one batch). Work waiting or running is capped at `maxQueueTokens`:
 * past it a request is refused at once (429 with Retry-After), so memory stays bounded under any load. A request whose
 * client went away has its waiting items removed.
 */
import { HttpError } from './httpErrors.js';

/** Items that can share a library call: same task, same options. `run` returns one result per item, in order. */
export interface WorkGroup<Item, Result> {
  key: string;
  /** Task name for metrics ("embed", "score", ...). */
  task: string;
  run(items: Item[]): Promise<Result[]>;
}

export interface WorkItem<Item> {
  item: Item;
  /** Forward-pass tokens the item costs (tokens x passes). */
  tokens: number;
}

export interface DispatchReport {
  task: string;
  items: number;
  tokens: number;
  seconds: number;
  failed: boolean;
}

export interface WorkQueueOptions {
  maxQueueTokens: number;
  /** Work per dispatch; a single larger item still goes (alone). */
  dispatchTokens: number;
  maxWaitMs: number;
  onDispatch?: (report: DispatchReport) => void;
}

interface Ticket {
  results: unknown[];
  remaining: number;
  settled: boolean;
  resolve(results: unknown[]): void;
  reject(error: unknown): void;
}

interface Entry {
  group: WorkGroup<unknown, unknown>;
  item: unknown;
  tokens: number;
  slot: number;
  ticket: Ticket;
  enqueuedAt: number;
}

/** Thrown to a request whose client disconnected; nobody is left to answer. */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientGone';
  }
}

export class WorkQueue {
  private pending: Entry[] = [];
  private tokens = 0;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  /** Tokens per second of recent dispatches (exponential moving average), for Retry-After. */
  private throughput = 0;
  private cancelledItems = 0;

  constructor(private readonly options: WorkQueueOptions) {}

  /** Tokens waiting or running; items waiting; whether a dispatch runs; items dropped for gone clients. */
  get stats(): { queuedTokens: number; pendingItems: number; running: boolean; cancelledItems: number; tokensPerSecond: number } {
    return {
      queuedTokens: this.tokens,
      pendingItems: this.pending.length,
      running: this.running,
      cancelledItems: this.cancelledItems,
      tokensPerSecond: this.throughput,
    };
  }

  /** Seconds after which the queue should have room again, from the recent throughput (1 to 60). */
  retryAfterSeconds(): number {
    if (!(this.throughput > 0)) return 1;
    return Math.min(60, Math.max(1, Math.ceil(this.tokens / this.throughput)));
  }

  submit<Item, Result>(group: WorkGroup<Item, Result>, items: readonly WorkItem<Item>[], signal?: AbortSignal): Promise<Result[]> {
    if (items.length === 0) return Promise.resolve([]);
    const total = items.reduce((sum, { tokens }) => sum + tokens, 0);
    const { maxQueueTokens } = this.options;
    if (total > maxQueueTokens) {
      throw new HttpError(
        'payload_too_large',
        `this request needs ${total} tokens of model work and the server queues at most ${maxQueueTokens}: split it into smaller requests.`,
        { tokens: total, limit: maxQueueTokens },
      );
    }
    if (this.tokens + total > maxQueueTokens) {
      const retryAfter = this.retryAfterSeconds();
      throw new HttpError(
        'overloaded',
        `the server is busy (${this.tokens} of ${maxQueueTokens} tokens of work queued); retry after ${retryAfter} s.`,
        { queued_tokens: this.tokens, limit: maxQueueTokens, retry_after_seconds: retryAfter },
        { 'Retry-After': String(retryAfter) },
      );
    }
    if (signal?.aborted) return Promise.reject(new ClientGone());
    return new Promise<Result[]>((resolve, reject) => {
      const ticket: Ticket = {
        results: new Array(items.length),
        remaining: items.length,
        settled: false,
        resolve: resolve as (results: unknown[]) => void,
        reject,
      };
      const now = performance.now();
      const entries = items.map(({ item, tokens }, slot): Entry => ({
        group: group as WorkGroup<unknown, unknown>,
        item,
        tokens,
        slot,
        ticket,
        enqueuedAt: now,
      }));
      this.pending.push(...entries);
      this.tokens += total;
      signal?.addEventListener('abort', () => this.cancel(ticket), { once: true });
      this.schedule();
    });
  }

  /** Resolves once nothing waits and nothing runs (graceful shutdown). */
  idle(): Promise<void> {
    if (!this.running && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private cancel(ticket: Ticket): void {
    if (ticket.settled) return;
    ticket.settled = true;
    const kept: Entry[] = [];
    for (const entry of this.pending) {
      if (entry.ticket === ticket) {
        this.tokens -= entry.tokens;
        this.cancelledItems++;
      } else {
        kept.push(entry);
      }
    }
    this.pending = kept;
    ticket.reject(new ClientGone());
    this.notifyIdle();
  }

  private schedule(): void {
    if (this.running || this.pending.length === 0) return;
    const oldest = this.pending[0] as Entry;
    let waiting = 0;
    for (const entry of this.pending) if (entry.group.key === oldest.group.key) waiting += entry.tokens;
    const wait = this.options.maxWaitMs - (performance.now() - oldest.enqueuedAt);
    if (waiting >= this.options.dispatchTokens || wait <= 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.running = true;
      // Deferred by one turn of the event loop, so that requests already received are queued before choosing.
      setImmediate(() => void this.dispatch());
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, Math.ceil(wait));
    }
  }

  /** Takes the oldest item's group up to the dispatch budget, runs it, hands out results, schedules the next. */
  private async dispatch(): Promise<void> {
    const first = this.pending[0];
    if (!first) {
      this.running = false;
      this.notifyIdle();
      return;
    }
    const taken: Entry[] = [];
    const kept: Entry[] = [];
    let tokens = 0;
    for (const entry of this.pending) {
      const fits = taken.length === 0 || tokens + entry.tokens <= this.options.dispatchTokens;
      if (entry.group.key === first.group.key && fits) {
        taken.push(entry);
        tokens += entry.tokens;
      } else {
        kept.push(entry);
      }
    }
    this.pending = kept;
    const started = performance.now();
    let failed = false;
    try {
      const results = await first.group.run(taken.map((entry) => entry.item));
      taken.forEach((entry, i) => {
        const ticket = entry.ticket;
        if (ticket.settled) return;
        ticket.results[entry.slot] = results[i];
        if (--ticket.remaining === 0) {
          ticket.settled = true;
          ticket.resolve(ticket.results);
        }
      });
    } catch (error) {
      failed = true;
      for (const { ticket } of taken) {
        if (ticket.settled) continue;
        ticket.settled = true;
        this.dropPending(ticket);
        ticket.reject(error);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    if (!failed && seconds > 0) {
      const rate = tokens / seconds;
      this.throughput = this.throughput > 0 ? 0.8 * this.throughput + 0.2 * rate : rate;
    }
    this.tokens -= tokens;
    this.running = false;
    this.options.onDispatch?.({ task: first.group.task, items: taken.length, tokens, seconds, failed });
    this.schedule();
    this.notifyIdle();
  }

  /** A failed request's other items need not run. */
  private dropPending(ticket: Ticket): void {
    const kept = this.pending.filter((entry) => entry.ticket !== ticket);
    for (const entry of this.pending) if (entry.ticket === ticket) this.tokens -= entry.tokens;
    this.pending = kept;
  }

  private notifyIdle(): void {
    if (this.running || this.pending.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
