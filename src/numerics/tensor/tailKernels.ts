import { chargeFlops } from '../../kernel/cost/meter';
import type { Activation } from '../activations';
import type { FloatArray } from './tensor';
import { SPECIAL_FLOPS } from './flopModel';
import { weightedMisfit } from './attackKernels';
import { DerivativeGrid, scaledDerivatives } from './derivativeKernels';

/**
 * The numeric core of the identifiability classes step (adversaries/taylormlp/tails.ts), as
 * kernels charging the FLOPs their loops execute (src/numerics/tensor/flopModel.ts), counted where they
 * run. Profiles and weights are over orders n = 0..N (order 0 joins once c is known); misfits
 * are weightedMisfit over 0..N.
 */

/** ĉ_i/K from the exact units, and its noise. */
export interface OrderZeroShare {
  readonly share: Float64Array;
  readonly rowVariance: Float64Array;
  readonly variance: number;
  readonly exactCount: number;
}

/**
 * ĉ_i/K = mean over exact units k of Θ[0, i, k] − W[i, j_k]·Act(u_k), var(ĉ_i/K) from the spread of
 * those estimates (unbiased, over their count) plus ε-rounding, and Σ_i of it. Charges per exact
 * unit Act's valueFlops and 5 per row; when any is exact, per row 1 (mean), 5 (spread; 1 with a
 * single unit), 4 (variance) and 1 (sum).
 */
export function orderZeroShare(act: Activation, theta: FloatArray, second: Float64Array, exact: Uint8Array, u: Float64Array, expanded: Int32Array, o: number, h: number, K: number, eps: number): OrderZeroShare {
  let flops = 0;
  const share = new Float64Array(o);
  const squares = new Float64Array(o);
  let count = 0;
  for (let k = 0; k < K; k++) {
    if (!exact[k]) continue;
    count++;
    const j = expanded[k];
    const a0 = act.value(u[k]);
    flops += act.valueFlops(u[k]) + 5 * o;
    for (let i = 0; i < o; i++) {
      const v = theta[i * K + k] - second[i * h + j] * a0;
      share[i] += v;
      squares[i] += v * v;
    }
  }
  let variance = 0;
  const rowVariance = new Float64Array(o);
  if (count > 0) {
    for (let i = 0; i < o; i++) {
      share[i] /= count;
      const spread = count > 1 ? Math.max(0, squares[i] / count - share[i] ** 2) * (count / (count - 1)) : share[i] ** 2;
      rowVariance[i] = spread / count + (eps * share[i]) ** 2;
      variance += rowVariance[i];
      flops += 1 + (count > 1 ? 5 : 1) + 4 + 1;
    }
  }
  chargeFlops(flops);
  return { share, rowVariance, variance, exactCount: count };
}

/** A unit's profile for the classes step. */
export interface TailProfile {
  /** The reference order (largest order ≥ 1 above the underflow floor; 0 when order 0 alone carries the unit). */
  readonly m: number;
  /** Σ_i t_i², t the reference row vector. */
  readonly best: number;
  /** Whether any order stands above its noise (false for a dead unit, and where ‖t‖ = 0). */
  readonly aboveAny: boolean;
  /** Orders with weight. */
  readonly usable: number;
}

/**
 * Unit k's column Θ′[n, i] (order 0 less ĉ_i/K when c is known; `rawRow0` the stored order 0), its
 * order norms, the reference order m, and the profile g_n = ⟨Θ′_n, t⟩/⟨t, t⟩ with weights
 * ω_n = 1/σ_n², σ_0 = noise₀/‖t‖ (noise₀ = √(ε²·‖Θ[0]‖² + var ĉ); no weight without c), σ_n =
 * hypot(ρ·g_n, f) (ρ = ε/√(effective rows) + 10⁻¹⁵, f = normalMin·√out/‖t‖: the underflow floor).
 * g and ω are written only for a unit that is not dead. Charges every operation as it runs (see
 * the body: 3 per row at order 0, 2 per entry for the norms, the noise and thresholds evaluated
 * — short-circuits included — 6 per row for the effective rows, and per order 2·out + 1 for g and
 * what σ and ω take).
 */
export function tailProfile(theta: FloatArray, k: number, share: OrderZeroShare, cKnown: boolean, eps: number, normalMin: number, N: number, o: number, K: number, column: Float64Array, rawRow0: Float64Array, g: Float64Array, w: Float64Array): TailProfile {
  let flops = 0;
  let raw0 = 0;
  for (let i = 0; i < o; i++) rawRow0[i] = theta[i * K + k];
  for (let n = 0; n <= N; n++) {
    for (let i = 0; i < o; i++) {
      const v = theta[(n * o + i) * K + k];
      if (n === 0) raw0 += v * v;
      column[n * o + i] = n === 0 ? v - (cKnown ? share.share[i] : 0) : v;
    }
  }
  flops += 3 * o;
  let m = 0;
  let best = -1;
  const norms = new Float64Array(N + 1);
  for (let n = 0; n <= N; n++) {
    let acc = 0;
    for (let i = 0; i < o; i++) acc += column[n * o + i] ** 2;
    norms[n] = acc;
    if (n > 0 && acc > best) [best, m] = [acc, n];
  }
  flops += 2 * (N + 1) * o;
  // Order 0's noise: the rounding of the stored Θ[0] (which carries c/K) and of ĉ.
  let noise0 = Infinity;
  if (cKnown) {
    noise0 = Math.sqrt(eps * eps * raw0 + share.variance);
    flops += 3 + SPECIAL_FLOPS;
  }
  const floor4 = (): number => {
    flops += 1;
    return normalMin * 4;
  };
  const orderAbove = (n: number): boolean => {
    flops += 1 + SPECIAL_FLOPS;
    return Math.sqrt(norms[n] / o) >= floor4();
  };
  const zeroAbove = (): boolean => {
    flops += SPECIAL_FLOPS + 1;
    return Math.sqrt(norms[0]) > 6 * noise0;
  };
  // The reference row vector t: the largest order ≥ 1 while any stands above the underflow floor.
  if (cKnown && !orderAbove(m) && zeroAbove()) [best, m] = [norms[0], 0];
  let s2 = 0;
  let s4 = 0;
  for (let i = 0; i < o; i++) {
    const t = column[m * o + i];
    s2 += t * t;
    s4 += t * t * t * t;
  }
  flops += 6 * o;
  let rowsEffective = 1;
  if (s4 > 0) {
    rowsEffective = (s2 * s2) / s4;
    flops += 2;
  }
  const rho = eps / Math.sqrt(rowsEffective) + 1e-15;
  const tNorm = Math.sqrt(best);
  flops += 2 + 2 * SPECIAL_FLOPS;
  const above0 = cKnown && zeroAbove();
  let aboveAny = above0;
  for (let n = 1; n <= N; n++) if (orderAbove(n)) aboveAny = true;
  if (!(best > 0) || !aboveAny) {
    chargeFlops(flops);
    return { m, best, aboveAny: false, usable: 0 };
  }
  const floor = (normalMin * Math.sqrt(o)) / tNorm;
  flops += 2 + SPECIAL_FLOPS;
  let usable = 0;
  for (let n = 0; n <= N; n++) {
    let dot = 0;
    for (let i = 0; i < o; i++) dot += column[n * o + i] * column[m * o + i];
    g[n] = dot / best;
    flops += 2 * o + 1;
    let sigma = Infinity;
    if (n > 0) {
      sigma = Math.hypot(rho * g[n], floor);
      flops += 1 + SPECIAL_FLOPS;
    } else if (cKnown) {
      sigma = noise0 / tNorm;
      flops += 1;
    }
    if (Number.isFinite(sigma) && sigma > 0) {
      w[n] = 1 / (sigma * sigma);
      flops += 2;
    } else w[n] = 0;
    if (w[n] > 0) usable++;
  }
  chargeFlops(flops);
  return { m, best, aboveAny: true, usable };
}

/** The misfit over orders 0..N at u for sign s (derivatives into the scratch p): [r, λ]. Both kernels charge. */
const misfitAt = (act: Activation, g: Float64Array, w: Float64Array, N: number, s: number, u: number, p: Float64Array): [number, number] => weightedMisfit(g, w, scaledDerivatives(act, u, N, p), 0, 0, N, s < 0);

/**
 * Golden-section minimum of the misfit over orders 0..N for sign s on [lo, hi] (≤ 100 steps,
 * until the bracket is below 10⁻¹³·max(1, |lo|)); returns the better of the last two points.
 * `p` (length N + 1) is scratch. Charges the golden ratio (2 + SPECIAL), the two first points (6),
 * 2 per bracket test evaluated and 3 per new point, and the derivatives and misfits it calls.
 */
export function goldenSection(act: Activation, g: Float64Array, w: Float64Array, N: number, s: number, lo: number, hi: number, p: Float64Array): { u: number; r: number } {
  let flops = 2 + SPECIAL_FLOPS + 6;
  const golden = (Math.sqrt(5) - 1) / 2;
  const f = (u: number): number => misfitAt(act, g, w, N, s, u, p)[0];
  let x1 = hi - golden * (hi - lo);
  let x2 = lo + golden * (hi - lo);
  let f1 = f(x1);
  let f2 = f(x2);
  const open = (it: number): boolean => {
    if (!(it < 100)) return false;
    flops += 2;
    return hi - lo > 1e-13 * Math.max(1, Math.abs(lo));
  };
  for (let it = 0; open(it); it++) {
    flops += 3;
    if (f1 < f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - golden * (hi - lo);
      f1 = f(x1);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + golden * (hi - lo);
      f2 = f(x2);
    }
  }
  chargeFlops(flops);
  return f1 < f2 ? { u: x1, r: f1 } : { u: x2, r: f2 };
}

/** Whether two hypotheses fit alike: |r_x − r_y| ≤ 9·max(1, min(r_x, r_y)/max(1, usable − 2)). Charges 3. */
export function fitsAlike(rx: number, ry: number, usable: number): boolean {
  chargeFlops(3);
  return Math.abs(rx - ry) <= 9 * Math.max(1, Math.min(rx, ry) / Math.max(1, usable - 2));
}

/** A bracket [u − δ, u + δ] clipped to [−bound, bound]. Charges 2. */
export function clippedBracket(u: number, delta: number, bound: number): [number, number] {
  chargeFlops(2);
  return [Math.max(-bound, u - delta), Math.min(bound, u + delta)];
}

/** What the classes step decides a unit by: the valley U of the fit and how well W and b are determined across it. */
export interface TailValley {
  readonly allowance: number;
  /** The other sign fits within the allowance too. */
  readonly signAmbiguous: boolean;
  readonly lambdaStar: number;
  readonly uLo: number;
  readonly uHi: number;
  /** uHi − uLo. */
  readonly span: number;
  readonly wSpread: number;
  readonly sigmaU: number;
  readonly wDetermined: boolean;
  readonly bDetermined: boolean;
}

/**
 * The valley of a fit (s, u*, r*) whose grid misfits are `residuals`: allowance 9·max(1, r* / dof),
 * U = grid points within it (and u*), the spread of λ(u)/λ(u*) − 1 over U and over u* ± 3σ_u when
 * 3σ_u ≤ gridStep, σ_u = √(2/f″(u*)) (central second difference, step 10⁻⁴·max(1, |u*|)), the
 * entries' own noise (t the reference row vector, m its order: rounding, and ĉ's for order 0),
 * W determined (spread + 3·noise ≤ ¾·tol, λ* finite and non-zero) and b determined (3σ_u ≤
 * 1 %·max(1, |u*|) and U within one unit). `otherR` is the other sign's misfit (null: none). `p`
 * (length N + 1) is scratch. Charges each operation where it runs, and the kernels it calls.
 */
export function tailValley(act: Activation, g: Float64Array, w: Float64Array, grid: DerivativeGrid, gridStep: number, bound: number, N: number, s: number, uStar: number, rStar: number, usable: number, otherR: number | null, residuals: Float64Array, column: Float64Array, m: number, rawRow0: Float64Array, rowVariance: Float64Array, eps: number, tol: number, o: number, p: Float64Array): TailValley {
  let flops = 0;
  const f = (u: number): number => misfitAt(act, g, w, N, s, u, p)[0];
  const dof = Math.max(1, usable - 2);
  const allowance = 9 * Math.max(1, rStar / dof);
  flops += 2;
  let signAmbiguous = false;
  if (otherR !== null) {
    signAmbiguous = otherR <= rStar + allowance;
    flops += 1;
  }
  const lambdaStar = misfitAt(act, g, w, N, s, uStar, p)[1];
  let uLo = uStar;
  let uHi = uStar;
  let wSpread = 0;
  for (let q = 0; q < grid.u.length; q++) {
    flops += 1;
    if (!(residuals[q] <= rStar + allowance)) continue;
    uLo = Math.min(uLo, grid.u[q]);
    uHi = Math.max(uHi, grid.u[q]);
    const lambda = weightedMisfit(g, w, grid.p, q * grid.width, 0, N, s < 0)[1];
    wSpread = Math.max(wSpread, Math.abs(lambda / lambdaStar - 1));
    flops += 2;
  }
  const step = 1e-4 * Math.max(1, Math.abs(uStar));
  const curvature = (f(uStar + step) - 2 * f(uStar) + f(uStar - step)) / (step * step);
  flops += 1 + 7;
  let sigmaU = Infinity;
  if (curvature > 0) {
    sigmaU = Math.sqrt(2 / curvature);
    flops += 1 + SPECIAL_FLOPS;
  }
  flops += 1;
  if (3 * sigmaU <= gridStep) {
    for (const side of [-1, 1]) {
      const u = Math.min(bound, Math.max(-bound, uStar + side * 3 * sigmaU));
      wSpread = Math.max(wSpread, Math.abs(misfitAt(act, g, w, N, s, u, p)[1] / lambdaStar - 1));
      flops += 5;
    }
  }
  let entryNoise = 0;
  for (let i = 0; i < o; i++) {
    const t = column[m * o + i];
    const noise = m === 0 ? Math.sqrt((eps * rawRow0[i]) ** 2 + rowVariance[i]) : eps * Math.abs(t);
    flops += m === 0 ? 3 + SPECIAL_FLOPS : 1;
    if (t !== 0) flops += 1;
    entryNoise = Math.max(entryNoise, t === 0 ? (noise === 0 ? 0 : Infinity) : noise / Math.abs(t));
  }
  let wDetermined = Number.isFinite(lambdaStar) && lambdaStar !== 0;
  if (wDetermined) {
    wDetermined = wSpread + 3 * entryNoise <= 0.75 * tol;
    flops += 3;
  }
  const span = uHi - uLo;
  const bDetermined = 3 * sigmaU <= 0.01 * Math.max(1, Math.abs(uStar)) && span <= 1;
  flops += 3;
  chargeFlops(flops);
  return { allowance, signAmbiguous, lambdaStar, uLo, uHi, span, wSpread, sigmaU, wDetermined, bDetermined };
}

/**
 * For a sign-ambiguous unit: whether the other hypothesis (s′, u′) gives the same W (|λ′/λ* − 1| ≤
 * ¾·tol) and whether Act is saturated at the written bound (Act(u_b − r) = Act(u_b + r), u_b = uLo
 * for a flat valley, else u*). Charges 3, the two Act values and the kernels it calls.
 */
export function signAmbiguity(act: Activation, g: Float64Array, w: Float64Array, N: number, otherS: number, otherU: number, lambdaStar: number, uBound: number, radius: number, tol: number, p: Float64Array): { sameW: boolean; saturated: boolean } {
  const lambdaOther = misfitAt(act, g, w, N, otherS, otherU, p)[1];
  const sameW = Math.abs(lambdaOther / lambdaStar - 1) <= 0.75 * tol;
  const below = uBound - radius;
  const above = uBound + radius;
  const saturated = act.value(below) === act.value(above);
  chargeFlops(3 + 2 + act.valueFlops(below) + act.valueFlops(above));
  return { sameW, saturated };
}

/**
 * The representative's W[:, j] = λ(u)·t at the written u (λ the profile's scale there, t the
 * reference row vector of order m) into `second` ([out, h]); returns Act(u). Charges out and the
 * derivatives and misfit it calls.
 */
export function writeTailRepresentative(act: Activation, g: Float64Array, w: Float64Array, N: number, s: number, u: number, column: Float64Array, m: number, o: number, h: number, j: number, second: Float64Array, p: Float64Array): number {
  const lambda = misfitAt(act, g, w, N, s, u, p)[1];
  for (let i = 0; i < o; i++) second[i * h + j] = lambda * column[m * o + i];
  chargeFlops(o);
  return p[0];
}
