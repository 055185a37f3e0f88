/** JSON text of result values, with float32 arrays written compactly and exactly (shortest round-trip text). */
import { float32ArrayJson } from './numbers.js';

export function jsonValue(value: unknown): string {
  if (value instanceof Float32Array) return float32ArrayJson(value);
  if (Array.isArray(value)) return `[${value.map(jsonValue).join(',')}]`;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}:${jsonValue(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
