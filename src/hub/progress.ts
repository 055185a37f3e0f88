/**
 * Download progress. Events go to a listener; the default one draws them with the one progress renderer
 * (src/io/progressLine.ts): a line redrawn in place on a terminal, and on a pipe or log file only a line every few
 * seconds and one per finished file, so logs stay short.
 */
import { ProgressLine, type ProgressStream } from '../io/progressLine.js';

export type { ProgressStream } from '../io/progressLine.js';

export interface DownloadProgress {
  /** Hub id, e.g. "Exscientia/IgBert". */
  repo: string;
  file: string;
  phase: 'start' | 'data' | 'done';
  /** Bytes of `file` received so far. */
  bytes: number;
  /** Size of `file` from the Hub's metadata; undefined when the Hub did not say. */
  total: number | undefined;
}

export type ProgressListener = (event: DownloadProgress) => void;

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function describe(event: DownloadProgress): string {
  const { bytes, total } = event;
  if (total === undefined || total === 0) return megabytes(bytes);
  return `${megabytes(bytes)} / ${megabytes(total)} (${Math.floor((100 * bytes) / total)}%)`;
}

/** The default listener: progress on `stream` (stderr), throttled. */
export function streamProgress(stream: ProgressStream = process.stderr, now: () => number = Date.now): ProgressListener {
  const line = new ProgressLine({ stream, now, logIntervalMs: 5000 });
  return (event) => {
    const label = `${event.repo} ${event.file}`;
    if (event.phase === 'done') line.done(`${label}: downloaded ${megabytes(event.bytes)}`);
    else if (event.phase === 'start') {
      line.restart();
      line.update(`${label}: ${describe(event)}`, true);
    } else line.update(`${label}: ${describe(event)}`);
  };
}

/** The listener for a `progress` option: none, the default one, or the caller's. */
export function progressListener(progress: boolean | ProgressListener): ProgressListener | undefined {
  if (typeof progress === 'function') return progress;
  return progress ? streamProgress() : undefined;
}
