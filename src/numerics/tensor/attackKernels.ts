import { chargeFlops } from '../../kernel/cost/meter';
import type { FloatArray } from './tensor';
import { MisfitGridKernel } from './simd/misfitGrid';

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
 * and, when given, the scales λ into `lambdas` — each point's numbers bit for bit those of
 * weightedMisfit. Faster by its arrangement, not by other arithmetic: the sign flip goes onto g
 * (gₙ·(−pₙ) and (−gₙ)·pₙ round alike), ωₙ·gₙ is formed once for the grid instead of once per
 * point, and four points run side by side (independent sums: the adds no longer wait on each
 * other). Charges what it computes: `terms` for ωₙ·gₙ, then per point 10 per order and the ÷ for λ.
 */
export function gridMisfits(g: Float64Array, w: Float64Array, p: Float64Array, width: number, points: number, from: number, to: number, negativeSign: boolean, out: Float64Array, lambdas?: Float64Array): void {
  checkGrid(p, width, points, to, out, lambdas);
  if (points <= 0) return;
  const gs = new Float64Array(to + 1);
  const wg = new Float64Array(to + 1);
  const terms = signedProfile(g, w, from, to, negativeSign, gs, wg);
  const divisions = gridPointsFrom(0, gs, wg, w, p, width, points, from, to, out, lambdas);
  chargeFlops(terms + points * 10 * terms + divisions);
}

const checkGrid = (p: Float64Array, width: number, points: number, to: number, out: Float64Array, lambdas: Float64Array | undefined): void => {
  if (out.length < points || (lambdas !== undefined && lambdas.length < points) || p.length < (points - 1) * width + to + 1) throw new RangeError(`gridMisfits: out ${out.length}, p ${p.length} for ${points} points of width ${width}`);
};

/** sⁿ on g: gs[n] = sⁿ·g[n] (a sign flip, no arithmetic), and ωₙ·sⁿgₙ once for every point (n = from..to); `terms` the orders. */
function signedProfile(g: Float64Array, w: Float64Array, from: number, to: number, negativeSign: boolean, gs: Float64Array, wg: Float64Array): number {
  for (let n = from; n <= to; n++) {
    gs[n] = negativeSign && n % 2 === 1 ? -g[n] : g[n];
    wg[n] = w[n] * gs[n];
  }
  return Math.max(0, to - from + 1);
}

/** gridMisfits' points q0..points−1 (each point's numbers whatever the grouping); answers the ÷ count. */
function gridPointsFrom(q0: number, gs: Float64Array, wg: Float64Array, w: Float64Array, p: Float64Array, width: number, points: number, from: number, to: number, out: Float64Array, lambdas: Float64Array | undefined): number {
  let divisions = 0;
  let q = q0;
  for (; q + 3 < points; q += 4) {
    const a = q * width;
    const b = a + width;
    const c = b + width;
    const d = c + width;
    let gpA = 0, ppA = 0, gpB = 0, ppB = 0, gpC = 0, ppC = 0, gpD = 0, ppD = 0; // prettier-ignore
    for (let n = from; n <= to; n++) {
      const wn = w[n];
      const wgn = wg[n];
      const pA = p[a + n];
      const pB = p[b + n];
      const pC = p[c + n];
      const pD = p[d + n];
      gpA += wgn * pA;
      ppA += wn * pA * pA;
      gpB += wgn * pB;
      ppB += wn * pB * pB;
      gpC += wgn * pC;
      ppC += wn * pC * pC;
      gpD += wgn * pD;
      ppD += wn * pD * pD;
    }
    const lambdaA = ppA === 0 ? 0 : gpA / ppA;
    const lambdaB = ppB === 0 ? 0 : gpB / ppB;
    const lambdaC = ppC === 0 ? 0 : gpC / ppC;
    const lambdaD = ppD === 0 ? 0 : gpD / ppD;
    divisions += (ppA === 0 ? 0 : 1) + (ppB === 0 ? 0 : 1) + (ppC === 0 ? 0 : 1) + (ppD === 0 ? 0 : 1);
    let rA = 0, rB = 0, rC = 0, rD = 0; // prettier-ignore
    for (let n = from; n <= to; n++) {
      const gn = gs[n];
      const wn = w[n];
      const xA = gn - lambdaA * p[a + n];
      const xB = gn - lambdaB * p[b + n];
      const xC = gn - lambdaC * p[c + n];
      const xD = gn - lambdaD * p[d + n];
      rA += wn * xA * xA;
      rB += wn * xB * xB;
      rC += wn * xC * xC;
      rD += wn * xD * xD;
    }
    out[q] = rA;
    out[q + 1] = rB;
    out[q + 2] = rC;
    out[q + 3] = rD;
    if (lambdas !== undefined) {
      lambdas[q] = lambdaA;
      lambdas[q + 1] = lambdaB;
      lambdas[q + 2] = lambdaC;
      lambdas[q + 3] = lambdaD;
    }
  }
  for (; q < points; q++) {
    const offset = q * width;
    let gp = 0;
    let pp = 0;
    for (let n = from; n <= to; n++) {
      const pn = p[offset + n];
      gp += wg[n] * pn;
      pp += w[n] * pn * pn;
    }
    const lambda = pp === 0 ? 0 : gp / pp;
    if (pp !== 0) divisions++;
    let residual = 0;
    for (let n = from; n <= to; n++) {
      const r = gs[n] - lambda * p[offset + n];
      residual += w[n] * r * r;
    }
    out[q] = residual;
    if (lambdas !== undefined) lambdas[q] = lambda;
  }
  return divisions;
}

/**
 * gridMisfits on one grid for many profiles (the fit calls it for every unit of a block): the same
 * numbers and charge, the quads of points in WebAssembly SIMD where the runtime has it
 * (./simd/misfitGrid: the table placed in the kernel's memory once), the rest in JavaScript.
 * `close` when the block is done.
 */
export class MisfitGrid {
  private readonly kernel: MisfitGridKernel | null;
  private readonly gs: Float64Array;
  private readonly wg: Float64Array;

  constructor(
    private readonly p: Float64Array,
    private readonly width: number,
    private readonly points: number,
  ) {
    this.kernel = points >= 4 && MisfitGridKernel.available ? new MisfitGridKernel(p, width, points) : null;
    this.gs = new Float64Array(width);
    this.wg = new Float64Array(width);
  }

  /** gridMisfits(g, w, p, width, points, from, to, negativeSign, out, lambdas) on this grid. */
  misfits(g: Float64Array, w: Float64Array, from: number, to: number, negativeSign: boolean, out: Float64Array, lambdas?: Float64Array): void {
    const { p, width, points } = this;
    checkGrid(p, width, points, to, out, lambdas);
    if (to >= width) throw new RangeError(`MisfitGrid: order ${to} beyond the table's width ${width}`);
    if (points <= 0) return;
    const { gs, wg } = this;
    const terms = signedProfile(g, w, from, to, negativeSign, gs, wg);
    let divisions = 0;
    let q0 = 0;
    if (this.kernel !== null && from <= to) {
      divisions = this.kernel.misfits(gs, w, wg, from, to, out, lambdas);
      q0 = this.kernel.quads * 4;
    }
    divisions += gridPointsFrom(q0, gs, wg, w, p, width, points, from, to, out, lambdas);
    chargeFlops(terms + points * 10 * terms + divisions);
  }

  close(): void {
    this.kernel?.close();
  }
}

/**
 * The weighted misfit of an order profile g against λ·sⁿ·p_n with λ eliminated:
 *   λ = Σ ω_n g_n sⁿp_n / Σ ω_n p_n²,   r = Σ ω_n (g_n − λ sⁿp_n)²   over n = from..to,
 * p_n = p[offset + n], sⁿ = −1 for odd n when `negativeSign` (a sign flip, no arithmetic). The
 * residual is summed explicitly (r = Σ ω g² − λ·Σ ω g p cancels catastrophically near the
 * optimum). Returns r and writes λ into scale[0] (λ = 0 when Σ ω p² = 0): no pair to allocate, as the
 * fit calls it at every step of every unit. Charges 11 per order and the ÷ for λ.
 */
export function misfitWithScale(g: Float64Array, w: Float64Array, p: Float64Array, offset: number, from: number, to: number, negativeSign: boolean, scale: Float64Array): number {
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
  scale[0] = lambda;
  return residual;
}

/** misfitWithScale as a pair [r, λ] (the same numbers and charge). */
export function weightedMisfit(g: Float64Array, w: Float64Array, p: Float64Array, offset: number, from: number, to: number, negativeSign: boolean): [number, number] {
  const scale = new Float64Array(1);
  const residual = misfitWithScale(g, w, p, offset, from, to, negativeSign, scale);
  return [residual, scale[0]];
}
