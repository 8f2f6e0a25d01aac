import { chargeFlops } from '../../kernel/cost/meter';
import { FloatArray, ShapeError } from './tensor';

/**
 * Kernels of the attack that reads only what it needs (adversaries/taylormlp/fastAttack.ts): W
 * from a few order slabs of Θ, and the checks of those orders against the all-orders estimate on a
 * sample of rows. Cost model of src/numerics/tensor/flopModel.ts (+ − × ÷ 1 each, comparisons and |·| 0).
 */

/**
 * How far order n alone lands from the all-orders estimate of column k on the sample rows:
 * max_i |Θ[n, i, k]·coefficient − W[i, j]| / max_i |W[i, j]| (∞ when W's column is 0), Θ the
 * sample [N+1, S, K] and W the sample's estimate [S, h]. Charges 2 per row, and 1 for the ratio
 * when there is one (a zero column answers ∞ without the ÷).
 */
export function orderDisagreement(theta: FloatArray, n: number, k: number, coefficient: number, second: Float64Array, j: number, S: number, K: number, h: number): number {
  if (theta.length < (n + 1) * S * K || second.length !== S * h) throw new ShapeError(`orderDisagreement: Θ ${theta.length}, W ${second.length} for ${S} rows`);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < S; i++) {
    const w = second[i * h + j];
    const diff = Math.abs(theta[(n * S + i) * K + k] * coefficient - w);
    if (diff > worst || Number.isNaN(diff)) worst = Number.isNaN(diff) ? Infinity : diff;
    if (Math.abs(w) > scale) scale = Math.abs(w);
  }
  chargeFlops(2 * S + (scale > 0 ? 1 : 0));
  return scale > 0 ? worst / scale : Infinity;
}

/** coefficient = 1/(sⁿ·p) for p = Act⁽ⁿ⁾(u)/n!: charges 1 (the ÷; the sign is a flip). */
export function inverseOrderScale(p: number, s: number, n: number): number {
  chargeFlops(1);
  return (n % 2 === 1 && s < 0 ? -1 : 1) / p;
}

/**
 * acc[i, k] += chunk[i, k]·coefficient[k] for every row i of a chunk of one order slab ([rows, K])
 * and every k with coefficient[k] ≠ 0 — W's columns as a weighted sum over a few orders, one slab
 * at a time. Charges 2 per row per such k.
 */
export function accumulateOrder(chunk: FloatArray, coefficient: Float64Array, rows: number, K: number, acc: Float64Array): void {
  if (chunk.length < rows * K || coefficient.length !== K || acc.length < rows * K) throw new ShapeError(`accumulateOrder: chunk ${chunk.length}, coefficient ${coefficient.length}, acc ${acc.length} for ${rows}·${K}`);
  let count = 0;
  for (let k = 0; k < K; k++) if (coefficient[k] !== 0) count++;
  if (count === K) {
    // Every coefficient nonzero (nearly always): the same products and sums without the test.
    for (let i = 0; i < rows; i++) {
      const row = i * K;
      for (let k = 0; k < K; k++) acc[row + k] += chunk[row + k] * coefficient[k];
    }
  } else if (count > 0) {
    for (let i = 0; i < rows; i++) {
      const row = i * K;
      for (let k = 0; k < K; k++) {
        const c = coefficient[k];
        if (c !== 0) acc[row + k] += chunk[row + k] * c;
      }
    }
  }
  chargeFlops(2 * count * rows);
}

/**
 * How far the scale of order n's W lands from the all-orders estimate of column k on the sample
 * rows: |ρ − 1| with ρ = Σ_i (Θ[n, i, k]·coefficient)·W[i, j] / Σ_i W[i, j]² — the column's
 * systematic error (from u), the rows' rounding averaged out; ∞ for a zero column. Θ the sample
 * [N+1, S, K], W the sample's estimate [S, h]. Charges 5 per row, and 2 when W's column is nonzero.
 */
export function orderScaleDeviation(theta: FloatArray, n: number, k: number, coefficient: number, second: Float64Array, j: number, S: number, K: number, h: number): number {
  if (theta.length < (n + 1) * S * K || second.length !== S * h) throw new ShapeError(`orderScaleDeviation: Θ ${theta.length}, W ${second.length} for ${S} rows`);
  let cross = 0;
  let norm = 0;
  for (let i = 0; i < S; i++) {
    const w = second[i * h + j];
    cross += theta[(n * S + i) * K + k] * coefficient * w;
    norm += w * w;
  }
  chargeFlops(5 * S + (norm > 0 ? 2 : 0));
  if (!(norm > 0)) return Infinity;
  const deviation = Math.abs(cross / norm - 1);
  return Number.isNaN(deviation) ? Infinity : deviation;
}

/**
 * How far a weighted sum over orders lands from the all-orders estimate of column k on the sample
 * rows: max_i |Σ_n Θ[n, i, k]·coefficients[n·K + k] − W[i, j]| / max_i |W[i, j]| over the orders
 * n = 1..N with a nonzero coefficient (∞ for a zero column or a NaN). Charges 2 per row per such
 * order, 1 per row for the difference, and 1 for the ratio when there is one.
 */
export function combinedDisagreement(theta: FloatArray, coefficients: Float64Array, N: number, k: number, second: Float64Array, j: number, S: number, K: number, h: number): number {
  if (theta.length < (N + 1) * S * K || coefficients.length !== (N + 1) * K || second.length !== S * h) throw new ShapeError(`combinedDisagreement: Θ ${theta.length}, coefficients ${coefficients.length}, W ${second.length} for ${S} rows, N = ${N}`);
  let terms = 0;
  for (let n = 1; n <= N; n++) if (coefficients[n * K + k] !== 0) terms++;
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < S; i++) {
    let acc = 0;
    for (let n = 1; n <= N; n++) {
      const c = coefficients[n * K + k];
      if (c !== 0) acc += theta[(n * S + i) * K + k] * c;
    }
    const w = second[i * h + j];
    const diff = Math.abs(acc - w);
    if (diff > worst || Number.isNaN(diff)) worst = Number.isNaN(diff) ? Infinity : diff;
    if (Math.abs(w) > scale) scale = Math.abs(w);
  }
  chargeFlops((2 * terms + 1) * S + (scale > 0 ? 1 : 0));
  return scale > 0 ? worst / scale : Infinity;
}

/**
 * One unit's precision-weighted average over m orders: out[q] = coefficient[q]·ω_q/Σω with
 * ω_q = 1/(noise² + deviation[q]²) for the orders with deviation[q] ≤ limit (out[q] = 0 for the
 * others) — each order's W carries the storage rounding (RMS `noise`, relative) and its systematic
 * deviation. Answers Σω (0 when no order qualifies, and then out is all 0). Charges 1 (noise²),
 * 3 per qualifying order (square, +, ÷), 1 per qualifying order after the first (the sum), and 2
 * per qualifying order (× and ÷) when the sum is positive.
 */
export function precisionWeights(coefficient: Float64Array, deviation: Float64Array, noise: number, limit: number, out: Float64Array): number {
  const m = coefficient.length;
  if (deviation.length !== m || out.length !== m) throw new ShapeError(`precisionWeights: coefficient ${m}, deviation ${deviation.length}, out ${out.length}`);
  const rounding = noise * noise;
  let total = 0;
  let count = 0;
  for (let q = 0; q < m; q++) {
    out[q] = 0;
    if (!(deviation[q] <= limit)) continue;
    const omega = 1 / (rounding + deviation[q] * deviation[q]);
    out[q] = omega;
    total = count === 0 ? omega : total + omega;
    count++;
  }
  const positive = total > 0;
  if (positive) for (let q = 0; q < m; q++) if (out[q] !== 0) out[q] = (coefficient[q] * out[q]) / total;
  chargeFlops(1 + 3 * count + Math.max(0, count - 1) + (positive ? 2 * count : 0));
  return positive ? total : 0;
}
