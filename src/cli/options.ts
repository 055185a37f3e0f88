/** Parsers for option values shared by several commands; each failure is a UsageError naming the option. */
import { UsageError } from '../errors.js';

/** An integer option: one message, naming the allowed range, however the value is wrong (text, sign, size). */
export function parseInteger(name: string, { min, max }: { min?: number; max?: number } = {}) {
  const range =
    min !== undefined && max !== undefined ? ` from ${min} to ${max}` : min !== undefined ? ` of at least ${min}` : max !== undefined ? ` of at most ${max}` : '';
  return (value: string): number => {
    const parsed = Number(value);
    const valid = /^[+-]?\d+$/.test(value.trim()) && Number.isSafeInteger(parsed) && !(min !== undefined && parsed < min) && !(max !== undefined && parsed > max);
    if (!valid) throw new UsageError(`${name} must be an integer${range}; got ${JSON.stringify(value)}.`);
    return parsed;
  };
}

/** The one rule for every seed option (fill, init, probe fit): 0 to 2^32 - 1, the range of a 32-bit generator state. */
export const SEED_MAX = 2 ** 32 - 1;
export const SEED_RANGE = `0 to ${SEED_MAX}`;
export const parseSeed = (name = '--seed'): ((value: string) => number) => parseInteger(name, { min: 0, max: SEED_MAX });

export function parseChoice<T extends string>(name: string, choices: readonly T[]) {
  return (value: string): T => {
    if ((choices as readonly string[]).includes(value)) return value as T;
    throw new UsageError(`${name} must be one of ${choices.join(', ')}; got ${JSON.stringify(value)}.`);
  };
}

export function parseNumber(name: string, { positive }: { positive?: boolean } = {}) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isFinite(parsed)) throw new UsageError(`${name} must be a number, got ${JSON.stringify(value)}.`);
    if (positive && !(parsed > 0)) throw new UsageError(`${name} must be greater than 0, got ${parsed}.`);
    return parsed;
  };
}

/** For repeatable options: each occurrence is appended. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
