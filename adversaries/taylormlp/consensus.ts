import type { Activation } from '../../src/numerics/activations';
import { combineOrders, gridMisfits, orderNorms, profileDots, weightedMisfit } from '../../src/numerics/tensor/attackKernels';
import { derivativeGrid } from '../../src/numerics/tensor/derivativeKernels';
import { ColumnEstimate, columnEstimate, consensusProfile, expansionBias, orderZeroDistance, orderZeroResiduals, outputBiasFromShares, refineExpansionPoint, roundingNoise, runnerUpPlausible, scaleStable as scaleStableKernel, withinTolerance, ascending } from '../../src/numerics/tensor/consensusKernels';
import type { ReleasedBlock } from '../../schemes/taylormlp/release';
import type { StorageDType } from '../../schemes/taylormlp/storage';
import { RecoveredBlock, UnitClass, UnitStatus, UnrecoverableReason } from './recovered';
import { resolveTails } from './tails';

/**
 * The consensus attack on TaylorMLP — ours, built to reach 100 %.
 *
 * For expanded unit k (hidden unit j), the rows × orders matrix T[n, i] = n!·Θ[n, i, k] =
 * sⁿ·W[i, j]·Act⁽ⁿ⁾(u) is rank one (u = z0 + b, s the unit's secret sign). So:
 * 1. Profile: g_n = ⟨Θ_n, Θ_m⟩/⟨Θ_m, Θ_m⟩ over all rows i (m the order with the largest row
 *    norm) — g_n ∝ sⁿ·Act⁽ⁿ⁾(u)/n!, every row's evidence combined, n = 1..N (order 0 carries c).
 * 2. Fit (s, u): minimise the weighted misfit min_λ Σ_n ω_n (g_n − λ sⁿ p_n(u))², p_n = Act⁽ⁿ⁾/n!,
 *    with ω_n = 1/(g_n² ε² + τ²) — relative errors at the storage precision ε, floored by τ so that
 *    near-zero orders (the ill-conditioned ones) weigh little. Both signs, a coarse grid, then
 *    Gauss–Newton on u.
 * 3. Identifiability: the fit's curvature gives σ_u, and so the predicted relative error of W; a
 *    unit whose predicted error exceeds ¾·tol (e.g. the sigmoid's tails, where every order is
 *    ≈ eᵘ and only W·eᵘ is determined) is flagged unrecoverable, its entries left at 0.
 * 4. W[i, j] = Σ_n Θ[n, i, k]·sⁿp_n / Σ_n p_n² (least squares over orders), b_j = u − z0_j,
 *    V row j = s·(released row), c_i = Σ_k (Θ[0, i, k] − W[i, j_k]·Act(u_k)).
 */
export interface ConsensusOptions {
  /** Relative-error tolerance of "recovered" (1 % in the paper). */
  readonly tol?: number;
  /** Grid for the initial u: [−bound, bound] in steps of `step`. */
  readonly bound?: number;
  readonly step?: number;
  /**
   * Whether the release used random signs (public: the release's metadata says so). Without
   * signs s = +1 is known; with them both signs are fitted, and where the orders ≥ 1 cannot tell
   * them apart (the sigmoid: (s, u) and (−s, −u) give the same profile) order 0 decides: the
   * right hypothesis leaves the same c_i/K in every column.
   */
  readonly signs?: boolean;
  /** Resolve the units the fit cannot identify into identifiability classes (default true); false leaves them flagged and zero. */
  readonly tails?: boolean;
}

export const STORAGE_EPSILON: Record<StorageDType, number> = { f64: 2 ** -53, f32: 2 ** -24, bf16: 2 ** -8, f16: 2 ** -11 };

/** The smallest normal number of each storage format: below it values are subnormal (or zero) and lose relative precision. */
export const STORAGE_NORMAL_MIN: Record<StorageDType, number> = { f64: 2 ** -1022, f32: 2 ** -126, bf16: 2 ** -126, f16: 2 ** -14 };

/** Misfit of profile g (orders 1..N, weights ω) against λ·sⁿp_n at one point, λ eliminated: [residual, λ] (metered). */
const misfit = (g: Float64Array, w: Float64Array, p: Float64Array, offset: number, N: number, s: number): [number, number] => weightedMisfit(g, w, p, offset, 1, N, s < 0);

/** A fitted hypothesis for one column: sign, expansion point, misfit. */
interface Fit {
  readonly s: number;
  readonly u: number;
  readonly r: number;
}

/**
 * Every arithmetic operation runs in a metered kernel (src/numerics/tensor/attackKernels.ts,
 * consensusKernels.ts, derivativeKernels.ts); what is left here is control flow, comparisons,
 * sorting and copies — so the attack's metered cost is exact (the adversary is markAudited).
 */
export function consensusRecoverBlock(released: ReleasedBlock, act: Activation, dtype: StorageDType, options: ConsensusOptions = {}): RecoveredBlock {
  const tol = options.tol ?? 0.01;
  const N = released.order;
  const { inputDim: d, hiddenDim: h, outputDim: o } = released;
  const K = released.expanded.length;
  // RMS rounding error of the storage format (half an ulp, uniformly distributed).
  const eps = roundingNoise(STORAGE_EPSILON[dtype]);
  const gridStep = options.step ?? 0.25;
  const table = derivativeGrid(act, options.bound ?? 40, gridStep, N + 1);
  const width = table.width;
  const theta = released.theta;
  const p = new Float64Array(N + 2);

  // Pass 1a: the profiles of all columns at once, streaming Θ row by row (Θ is [N+1, out, K]:
  // a column walk would stride by K and miss the cache on every entry).
  const norms = new Float64Array((N + 1) * K); // Σ_i Θ[n, i, k]²
  orderNorms(theta, norms, N, o, K);
  const reference = new Int32Array(K); // m_k: the order with the largest row norm
  for (let k = 0; k < K; k++) {
    let best = -1;
    for (let n = 1; n <= N; n++) if (norms[n * K + k] > best) [best, reference[k]] = [norms[n * K + k], n];
  }
  const dots = new Float64Array((N + 1) * K); // Σ_i Θ[n, i, k]·Θ[m_k, i, k]
  const fourth = new Float64Array(K); // Σ_i Θ[m_k, i, k]⁴
  profileDots(theta, reference, dots, fourth, N, o, K);

  // Pass 1b: per column, the profile's weights and the best fit for each admissible sign.
  const residuals = new Float64Array(table.u.length);
  const hypotheses: Fit[][] = new Array(K);
  const failure = new Uint8Array(K); // UnrecoverableReason of columns that cannot be fitted
  const weights: Float64Array[] = new Array(K);
  const profiles: Float64Array[] = new Array(K);
  for (let k = 0; k < K; k++) {
    hypotheses[k] = [];
    if (N < 2) {
      failure[k] = UnrecoverableReason.tooFewOrders; // one order cannot separate W from Act′(u)
      continue;
    }
    const m = reference[k];
    const best = norms[m * K + k];
    if (!(best > 0)) {
      failure[k] = UnrecoverableReason.zeroColumn; // W[:, j] = 0, or Θ underflowed entirely
      continue;
    }
    // The profile averages the rows' rounding errors (relative noise ε/√(effective rows)); an order
    // whose entries are (near-)subnormal in the storage format carries no relative precision (e.g.
    // Θ underflowing in f16 in an activation's tail): it gets no weight — but an exact zero next to
    // large orders is information (an even derivative vanishing at u = 0), not underflow.
    const g = new Float64Array(N + 1);
    const w = new Float64Array(N + 1);
    const usable = consensusProfile(dots, norms, fourth, m, k, N, o, K, eps, STORAGE_NORMAL_MIN[dtype], g, w);
    if (usable < 2) {
      failure[k] = UnrecoverableReason.underflow; // u cannot be separated from the scale
      continue;
    }
    profiles[k] = g;
    weights[k] = w;
    for (const s of options.signs === true ? [1, -1] : [1]) {
      residuals.fill(0);
      gridMisfits(g, w, table.p, width, table.u.length, 1, N, s < 0, residuals);
      const minima: number[] = [];
      for (let q = 0; q < residuals.length; q++) {
        if ((q === 0 || residuals[q] <= residuals[q - 1]) && (q === residuals.length - 1 || residuals[q] <= residuals[q + 1])) minima.push(q);
      }
      minima.sort((a, b) => ascending(residuals[a], residuals[b]));
      let bestFit: Fit = { s, u: NaN, r: Infinity };
      for (const q of minima.slice(0, 2)) {
        const refined = refine(table.u[q], s, g, w);
        if (refined.r < bestFit.r) bestFit = refined;
      }
      hypotheses[k].push(bestFit);
    }
    hypotheses[k].sort((a, b) => ascending(a.r, b.r));
    // Keep the runner-up only where the orders ≥ 1 cannot rule it out.
    if (hypotheses[k].length === 2 && !runnerUpPlausible(hypotheses[k][0].r, hypotheses[k][1].r, N)) hypotheses[k].pop();
  }

  /** Damped variable-projection Gauss–Newton on u from u0 for sign s. */
  function refine(u0: number, s: number, g: Float64Array, w: Float64Array): Fit {
    const { u, r } = refineExpansionPoint(act, u0, s, g, w, N, p);
    return { s, u, r };
  }

  /**
   * W[:, j] by least squares over orders 1..N, and the u-induced relative error predicted from σ_u
   * (the curvature of the fit: the part of ∂p/∂u not absorbed by rescaling; d log W/du = −pq/pp).
   */
  const estimate = (k: number, fit: Fit): ColumnEstimate => columnEstimate(act, profiles[k], weights[k], N, fit.s, fit.u, p);

  // Pass 2: order 0 settles ambiguous signs. Θ[0, i, k] − W[i, j]·Act(u) must be the same c_i/K in
  // every column under the right hypotheses; the wrong one leaves c_i/K ± W-sized offsets.
  const choice = new Int8Array(K); // index into hypotheses[k]
  const estimates: Array<ColumnEstimate[]> = hypotheses.map((hs, k) => hs.map((fit) => estimate(k, fit)));
  const ambiguous = hypotheses.map((hs) => hs.length === 2);
  if (ambiguous.some((a) => a)) {
    for (let round = 0; round < 4; round++) {
      const offsets = new Float64Array(o);
      const residuals: Array<Float64Array | undefined> = estimates.map((es, k) => {
        const e = es[choice[k]];
        return e === undefined ? undefined : orderZeroResiduals(theta, k, e.coefficient, e.act0, N, o, K, new Float64Array(o));
      });
      for (let i = 0; i < o; i++) {
        const values: number[] = [];
        for (let k = 0; k < K; k++) {
          const r = residuals[k];
          if (r !== undefined) values.push(r[i]);
        }
        values.sort(ascending);
        offsets[i] = values.length === 0 ? 0 : values[Math.floor(values.length / 2)];
      }
      let changed = false;
      for (let k = 0; k < K; k++) {
        if (!ambiguous[k]) continue;
        const distance = (e: ColumnEstimate): number => orderZeroDistance(theta, k, e.coefficient, e.act0, offsets, N, o, K);
        const pick = distance(estimates[k][1]) < distance(estimates[k][0]) ? 1 : 0;
        if (pick !== choice[k]) [choice[k], changed] = [pick, true];
      }
      if (!changed) break;
    }
  }

  /**
   * The curvature test's second opinion, for flat misfits: over every grid u whose misfit is
   * within 9 (3σ, rescaled by the reduced χ²) of the fit's, the scale λ(u) of W must stay within
   * ¾·tol of λ(u*) (e.g. the sigmoid past u ≈ 17 in f32: every order ≈ ±W·e⁻ᵘ, a flat valley along
   * which W and u trade off), and the valley must be at most one unit of u wide (GELU past u ≈ 15
   * in f32: only order 1 = W survives, W is determined but b is not). Fits on the grid's edge never
   * pass. Units that fail go to the identifiability classes (tails.ts), where order 0 joins in.
   */
  const scaleStable = (k: number, fit: Fit): boolean => scaleStableKernel(act, profiles[k], weights[k], table, gridStep, N, fit.s, fit.u, tol, p);

  // Pass 3: the recovered block.
  const first = new Float64Array(released.first);
  const second = new Float64Array(o * h);
  const firstBias = released.kind === 'plain' ? new Float64Array(h) : null;
  const secondBias = released.kind === 'plain' ? new Float64Array(o) : null;
  const status = new Uint8Array(h);
  const reason = new Uint8Array(h);
  const predictedError = new Float64Array(h);
  const expansionPoint = new Float64Array(h).fill(NaN);
  const unitClass = new Uint8Array(h).fill(UnitClass.flagged);
  const act0 = new Float64Array(K);
  const recoveredUnit = new Uint8Array(K);
  const fittedSign = new Int8Array(K);
  const fittedU = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const j = released.expanded[k];
    const fit = hypotheses[k][choice[k]];
    const e = estimates[k][choice[k]];
    if (fit === undefined || e === undefined) {
      status[j] = UnitStatus.unrecoverable;
      reason[j] = failure[k] || UnrecoverableReason.notIdentifiable;
      predictedError[j] = Infinity;
      continue;
    }
    predictedError[j] = e.predicted;
    expansionPoint[j] = fit.u;
    // Identifiability: flagged (never reported) unless the predicted error stays below ¾·tol.
    // (Measured: the predicted error tracks the actual worst entry of a column to within ~20 %.)
    if (!withinTolerance(e.predicted, tol) || !scaleStable(k, fit)) {
      status[j] = UnitStatus.unrecoverable;
      reason[j] = UnrecoverableReason.notIdentifiable;
      continue;
    }
    if (firstBias !== null) firstBias[j] = expansionBias(fit.u, fit.s, released.z0[k]);
    if (fit.s < 0) for (let c = 0; c < d; c++) first[j * d + c] = -first[j * d + c];
    act0[k] = e.act0;
    recoveredUnit[k] = 1;
    fittedSign[k] = fit.s;
    fittedU[k] = fit.u;
    status[j] = UnitStatus.recovered;
    unitClass[j] = UnitClass.exact;
  }
  // W[i, j_k] = Σ_n Θ[n, i, k]·coefficient_k[n], streamed row by row.
  const coefficients = new Float64Array((N + 1) * K);
  for (let k = 0; k < K; k++) {
    if (!recoveredUnit[k]) continue;
    const e = estimates[k][choice[k]];
    for (let n = 1; n <= N; n++) coefficients[n * K + k] = e.coefficient[n];
  }
  combineOrders(theta, coefficients, recoveredUnit, released.expanded, second, N, o, K, h);
  // Pass 4: units the fit on orders 1..N could not identify — their identifiability class, with
  // order 0 (once c is known from the exact units) and a representative of the class written.
  const usedForC = Uint8Array.from(recoveredUnit);
  if (options.tails !== false && released.outputBias === null) {
    resolveTails(
      { released, act, dtype, signs: options.signs === true, tol, exact: recoveredUnit, sign: fittedSign, u: fittedU, fitted: firstStageFits() },
      { second, first, firstBias, status, reason, unitClass, expansionPoint, predictedError, act0, usedForC },
    );
  }
  /** The first stage's best u per sign (NaN where it has none): starting points for the classes step. */
  function firstStageFits(): [Float64Array, Float64Array] {
    const fits: [Float64Array, Float64Array] = [new Float64Array(K).fill(NaN), new Float64Array(K).fill(NaN)];
    for (let k = 0; k < K; k++) for (const fit of hypotheses[k]) if (Number.isFinite(fit.u)) fits[fit.s > 0 ? 0 : 1][k] = fit.u;
    return fits;
  }
  // c_i = Σ_k (Θ[0, i, k] − W[i, j_k]·Act(u_k)): the c_i/K shares, over the units whose written weights reproduce Θ[0].
  if (secondBias !== null) {
    if (released.outputBias !== null) secondBias.set(released.outputBias);
    else if (K > 0) outputBiasFromShares(theta, second, act0, usedForC, released.expanded, o, h, K, secondBias);
  }
  // Plain units are released as they are.
  for (let q = 0; q < released.plain.length; q++) {
    const j = released.plain[q];
    status[j] = UnitStatus.plain;
    unitClass[j] = UnitClass.plain;
    if (firstBias !== null && released.plainBias !== null) firstBias[j] = released.plainBias[q];
    for (let i = 0; i < o; i++) second[i * h + j] = released.plainSecond[i * released.plain.length + q];
  }
  return {
    kind: released.kind,
    inputDim: d,
    hiddenDim: h,
    outputDim: o,
    first,
    firstBias,
    up: released.up === null ? null : new Float64Array(released.up),
    second,
    secondBias,
    status,
    reason,
    unitClass,
    predictedError,
    expansionPoint,
    sign: unitSigns(),
  };
  /** ±1 per exact unit, 0 elsewhere. */
  function unitSigns(): Int8Array {
    const out = new Int8Array(h);
    for (let k = 0; k < K; k++) if (recoveredUnit[k]) out[released.expanded[k]] = fittedSign[k];
    return out;
  }
}
