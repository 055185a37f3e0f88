/**
 * Progress of a record command on stderr, advanced after every batch of work: rows and residues done, their rates,
 * and — when the size of the job is known — the fraction done and the ETA (from rows for a shard, from the input bytes
 * the work has reached for a file). Drawn by the one renderer (src/io/progressLine.ts): a redrawn line on a terminal,
 * plain lines every `intervalMs` in a log. A summary ends the run on a terminal, or in a log once progress lines were
 * shown (a short run stays silent). Nothing at all with `quiet`.
 */
import { ProgressLine, type ProgressStream } from '../io/progressLine.js';
import type { EngineWork } from '../runtime/engine.js';

export interface ProgressOptions {
  quiet: boolean;
  stream?: ProgressStream;
  /** The size of the job, when known: its rows (a shard), or its input file's bytes. */
  total?: { rows?: number; bytes?: number };
  /** The engine in words ("cuda (NVIDIA H200, GPU 0), bf16, …"): the summary names it. */
  engine?: string;
  /** Work per device, for an engine spread over several GPUs: the summary gives each one's rate. */
  devices?: () => EngineWork[];
  /** Between plain log lines (default 30 s); a terminal is redrawn at most every 250 ms. */
  intervalMs?: number;
  now?: () => number;
}

export class Progress {
  private rows = 0;
  private residues = 0;
  /** Input bytes the work has reached (for the fraction done of a file). */
  private at = 0;
  private readonly started: number;
  private readonly line: ProgressLine;

  constructor(private options: ProgressOptions) {
    const now = options.now ?? Date.now;
    this.started = now();
    this.line = new ProgressLine({
      ...(options.stream ? { stream: options.stream } : {}),
      ...(options.intervalMs !== undefined ? { logIntervalMs: options.intervalMs } : {}),
      now,
    });
  }

  /** Each device's sequences per second of wall clock, when the engine spreads over several ("GPU 0: 1.6k seq/s"). */
  private perDevice(seconds: number): string {
    const devices = this.options.devices?.() ?? [];
    if (devices.length < 2) return '';
    return `; ${devices.map((d) => `${d.label}: ${rate(d.sequences / seconds)} seq/s${d.failed ? ' (taken out)' : ''}`).join(', ')}`;
  }

  private seconds(): number {
    return Math.max(((this.options.now ?? Date.now)() - this.started) / 1000, 1e-3);
  }

  /** The job's row count, once the input has been read to its end. */
  knowRows(rows: number): void {
    this.options.total = { ...this.options.total, rows };
  }

  /** Counts a batch of work: input rows done (rejected ones included), their residues, how far into the input it reached. */
  worked(rows: number, residues: number, inputBytes?: number): void {
    this.rows += rows;
    this.residues += residues;
    if (inputBytes !== undefined) this.at = Math.max(this.at, inputBytes);
    if (!this.options.quiet) this.line.update(this.text());
  }

  private text(): string {
    const seconds = this.seconds();
    const parts = [
      `${this.rows} rows, ${amount(this.residues)} residues`,
      `${rate(this.rows / seconds)} rows/s, ${rate(this.residues / seconds)} residues/s${this.perDevice(seconds)}`,
    ];
    const fraction = this.fraction();
    if (fraction !== undefined && fraction > 0) parts.push(`${(100 * fraction).toFixed(1)}%, ETA ${duration((seconds * (1 - fraction)) / fraction)}`);
    return parts.join('; ');
  }

  private fraction(): number | undefined {
    const { rows, bytes } = this.options.total ?? {};
    if (rows !== undefined) return rows === 0 ? 1 : Math.min(1, this.rows / rows);
    if (bytes) return Math.min(1, this.at / bytes);
    return undefined;
  }

  /** Ends the redrawn line with the summary. */
  finish({ rejected, written }: { rejected: number; written: number }): void {
    if (this.options.quiet || !(this.line.tty || this.line.shown)) return;
    const seconds = this.seconds();
    this.line.done(
      `${this.rows} rows read (${this.rows - rejected} processed, ${rejected} rejected), ${written} written ` +
        `in ${duration(seconds)}${this.options.engine ? ` on ${this.options.engine}` : ''}: ` +
        `${rate(this.rows / seconds)} rows/s, ${rate(this.residues / seconds)} residues/s${this.perDevice(seconds)}`,
    );
  }
}

function amount(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(1)}k` : String(value);
}

function rate(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(1)}k` : value.toFixed(1);
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
