/**
 * A Hub id could not be turned into a checkpoint folder. It is an I/O failure for the CLI (exit 1, like a missing
 * folder); `reason` tells programs which one, and the message tells people what to do next.
 */
import { FileError, type ErrorDetails } from '../errors.js';

export type HubFailure =
  | 'unreachable' // no answer from HF_ENDPOINT (DNS, refused, timeout, proxy)
  | 'not-found' // no such repository, or private without a token that can read it
  | 'gated' // the repository asks its users to accept conditions first
  | 'unauthorized' // the token was refused
  | 'revision-not-found'
  | 'file-not-found' // a file the checkpoint needs is not in the repository
  | 'offline-miss' // offline, and the cache does not hold the checkpoint
  | 'integrity' // downloaded bytes do not match the Hub's size or hash
  | 'interrupted' // the transfer kept breaking off
  | 'protocol' // HF_ENDPOINT answered, but not like a Hub
  | 'http'; // another HTTP error status

export class HubError extends FileError {
  readonly reason: HubFailure;
  constructor(reason: HubFailure, message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super(message, { ...options, details: { reason, ...options.details } });
    this.reason = reason;
  }
}

/** The offline way out, for messages about a checkpoint the Hub cannot deliver: weights that need no download. */
export const RANDOM_WEIGHTS_HINT = 'random weights to try igbert out: `igbert init --random --preset tiny --output ./tiny-model`';
