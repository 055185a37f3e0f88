/**
 * The one progress renderer (record commands, Hub downloads): on a terminal, one line redrawn in place at most every
 * `ttyIntervalMs` (a few times a second); elsewhere — a batch job's log — a plain line at most every `logIntervalMs`,
 * so logs stay short. Lines end with a final one of their own (a summary, "downloaded ...").
 */

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressLineOptions {
  /** Where lines go (stderr); `isTTY` chooses redraw vs plain lines. */
  stream?: ProgressStream;
  /** Between redraws on a terminal (default 250 ms). */
  ttyIntervalMs?: number;
  /** Between plain lines elsewhere (default 30 s). */
  logIntervalMs?: number;
  now?: () => number;
}

const PREFIX = 'igbert: ';
const CLEAR = '\r\x1b[K';

export class ProgressLine {
  private readonly stream: ProgressStream;
  private readonly interval: number;
  private readonly now: () => number;
  private last: number;
  private drawn = false;
  /** Whether any progress line was shown (a short run shows none, and then needs no summary in a log). */
  shown = false;

  constructor(options: ProgressLineOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.interval = this.stream.isTTY ? (options.ttyIntervalMs ?? 250) : (options.logIntervalMs ?? 30_000);
    this.last = this.now();
  }

  get tty(): boolean {
    return Boolean(this.stream.isTTY);
  }

  /** Restarts the interval (a new download starts) without showing anything. */
  restart(): void {
    this.last = this.now();
  }

  /** Shows `text` when the interval has passed since the last one (or `force`, on a terminal only); returns whether it did. */
  update(text: string, force = false): boolean {
    const now = this.now();
    if (!(force && this.tty) && now - this.last < this.interval) return false;
    this.last = now;
    this.shown = true;
    if (this.tty) {
      this.stream.write(`${CLEAR}${PREFIX}${text}`);
      this.drawn = true;
    } else {
      this.stream.write(`${PREFIX}${text}\n`);
    }
    return true;
  }

  /** A line of its own, replacing the redrawn one. */
  done(text: string): void {
    this.stream.write(`${this.drawn ? CLEAR : ''}${PREFIX}${text}\n`);
    this.drawn = false;
  }
}
