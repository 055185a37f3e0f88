/**
 * One error hierarchy for the whole package. Every error has a stable `code` (for programs), a message that says
 * what is wrong, where, and how to fix it (for people), and optional structured `details`.
 * The CLI maps classes to exit codes in one place (src/cli/exitCodes.ts); the server will map them to HTTP statuses.
 */
import { chainField, type ChainLetter } from './chains.js';

export type ErrorCode =
  | 'INVALID_INPUT' // a sequence, record or raw text the user gave is not acceptable
  | 'SEQUENCE_TOO_LONG' // more tokens than max_position_embeddings
  | 'INVALID_CHECKPOINT' // config.json, vocab, tokenizer files or weights are missing, corrupt or inconsistent
  | 'UNSUPPORTED' // a valid checkpoint asks for something we do not implement (another activation, ...)
  | 'USAGE' // wrong command-line or API arguments
  | 'RUNTIME' // ONNX Runtime failed
  | 'IO'; // reading or writing a user file failed

export interface ErrorDetails {
  [key: string]: unknown;
}

export class IgBertError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** Where in the user's input a problem is: 1-based record number, id, chain (H or L) and 1-based residue position. */
export interface InputLocation {
  record?: number;
  id?: string;
  chain?: ChainLetter;
  position?: number;
  character?: string;
}

/** Bad user input: a record, a sequence, a raw text. Carries its location so callers can report or skip the row. */
export class InputError extends IgBertError {
  readonly location: InputLocation;
  constructor(message: string, location: InputLocation = {}, code: 'INVALID_INPUT' | 'SEQUENCE_TOO_LONG' = 'INVALID_INPUT') {
    super(code, message, { details: { ...location } });
    this.location = location;
  }
}

/** A checkpoint folder or file that cannot be used as it is. */
export class CheckpointError extends IgBertError {
  constructor(message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super('INVALID_CHECKPOINT', message, options);
  }
}

/** A well-formed checkpoint that asks for something this package does not implement exactly. */
export class UnsupportedError extends IgBertError {
  constructor(message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super('UNSUPPORTED', message, options);
  }
}

/** Wrong arguments to a command or an API call. */
export class UsageError extends IgBertError {
  constructor(message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super('USAGE', message, options);
  }
}

/** ONNX Runtime refused the graph or failed while running it. */
export class RuntimeFailure extends IgBertError {
  constructor(message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super('RUNTIME', message, options);
  }
}

/** A user file could not be read or written. */
export class FileError extends IgBertError {
  constructor(message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super('IO', message, options);
  }
}

/**
 * Untrusted text (an id, a header, a field of a damaged file) quoted in a message: in double quotes, at most `max`
 * characters ("..." after), with control characters, undecodable bytes (U+FFFD) and anything else that is neither
 * printable ASCII nor a letter escaped as in JSON, so that no message carries raw bytes.
 */
export function excerpt(text: string, max = 40): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    let shown: string;
    if (char === '"' || char === '\\') shown = `\\${char}`;
    else if ((code >= 0x20 && code <= 0x7e) || /^[\p{L}\p{M}]$/u.test(char)) shown = char;
    else if (code <= 0xffff) shown = `\\u${code.toString(16).padStart(4, '0')}`;
    else shown = `\\u{${code.toString(16)}}`;
    if (out.length + shown.length > max) return `"${out}"...`;
    out += shown;
  }
  return `"${out}"`;
}

/** Formats a location as "record 3 (id "abc"), heavy chain, position 12" for messages. */
export function describeLocation(location: InputLocation): string {
  const parts: string[] = [];
  if (location.record !== undefined) {
    parts.push(location.id ? `record ${location.record} (id ${excerpt(location.id)})` : `record ${location.record}`);
  } else if (location.id) {
    parts.push(`record id ${excerpt(location.id)}`);
  }
  if (location.chain) parts.push(`${chainField(location.chain)} chain`);
  if (location.position !== undefined) parts.push(`position ${location.position}`);
  return parts.join(', ');
}
