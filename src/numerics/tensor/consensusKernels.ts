import { chargeFlops } from '../../kernel/cost/meter';
import type { Activation } from '../activations';
import type { FloatArray } from './tensor';
import { SPECIAL_FLOPS } from './flopModel';
import { misfitWithScale } from './attackKernels';
import { scaledDerivatives } from './derivativeKernels';

/** λ from misfitWithScale (the fit's steps read it at once). */
const scaleOut = new Float64Array(1);

/**
 * The numeric core of the consensus attack's per-unit fit (adversaries/taylormlp/consensus.ts),
 * as kernels charging the FLOPs their loops execute (src/numerics/tensor/flopModel.ts), counted where
 * they run. The attack keeps its structure (passes, hypotheses, statuses); every number it
 * decides by is computed here. Profiles g and weights ω are indexed by order n = 0..N (entry 0
 * unused: order 0 carries c).
 */

/** The RMS rounding error of a storage format with unit roundoff `unitRoundoff` (half an ulp, uniform; floored at float64's): max(ε, 2⁻⁵²)/√3. Charges 1 + SPECIAL_FLOPS. */
export function roundingNoise(unitRoundoff: number): number {
  const value = Math.max(unitRoundoff, Number.EPSILON) / Math.sqrt(3);
  chargeFlops(1 + SPECIAL_FLOPS);
  return value;
}

/**
 * Column k's order profile g_n = dots[n·K + k]/norms[m·K + k] (m = reference) and its weights
 * ω_n = 1/((g_n·ν)² + f²), ν = eps/√(effective rows) (rows' weight from `fourth`), f = 4·ν·max|g|;
 * orders whose rms √(norms/o) is below 4× the smallest normal `normalMin` get no weight (unless an
 * exact zero beside orders above 2²⁰× it: an even derivative vanishing, not underflow). Returns
 * the number of weighted orders. Charges, as they run: N ÷, the noise (2 + SPECIAL, and × ÷ when
 * fourth > 0), the floor (2), the largest rms (1 + SPECIAL), and per order its rms (1 + SPECIAL),
 * the thresholds it evaluates (1 each: the zero test only at rms = 0, the underflow test only where not an exact zero) and, when weighted, ω (5).
 */
export function consensusProfile(dots: Float64Array, norms: Float64Array, fourth: Float64Array, reference: number, k: number, N: number, o: number, K: number, eps: number, normalMin: number, g: Float64Array, w: Float64Array): number {
  let flops = 0;
  const best = norms[reference * K + k];
  for (let n = 1; n <= N; n++) g[n] = dots[n * K + k] / best;
  flops += N;
  let gmax = 0;
  for (let n = 1; n <= N; n++) gmax = Math.max(gmax, Math.abs(g[n]));
  const noise = eps / Math.sqrt(fourth[k] > 0 ? (best * best) / fourth[k] : 1);
  flops += 1 + SPECIAL_FLOPS + (fourth[k] > 0 ? 2 : 0);
  const floor = gmax * noise * 4;
  flops += 2;
  let usable = 0;
  const largest = Math.sqrt(best / o);
  flops += 1 + SPECIAL_FLOPS;
  for (let n = 1; n <= N; n++) {
    const rms = Math.sqrt(norms[n * K + k] / o);
    flops += 1 + SPECIAL_FLOPS;
    let exactZero = false;
    if (rms === 0) {
      exactZero = largest > normalMin * 1048576; // 2²⁰
      flops += 1;
    }
    if (!exactZero) {
      flops += 1;
      if (rms < normalMin * 4) continue;
    }
    w[n] = 1 / ((g[n] * noise) ** 2 + floor * floor);
    flops += 5;
    usable++;
  }
  chargeFlops(flops);
  return usable;
}

/** A fitted expansion point for one sign: u, the misfit there and the scale λ there. */
export interface PointFit {
  readonly u: number;
  readonly r: number;
  readonly lambda: number;
}

/**
 * Damped variable-projection Newton on u from u0 for sign s (≤ 40 steps, ≤ 20 halvings each),
 * minimising R(u) = weightedMisfit(g, ω, Act⁽ⁿ⁾(u)/n!) over orders 1..N with λ re-optimised at
 * every u. With a = Σ ωₙ gₙ sⁿpₙ, b = Σ ωₙ pₙ² (λ = a/b), pₙ′ = (n+1)pₙ₊₁ and pₙ″ = (n+1)(n+2)pₙ₊₂:
 *   R′ = −2λ(a′ − λb′/2),   R″ = λ²b″ − 2λa″ − 2b·λ′²,   λ′ = (a′ − λb′)/b,
 * and the step is −R′/R″ where R″ > 0. Elsewhere (R″ ≤ 0 or not finite) it is the Gauss–Newton
 * step jr/jj, whose Jacobian is the part of λ·∂(sⁿpₙ)/∂u orthogonal (in the ω inner product) to
 * sⁿpₙ (Kaufman) — the two share R′ (jr = −R′/2); Gauss–Newton's curvature 2·jj drops the residual's
 * terms, so at a minimum with a large misfit (the runner-up start, a wrong basin, nearly always)
 * it crawls: measured on an OPT-125M-shaped bf16 block, 38 derivative evaluations per runner-up
 * refinement with Gauss–Newton, and 8.7 for the winning start. It stops where a step is below
 * 1e-12 of u or promises less than 1e-13 of the misfit (what rounding hides). `p` (length ≥ N + 3:
 * orders to N + 2) is scratch: it always holds the derivatives at the current u (an accepted trial
 * point's, computed once — never recomputed at the next step). Charges its own loops — per step
 * the projection (7 per order, ÷ when pp > 0), the Newton sums (14 per order), the Jacobian (14 per
 * order), the curvature (14), the step (1 or 2, and 1 for its test), its promised decrease (2), and
 * 1 per trial test, clamp, trial point and halving it runs — plus the derivatives and misfits it
 * calls (each a kernel).
 */
export function refineExpansionPoint(act: Activation, u0: number, s: number, g: Float64Array, w: Float64Array, N: number, p: Float64Array): PointFit {
  if (p.length < N + 3) throw new RangeError(`refineExpansionPoint: scratch of ${p.length} entries for orders 0..${N + 2}`);
  let flops = 0;
  let u = u0;
  let current = misfitWithScale(g, w, scaledDerivatives(act, u, N + 2, p), 0, 1, N, s < 0, scaleOut);
  let lambda = scaleOut[0];
  for (let iteration = 0; iteration < 40; iteration++) {
    // The projection, and Newton's sums: a′ = Σ ω g sⁿp′, a″ = Σ ω g sⁿp″, b′ = 2·pq, b″ = 2·Σ ω (p′² + p·p″).
    let pq = 0;
    let pp = 0;
    let ga1 = 0;
    let ga2 = 0;
    let bb2 = 0;
    for (let n = 1; n <= N; n++) {
      pq += w[n] * p[n] * (n + 1) * p[n + 1];
      pp += w[n] * p[n] * p[n];
      const gs = s < 0 && n % 2 === 1 ? -g[n] : g[n];
      const q1 = (n + 1) * p[n + 1];
      const q2 = (n + 1) * (n + 2) * p[n + 2];
      ga1 += w[n] * gs * q1;
      ga2 += w[n] * gs * q2;
      bb2 += w[n] * (q1 * q1 + p[n] * q2);
    }
    flops += (7 + 14) * N;
    const along = pp > 0 ? pq / pp : 0;
    if (pp > 0) flops += 1;
    let jr = 0;
    let jj = 0;
    for (let n = 1; n <= N; n++) {
      const sign = s < 0 && n % 2 === 1 ? -1 : 1;
      const r = g[n] - lambda * sign * p[n];
      const jn = lambda * sign * ((n + 1) * p[n + 1] - along * p[n]);
      jr += w[n] * jn * r;
      jj += w[n] * jn * jn;
    }
    flops += 14 * N;
    const lambdaSlope = (ga1 - 2 * lambda * pq) / pp;
    const curvature = lambda * lambda * 2 * bb2 - 2 * lambda * ga2 - 2 * pp * lambdaSlope * lambdaSlope;
    flops += 14;
    const newton = curvature > 0 && curvature < Infinity;
    if (!newton && !(jj > 0)) break;
    // −R′/R″ = 2·jr/R″ (jr = −R′/2); Gauss–Newton's jr/jj where R″ says nothing.
    let step = newton ? (2 * jr) / curvature : jr / jj;
    flops += (newton ? 2 : 1) + 1; // the step, and the test's ×
    if (Math.abs(step) < 1e-12 * Math.max(1, Math.abs(u))) break;
    // The decrease the step promises (jr·step: the quadratic model's, Newton or Gauss–Newton) below
    // 1e-13 of the misfit is about what the misfit's own rounding hides (a sum of N terms): no trial
    // could confirm it, and at a large-misfit minimum 20 halvings would be spent finding that out.
    flops += 2;
    if (!(jr * step > 1e-13 * current)) break;
    if (Math.abs(step) > 0.5) {
      step = 0.5 * Math.sign(step);
      flops += 1;
    }
    let accepted = false;
    for (let halving = 0; halving < 20; halving++) {
      const candidate = misfitWithScale(g, w, scaledDerivatives(act, u + step, N + 2, p), 0, 1, N, s < 0, scaleOut);
      const candidateLambda = scaleOut[0];
      flops += 1;
      if (candidate < current) {
        u += step;
        current = candidate;
        lambda = candidateLambda;
        accepted = true;
        flops += 1;
        break;
      }
      step /= 2;
      flops += 1;
    }
    if (!accepted) break;
    flops += 1;
    if (Math.abs(step) < 1e-14 * Math.max(1, Math.abs(u))) break;
  }
  chargeFlops(flops);
  return { u, r: current, lambda };
}

/** For hypothesis (s, u): W[i, j] = Σ_n Θ[n, i, k]·coefficient[n], Act(u), and the predicted relative error of W (from σ_u). */
export interface ColumnEstimate {
  readonly coefficient: Float64Array;
  readonly act0: number;
  readonly predicted: number;
}

/**
 * W's least-squares coefficients over the weighted orders at (s, u): coefficient[n] = sⁿp_n/Σ p_n²,
 * and the error the uncertainty in u puts on W: σ_u = 1/√(λ²(qq − pq²/pp)) (q_n = (n+1)p_{n+1},
 * ω-weighted sums), predicted = |pq/pp|·σ_u (∞ where u is not finite or the result is NaN).
 * `p` (length N + 2) is scratch; `coefficient` (length N + 1, e.g. a view of a block-wide array)
 * receives the coefficients. Charges per order 10 (and 2 where weighted) for the sums,
 * 2 per coefficient written with weight, 5 for the curvature, 1 + SPECIAL for σ_u when positive,
 * 2 for the prediction, and the derivatives and misfit it calls.
 */
export function columnEstimate(act: Activation, g: Float64Array, w: Float64Array, N: number, s: number, u: number, p: Float64Array, coefficientInto?: Float64Array): ColumnEstimate {
  const coefficient = coefficientInto ?? new Float64Array(N + 1);
  let flops = 0;
  scaledDerivatives(act, u, N + 1, p);
  misfitWithScale(g, w, p, 0, 1, N, s < 0, scaleOut);
  const lambda = scaleOut[0];
  let pp = 0;
  let pq = 0;
  let qq = 0;
  let plainPP = 0;
  for (let n = 1; n <= N; n++) {
    const qn = (n + 1) * p[n + 1];
    pp += w[n] * p[n] * p[n];
    pq += w[n] * p[n] * qn;
    qq += w[n] * qn * qn;
    flops += 10;
    if (w[n] > 0) {
      plainPP += p[n] * p[n];
      flops += 2;
    }
  }
  const curvature = lambda * lambda * (qq - (pq * pq) / pp);
  flops += 5;
  let sigmaU = Infinity;
  if (curvature > 0) {
    sigmaU = 1 / Math.sqrt(curvature);
    flops += 1 + SPECIAL_FLOPS;
  }
  const predicted = Math.abs(pq / pp) * sigmaU;
  flops += 2;
  coefficient.fill(0, 0, N + 1);
  for (let n = 1; n <= N; n++) {
    if (w[n] > 0) {
      coefficient[n] = ((s < 0 && n % 2 === 1 ? -1 : 1) * p[n]) / plainPP;
      flops += 2;
    }
  }
  chargeFlops(flops);
  return { coefficient, act0: p[0], predicted: Number.isFinite(u) && !Number.isNaN(predicted) ? predicted : Infinity };
}

/**
 * Column k's order-0 residuals under a hypothesis: out[i] = Θ[0, i, k] − (Σ_{n=1..N} Θ[n, i, k]·
 * coefficient[n])·act0 — c_i/K under the right hypothesis. Charges (2N + 2)·out.
 */
export function orderZeroResiduals(theta: FloatArray, k: number, coefficient: Float64Array, act0: number, N: number, o: number, K: number, out: Float64Array): Float64Array {
  for (let i = 0; i < o; i++) {
    let acc = 0;
    for (let n = 1; n <= N; n++) acc += theta[(n * o + i) * K + k] * coefficient[n];
    out[i] = theta[i * K + k] - acc * act0;
  }
  chargeFlops((2 * N + 2) * o);
  return out;
}

/** Σ_i (Θ[0, i, k] − (Σ_n Θ[n, i, k]·coefficient[n])·act0 − offsets[i])²: how far a hypothesis leaves column k from the common c/K. Charges (2N + 5)·out. */
export function orderZeroDistance(theta: FloatArray, k: number, coefficient: Float64Array, act0: number, offsets: Float64Array, N: number, o: number, K: number): number {
  let distance = 0;
  for (let i = 0; i < o; i++) {
    let acc = 0;
    for (let n = 1; n <= N; n++) acc += theta[(n * o + i) * K + k] * coefficient[n];
    distance += (theta[i * K + k] - acc * act0 - offsets[i]) ** 2;
  }
  chargeFlops((2 * N + 5) * o);
  return distance;
}

/**
 * The curvature test's second opinion, for flat misfits: over every grid u whose misfit is within
 * 9·max(1, rStar / (usable − 2)) of the fit's rStar, the scale λ(u) must stay within ¾·tol of λ(u*), and
 * those u must span at most one unit; a fit within one step of the grid's edge never passes.
 * `residuals` and `lambdas` are the grid's misfits and scales for this profile and sign, as
 * `gridMisfits` computed them for the fit's starting points (the same numbers: not recomputed);
 * (rStar, lambdaStar) those at u* from the fit. Charges the edge test (1), the allowance (2), per
 * grid point scanned the threshold (1) and, where within, the scale test (3) and, if the scan
 * completes, the span (1).
 */
export function scaleStable(residuals: Float64Array, lambdas: Float64Array, gridU: Float64Array, step: number, usable: number, u: number, rStar: number, lambdaStar: number, tol: number): boolean {
  let flops = 1;
  const last = gridU[gridU.length - 1];
  if (!(Math.abs(u) < last - step)) return charge(flops, false);
  const allowance = 9 * Math.max(1, rStar / Math.max(1, usable - 2));
  flops += 2;
  let lo = u;
  let hi = u;
  for (let q = 0; q < gridU.length; q++) {
    flops += 1;
    if (!(residuals[q] <= rStar + allowance)) continue;
    flops += 3;
    if (!(Math.abs(lambdas[q] / lambdaStar - 1) <= 0.75 * tol)) return charge(flops, false);
    lo = Math.min(lo, gridU[q]);
    hi = Math.max(hi, gridU[q]);
  }
  return charge(flops + 1, hi - lo <= 1);
}

const charge = <A>(flops: number, value: A): A => {
  chargeFlops(flops);
  return value;
};

/** b_j = u − s·z0: a unit's first-layer bias from its expansion point and sign. Charges 2. */
export function expansionBias(u: number, s: number, z0: number): number {
  chargeFlops(2);
  return u - s * z0;
}

/**
 * c_i = (Σ_{k used} (Θ[0, i, k] − W[i, j_k]·act0[k]))·K/used: the output bias from the c_i/K
 * shares of the units whose written weights reproduce order 0 (`second` is [out, h]; 0 when none
 * is used). Charges 3 per used unit per row, and 2 per row when any is used.
 */
export function outputBiasFromShares(theta: FloatArray, second: Float64Array, act0: Float64Array, used: Uint8Array, expanded: Int32Array, o: number, h: number, K: number, out: Float64Array): void {
  let count = 0;
  for (let k = 0; k < K; k++) if (used[k]) count++;
  let identity = h === K && count === K;
  for (let k = 0; identity && k < K; k++) identity = expanded[k] === k;
  for (let i = 0; i < o; i++) {
    let acc = 0;
    if (identity) {
      // Every unit used, in place (the sampled attack's chunks): the same sum in the same order, without the gather and the test.
      const row = i * K;
      for (let k = 0; k < K; k++) acc += theta[row + k] - second[row + k] * act0[k];
    } else for (let k = 0; k < K; k++) if (used[k]) acc += theta[i * K + k] - second[i * h + expanded[k]] * act0[k];
    out[i] = count === 0 ? 0 : (acc * K) / count;
  }
  chargeFlops(3 * count * o + (count === 0 ? 0 : 2 * o));
}

/** Whether a sign's runner-up fit stays plausible beside the best: runnerUp < max(100·best, 100·N). Charges 1 (N·100 is an integer). */
export function runnerUpPlausible(best: number, runnerUp: number, N: number): boolean {
  chargeFlops(1);
  return runnerUp < Math.max(best * 100, N * 100);
}

/** Whether a predicted relative error stays within ¾ of the tolerance: error ≤ 0.75·tol. Charges 1. */
export function withinTolerance(error: number, tol: number): boolean {
  chargeFlops(1);
  return error <= 0.75 * tol;
}

/** A comparator for ascending order by comparisons alone (no subtraction): −1, 0 or 1; NaN ties. */
export const ascending = (x: number, y: number): number => (x < y ? -1 : x > y ? 1 : 0);
