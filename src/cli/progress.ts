/**
 * Progress on stderr: on a terminal, one line redrawn in place (rows, rows/s, tokens/s, ETA); otherwise (a batch
 * job's log file) a plain line every `intervalMs`. ETA comes from rows when the row count is known (a shard),
 * else from input bytes read vs the file size. A summary line ends the run on a terminal, or in a log once progress
 * lines were shown (a short run stays silent). Nothing at all with `quiet`.
 */

export interface ProgressOptions {
  quiet: boolean;
  /** Where lines go (stderr); `isTTY` chooses redraw vs log lines. */
  stream: { write(text: string): unknown; isTTY?: boolean };
  totalRows?: number;
  bytes?: { read(): number; total: number | undefined };
  /** Between plain log lines (default 30 s); a terminal is redrawn at most every 250 ms. */
  intervalMs?: number;
  now?: () => number;
}

export class Progress {
  private rows = 0;
  private tokens = 0;
  private written = 0;
  private readonly started: number;
  private lastShown: number;
  private drawn = false;
  private logged = false;

  constructor(private readonly options: ProgressOptions) {
    this.started = this.now();
    this.lastShown = this.started;
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  /** Counts rows read (kept or rejected), tokens of the valid ones and result rows written, and maybe shows a line. */
  add(rows: number, tokens: number, written: number): void {
    this.rows += rows;
    this.tokens += tokens;
    this.written += written;
    if (this.options.quiet) return;
    const now = this.now();
    const tty = Boolean(this.options.stream.isTTY);
    if (now - this.lastShown < (tty ? 250 : (this.options.intervalMs ?? 30_000))) return;
    this.lastShown = now;
    if (tty) {
      this.options.stream.write(`\r${this.line(now)}\x1b[K`);
      this.drawn = true;
    } else {
      this.options.stream.write(`igbert: ${this.line(now)}\n`);
      this.logged = true;
    }
  }

  private line(now: number): string {
    const seconds = Math.max((now - this.started) / 1000, 1e-3);
    const parts = [`${this.rows} rows`, `${rate(this.rows / seconds)} rows/s`, `${rate(this.tokens / seconds)} tokens/s`];
    const fraction = this.fraction();
    if (fraction !== undefined && fraction > 0) {
      parts.push(`${(100 * fraction).toFixed(1)}%`, `ETA ${duration((seconds * (1 - fraction)) / fraction)}`);
    }
    return parts.join(', ');
  }

  private fraction(): number | undefined {
    if (this.options.totalRows !== undefined) return this.options.totalRows === 0 ? 1 : Math.min(1, this.rows / this.options.totalRows);
    const bytes = this.options.bytes;
    if (bytes?.total) return Math.min(1, bytes.read() / bytes.total);
    return undefined;
  }

  /** Ends the redrawn line and prints the summary. */
  finish(rejected: number): void {
    if (this.options.quiet || !(this.options.stream.isTTY || this.logged)) return;
    const seconds = Math.max((this.now() - this.started) / 1000, 1e-3);
    if (this.drawn) this.options.stream.write('\r\x1b[K');
    this.options.stream.write(
      `igbert: ${this.rows} rows read (${this.rows - rejected} processed, ${rejected} rejected), ${this.written} written ` +
        `in ${duration(seconds)}: ${rate(this.rows / seconds)} rows/s, ${rate(this.tokens / seconds)} tokens/s\n`,
    );
  }
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
