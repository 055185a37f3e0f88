/**
 * Download progress. Events go to a listener; the default one writes to stderr: a line rewritten in place on a
 * terminal, and on a pipe or log file only a line every few seconds and one per finished file, so logs stay short.
 */

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

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

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
  const interval = stream.isTTY ? 100 : 5000;
  let last = 0;
  return (event) => {
    const label = `igbert: ${event.repo} ${event.file}`;
    if (event.phase === 'start') {
      last = now();
      if (stream.isTTY) stream.write(`\r\x1b[K${label}: ${describe(event)}`);
      return;
    }
    if (event.phase === 'done') {
      stream.write(`${stream.isTTY ? '\r\x1b[K' : ''}${label}: downloaded ${megabytes(event.bytes)}\n`);
      return;
    }
    if (now() - last < interval) return;
    last = now();
    stream.write(stream.isTTY ? `\r\x1b[K${label}: ${describe(event)}` : `${label}: ${describe(event)}\n`);
  };
}

/** The listener for a `progress` option: none, the default one, or the caller's. */
export function progressListener(progress: boolean | ProgressListener): ProgressListener | undefined {
  if (typeof progress === 'function') return progress;
  return progress ? streamProgress() : undefined;
}
