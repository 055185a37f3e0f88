/** Shortest decimal text that reads back to the same float32 (so JSON stays small and exact for float32 readers). */
export function formatFloat32(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  for (let precision = 6; precision < 9; precision++) {
    const text = value.toPrecision(precision);
    if (Math.fround(Number(text)) === value) return String(Number(text));
  }
  return String(Number(value.toPrecision(9)));
}

/** JSON array text of float32 values. */
export function float32ArrayJson(values: ArrayLike<number>): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) parts[i] = formatFloat32(values[i] as number);
  return `[${parts.join(',')}]`;
}
