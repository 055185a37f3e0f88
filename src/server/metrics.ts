/**
 * Prometheus metrics (prom-client), in a registry of the server's own: several servers in one process keep apart.
 * Label values come from fixed sets (route paths of the route table, statuses, task names), so the number of series
 * stays bounded whatever clients send. The queue's gauges are read from the queue when scraped.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DispatchReport } from './workQueue.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BATCH_ITEM_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

export interface QueueGauges {
  queuedTokens: number;
  pendingItems: number;
  tokensPerSecond: number;
  cancelledItems: number;
}

export class ServerMetrics {
  private readonly registry = new Registry();
  private readonly requests = this.counter('igbert_requests_total', 'HTTP requests answered, by route and status (499 = client disconnected).', ['route', 'status']);
  private readonly latency = this.histogram('igbert_request_duration_seconds', 'Time from request to response, by route.', 'route', LATENCY_BUCKETS);
  private readonly batchItems = this.histogram('igbert_batch_items', 'Items handed to the library in one dispatch (from all requests), by task.', 'task', BATCH_ITEM_BUCKETS);
  private readonly batchSeconds = this.histogram('igbert_batch_duration_seconds', 'Model time of one dispatch, by task.', 'task', LATENCY_BUCKETS);
  private readonly tokens = this.counter('igbert_tokens_total', 'Forward-pass tokens computed (tokens x passes), by task.', ['task']);
  private readonly failures = this.counter('igbert_batch_failures_total', 'Dispatches that failed in the model, by task.', ['task']);
  private readonly inFlight = new Gauge({ name: 'igbert_requests_in_flight', help: 'Requests being handled.', registers: [this.registry] });

  /** `queue` is read at every scrape (zeros before the model is loaded). */
  constructor(queue: () => QueueGauges) {
    const gauge = (name: string, help: string, value: (stats: QueueGauges) => number): void =>
      void new Gauge({ name, help, registers: [this.registry], collect() { this.set(value(queue())); } });
    gauge('igbert_queue_tokens', 'Forward-pass tokens waiting or running.', (stats) => stats.queuedTokens);
    gauge('igbert_queue_items', 'Items waiting for a dispatch.', (stats) => stats.pendingItems);
    gauge('igbert_tokens_per_second', 'Recent model throughput (moving average over dispatches).', (stats) => Math.round(stats.tokensPerSecond));
    // A counter kept by the queue: reported as its current total.
    new Counter({
      name: 'igbert_cancelled_items_total',
      help: 'Waiting items dropped because their client disconnected.',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(queue().cancelledItems);
      },
    });
  }

  private counter<Label extends string>(name: string, help: string, labelNames: Label[]): Counter<Label> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<Label extends string>(name: string, help: string, label: Label, buckets: number[]): Histogram<Label> {
    return new Histogram({ name, help, labelNames: [label], buckets, registers: [this.registry] });
  }

  requestStarted(): void {
    this.inFlight.inc();
  }

  requestEnded(route: string, status: number, seconds: number): void {
    this.inFlight.dec();
    this.requests.inc({ route, status: String(status) });
    this.latency.observe({ route }, seconds);
  }

  recordDispatch(report: DispatchReport): void {
    const labels = { task: report.task };
    this.batchItems.observe(labels, report.items);
    this.batchSeconds.observe(labels, report.seconds);
    if (report.failed) this.failures.inc(labels);
    else this.tokens.inc(labels, report.tokens);
  }

  /** The Prometheus text exposition and its content type. */
  async render(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
