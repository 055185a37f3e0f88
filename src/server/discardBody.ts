/**
 * A lingering close, as nginx does: after a body is refused for its size, the rest of it is read and thrown away
 * before the 413 goes out and the connection is closed. A client that sends its whole body before reading (Python's
 * urllib, most simple clients) then reads the 413 instead of a connection reset. Bounded in bytes and time; past the
 * bound the answer goes out at once and such a client may still see a reset.
 */
import type { IncomingMessage } from 'node:http';

/** Discards at most this many more bytes of a refused body, or the body limit when that is larger. */
export const DISCARD_MIN_BYTES = 64 << 20;
/** ... and for at most this long (nginx's lingering_time). */
const DISCARD_MS = 30_000;

/** Resolves when the rest of the request body has been read and dropped, or at the bound. */
export function discardBody(request: IncomingMessage, maxBytes: number, maxMs = DISCARD_MS): Promise<void> {
  // A declared length past the bound: reading would not help, so nothing is waited for.
  if (request.complete || request.destroyed || Number(request.headers['content-length']) > maxBytes) return Promise.resolve();
  return new Promise((resolve) => {
    let discarded = 0;
    const stop = (): void => {
      clearTimeout(timer);
      request.off('data', count);
      request.off('end', stop);
      request.off('close', stop);
      resolve();
    };
    const count = (chunk: Buffer): void => {
      discarded += chunk.length;
      if (discarded > maxBytes) stop();
    };
    const timer = setTimeout(stop, maxMs);
    request.on('data', count);
    request.once('end', stop);
    request.once('close', stop);
    request.resume();
  });
}
