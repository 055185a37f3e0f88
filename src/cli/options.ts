/** Parsers for option values shared by several commands; each failure is a UsageError naming the option. */
import { UsageError } from '../errors.js';

export function parseInteger(name: string, { min, max }: { min?: number; max?: number } = {}) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!/^[+-]?\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
      throw new UsageError(`${name} must be an integer, got ${JSON.stringify(value)}.`);
    }
    if (min !== undefined && parsed < min) throw new UsageError(`${name} must be at least ${min}, got ${parsed}.`);
    if (max !== undefined && parsed > max) throw new UsageError(`${name} must be at most ${max}, got ${parsed}.`);
    return parsed;
  };
}

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
