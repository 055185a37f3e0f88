/**
 * Prometheus metrics in the text exposition format (version 0.0.4), kept by hand: a few counters, gauges and
 * histograms are all the server needs. Label values come from fixed sets (route paths of the route table, statuses,
 * task names), so the number of series stays bounded whatever clients send.
 */
import type { DispatchReport } from './workQueue.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BATCH_ITEM_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

type Labels = Record<string, string>;

const labelText = (labels: Labels): string => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
};

class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string, readonly type: 'counter' | 'gauge' = 'counter') {}
  add(labels: Labels, amount = 1): void {
    const key = labelText(labels);
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value += amount;
    this.values.set(key, entry);
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${labelText(labels)} ${value}`);
    return lines;
  }
}

class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {}
  observe(labels: Labels, value: number): void {
    const key = labelText(labels);
    let entry = this.series.get(key);
    if (!entry) {
      entry = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    this.buckets.forEach((bound, i) => {
      if (value <= bound) (entry.counts[i] as number)++;
    });
    entry.sum += value;
    entry.count++;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, counts, sum, count } of this.series.values()) {
      this.buckets.forEach((bound, i) => lines.push(`${this.name}_bucket${labelText({ ...labels, le: String(bound) })} ${counts[i]}`));
      lines.push(`${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${sum}`);
      lines.push(`${this.name}_count${labelText(labels)} ${count}`);
    }
    return lines;
  }
}

export interface QueueGauges {
  queuedTokens: number;
  pendingItems: number;
  tokensPerSecond: number;
  cancelledItems: number;
}

export class ServerMetrics {
  private readonly requests = new Counter('igbert_requests_total', 'HTTP requests answered, by route and status (499 = client disconnected).');
  private readonly latency = new Histogram('igbert_request_duration_seconds', 'Time from request to response, by route.', LATENCY_BUCKETS);
  private readonly batchItems = new Histogram('igbert_batch_items', 'Items handed to the library in one dispatch (from all requests), by task.', BATCH_ITEM_BUCKETS);
  private readonly batchSeconds = new Histogram('igbert_batch_duration_seconds', 'Model time of one dispatch, by task.', LATENCY_BUCKETS);
  private readonly tokens = new Counter('igbert_tokens_total', 'Forward-pass tokens computed (tokens x passes), by task.');
  private readonly failures = new Counter('igbert_batch_failures_total', 'Dispatches that failed in the model, by task.');

  recordRequest(route: string, status: number, seconds: number): void {
    this.requests.add({ route, status: String(status) });
    this.latency.observe({ route }, seconds);
  }

  recordDispatch(report: DispatchReport): void {
    const labels = { task: report.task };
    this.batchItems.observe(labels, report.items);
    this.batchSeconds.observe(labels, report.seconds);
    if (report.failed) this.failures.add(labels);
    else this.tokens.add(labels, report.tokens);
  }

  render(queue: QueueGauges, inFlightRequests: number): string {
    const single = (name: string, help: string, value: number, type = 'gauge'): string[] => [
      `# HELP ${name} ${help}`,
      `# TYPE ${name} ${type}`,
      `${name} ${value}`,
    ];
    return [
      ...this.requests.render(),
      ...this.latency.render(),
      ...this.batchItems.render(),
      ...this.batchSeconds.render(),
      ...this.tokens.render(),
      ...this.failures.render(),
      ...single('igbert_queue_tokens', 'Forward-pass tokens waiting or running.', queue.queuedTokens),
      ...single('igbert_queue_items', 'Items waiting for a dispatch.', queue.pendingItems),
      ...single('igbert_tokens_per_second', 'Recent model throughput (moving average over dispatches).', Math.round(queue.tokensPerSecond)),
      ...single('igbert_cancelled_items_total', 'Waiting items dropped because their client disconnected.', queue.cancelledItems, 'counter'),
      ...single('igbert_requests_in_flight', 'Requests being handled.', inFlightRequests),
    ].join('\n') + '\n';
  }
}
