import { chargeFlops } from '../../kernel/cost/meter';
import type { FloatArray } from './tensor';

/**
 * The numeric core of the attacks on TaylorMLP (adversaries/taylormlp), as kernels charging the
 * FLOPs their loops execute (src/numerics/tensor/flopModel.ts). Θ is the released [N+1, out, K] array
 * (Θ[n, i, k] = sⁿ·W[i, j_k]·Act⁽ⁿ⁾(u_k)/n!, plus c_i/K at n = 0); every pass streams it row by
 * row (a column walk would stride by K and miss the cache on every entry).
 */

/** norms[n·K + k] += Σ_i Θ[n, i, k]² for n = 1..N. Charges 2·N·out·K (a multiply-add per entry). */
export function orderNorms(theta: FloatArray, norms: Float64Array, N: number, o: number, K: number): void {
  for (let n = 1; n <= N; n++) {
    const base = n * K;
    for (let i = 0; i < o; i++) {
      const row = (n * o + i) * K;
      for (let k = 0; k < K; k++) {
        const v = theta[row + k];
        norms[base + k] += v * v;
      }
    }
  }
  chargeFlops(2 * N * o * K);
}

/**
 * dots[n·K + k] += Σ_i Θ[n, i, k]·Θ[m_k, i, k] (n = 1..N) and fourth[k] += Σ_i Θ[m_k, i, k]⁴, m_k =
 * reference[k]: each unit's order profile against its reference order, and the rows' weight
 * (for the profile's effective number of rows). Charges out·K·(4 + 2N): v⁴ (3 ×) and its sum, and
 * a multiply-add per entry of orders 1..N.
 */
export function profileDots(theta: FloatArray, reference: Int32Array, dots: Float64Array, fourth: Float64Array, N: number, o: number, K: number): void {
  const gathered = new Float64Array(K);
  for (let i = 0; i < o; i++) {
    for (let k = 0; k < K; k++) {
      const v = theta[(reference[k] * o + i) * K + k];
      gathered[k] = v;
      fourth[k] += v * v * v * v;
    }
    for (let n = 1; n <= N; n++) {
      const row = (n * o + i) * K;
      const base = n * K;
      for (let k = 0; k < K; k++) dots[base + k] += theta[row + k] * gathered[k];
    }
  }
  chargeFlops(o * K * (4 + 2 * N));
}

/**
 * W[i, expanded[k]] = Σ_{n=1..N} Θ[n, i, k]·coefficients[n·K + k] for the units with selected[k]
 * (a least-squares combination of the orders per unit; `second` is [out, h]). Charges 2·N·out·K:
 * every unit's accumulator runs (the selection only decides what is stored).
 */
export function combineOrders(theta: FloatArray, coefficients: Float64Array, selected: Uint8Array, expanded: Int32Array, second: Float64Array, N: number, o: number, K: number, h: number): void {
  const accumulator = new Float64Array(K);
  for (let i = 0; i < o; i++) {
    accumulator.fill(0);
    for (let n = 1; n <= N; n++) {
      const row = (n * o + i) * K;
      const base = n * K;
      for (let k = 0; k < K; k++) accumulator[k] += theta[row + k] * coefficients[base + k];
    }
    for (let k = 0; k < K; k++) if (selected[k]) second[i * h + expanded[k]] = accumulator[k];
  }
  chargeFlops(2 * N * o * K);
}

/**
 * weightedMisfit at every point of a grid (offsets q·width, q < points), residuals into `out`
 * and, when given, the scales λ into `lambdas`: the same arithmetic point by point, charged once
 * (the sum of the per-point charges).
 */
export function gridMisfits(g: Float64Array, w: Float64Array, p: Float64Array, width: number, points: number, from: number, to: number, negativeSign: boolean, out: Float64Array, lambdas?: Float64Array): void {
  if (out.length < points || (lambdas !== undefined && lambdas.length < points) || p.length < (points - 1) * width + to + 1) throw new RangeError(`gridMisfits: out ${out.length}, p ${p.length} for ${points} points of width ${width}`);
  let flops = 0;
  const terms = Math.max(0, to - from + 1);
  for (let q = 0; q < points; q++) {
    const offset = q * width;
    let gp = 0;
    let pp = 0;
    for (let n = from; n <= to; n++) {
      const pn = negativeSign && n % 2 === 1 ? -p[offset + n] : p[offset + n];
      gp += w[n] * g[n] * pn;
      pp += w[n] * pn * pn;
    }
    const lambda = pp === 0 ? 0 : gp / pp;
    let residual = 0;
    for (let n = from; n <= to; n++) {
      const pn = negativeSign && n % 2 === 1 ? -p[offset + n] : p[offset + n];
      const r = g[n] - lambda * pn;
      residual += w[n] * r * r;
    }
    out[q] = residual;
    if (lambdas !== undefined) lambdas[q] = lambda;
    flops += 11 * terms + (pp === 0 ? 0 : 1);
  }
  chargeFlops(flops);
}

/**
 * The weighted misfit of an order profile g against λ·sⁿ·p_n with λ eliminated:
 *   λ = Σ ω_n g_n sⁿp_n / Σ ω_n p_n²,   r = Σ ω_n (g_n − λ sⁿp_n)²   over n = from..to,
 * p_n = p[offset + n], sⁿ = −1 for odd n when `negativeSign` (a sign flip, no arithmetic). The
 * residual is summed explicitly (r = Σ ω g² − λ·Σ ω g p cancels catastrophically near the
 * optimum). Returns [r, λ] (λ = 0 when Σ ω p² = 0). Charges 11 per order and the ÷ for λ.
 */
export function weightedMisfit(g: Float64Array, w: Float64Array, p: Float64Array, offset: number, from: number, to: number, negativeSign: boolean): [number, number] {
  let gp = 0;
  let pp = 0;
  for (let n = from; n <= to; n++) {
    const pn = negativeSign && n % 2 === 1 ? -p[offset + n] : p[offset + n];
    gp += w[n] * g[n] * pn;
    pp += w[n] * pn * pn;
  }
  const lambda = pp === 0 ? 0 : gp / pp;
  let residual = 0;
  for (let n = from; n <= to; n++) {
    const pn = negativeSign && n % 2 === 1 ? -p[offset + n] : p[offset + n];
    const r = g[n] - lambda * pn;
    residual += w[n] * r * r;
  }
  const terms = Math.max(0, to - from + 1);
  chargeFlops(11 * terms + (pp === 0 ? 0 : 1));
  return [residual, lambda];
}
