import { chargeFlops } from '../../kernel/cost/meter';
import { FloatArray, ShapeError } from './tensor';

/**
 * Kernels of the attack that reads only what it needs (adversaries/taylormlp/fastAttack.ts): W
 * from one order slab of Θ, and the check of that order against the all-orders estimate on a
 * sample of rows. Cost model of src/numerics/tensor/flopModel.ts (+ − × ÷ 1 each, comparisons and |·| 0).
 */

/**
 * W[i, units[k]] = slab[i, k]·coefficient[k] for every row i and every k with pick[k] = 1 — slab
 * one order n of Θ ([o, K]), coefficient[k] = 1/(sⁿ·Act⁽ⁿ⁾(u_k)/n!). Charges o per picked column.
 */
export function columnsFromOrder(slab: FloatArray, coefficient: Float64Array, pick: Uint8Array, units: Int32Array, o: number, K: number, h: number, out: Float64Array): void {
  if (slab.length !== o * K || coefficient.length !== K || pick.length !== K || units.length !== K || out.length !== o * h) {
    throw new ShapeError(`columnsFromOrder: slab ${slab.length} (want ${o}·${K}), coefficient ${coefficient.length}, pick ${pick.length}, units ${units.length}, out ${out.length} (want ${o}·${h})`);
  }
  let count = 0;
  for (let k = 0; k < K; k++) if (pick[k] === 1) count++;
  if (count === K) {
    for (let i = 0; i < o; i++) {
      const row = i * K;
      const wRow = i * h;
      for (let k = 0; k < K; k++) out[wRow + units[k]] = slab[row + k] * coefficient[k];
    }
  } else if (count > 0) {
    for (let i = 0; i < o; i++) {
      const row = i * K;
      const wRow = i * h;
      for (let k = 0; k < K; k++) if (pick[k] === 1) out[wRow + units[k]] = slab[row + k] * coefficient[k];
    }
  }
  chargeFlops(count * o);
}

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
