/**
 * The first two principal components of embeddings, for the batch scatter: power iteration on the centred data
 * (X^T X v computed as X^T (X v), never the d x d covariance), the second component deflated against the first.
 */
export function pca2(rows: readonly Float32Array[]): { points: [number, number][]; explained: [number, number] } {
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  const mean = new Float64Array(d);
  for (const row of rows) for (let j = 0; j < d; j++) mean[j]! += row[j]! / n;
  const centred = rows.map((row) => Float64Array.from(row, (v, j) => v - mean[j]!));
  const total = centred.reduce((sum, row) => sum + row.reduce((s, v) => s + v * v, 0), 0) || 1;
  const components: Float64Array[] = [];
  const variances: number[] = [];
  for (let k = 0; k < 2; k++) {
    // A fixed start keeps the picture the same from run to run.
    let v = Float64Array.from({ length: d }, (_, j) => Math.sin(j + 1 + k));
    let variance = 0;
    for (let iteration = 0; iteration < 200; iteration++) {
      for (const c of components) {
        const dot = c.reduce((s, x, j) => s + x * v[j]!, 0);
        v = v.map((x, j) => x - dot * c[j]!);
      }
      const projections = centred.map((row) => row.reduce((s, x, j) => s + x * v[j]!, 0));
      const next = new Float64Array(d);
      centred.forEach((row, i) => row.forEach((x, j) => (next[j]! += x * projections[i]!)));
      const norm = Math.hypot(...next) || 1;
      variance = norm;
      const converged = next.every((x, j) => Math.abs(x / norm - v[j]!) < 1e-9);
      v = next.map((x) => x / norm);
      if (converged) break;
    }
    components.push(v);
    variances.push(variance);
  }
  const points = centred.map((row) => components.map((c) => row.reduce((s, x, j) => s + x * c[j]!, 0)) as [number, number]);
  return { points, explained: [variances[0]! / total, (variances[1] ?? 0) / total] };
}
