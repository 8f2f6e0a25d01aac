import type { Activation } from '../../src/numerics/activations';
import { combineOrders, MisfitGrid, orderNorms, profileDots } from '../../src/numerics/tensor/attackKernels';
import { DerivativeGrid, derivativeGrid } from '../../src/numerics/tensor/derivativeKernels';
import { ColumnEstimate, columnEstimate, consensusProfile, expansionBias, orderZeroDistance, orderZeroResiduals, outputBiasFromShares, PointFit, refineExpansionPoint, roundingNoise, runnerUpPlausible, scaleStable as scaleStableKernel, withinTolerance, ascending } from '../../src/numerics/tensor/consensusKernels';
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
 *    damped Newton on u (Gauss–Newton where the misfit's curvature is not positive).
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

/** A fitted hypothesis for one column: sign, expansion point, misfit, and whether its scale is stable along the misfit's valley (scaleStable). */
interface Fit {
  readonly s: number;
  readonly u: number;
  readonly r: number;
  readonly stable: boolean;
}

/** The recovered block as this attack fills it: with reasons, classes and signs. */
type FullBlock = RecoveredBlock & { readonly reason: Uint8Array; readonly unitClass: Uint8Array; readonly sign: Int8Array };

/** What every phase reads: the block, its activation and the attack's settings. */
interface Setting {
  readonly released: ReleasedBlock;
  readonly act: Activation;
  readonly dtype: StorageDType;
  readonly signs: boolean;
  readonly tails: boolean;
  readonly tol: number;
  /** N, the highest order. */
  readonly N: number;
  /** K, the number of expanded units (columns of Θ). */
  readonly K: number;
  /** RMS rounding error of the storage format (half an ulp, uniformly distributed). */
  readonly eps: number;
  readonly gridStep: number;
  /** p_n = Act⁽ⁿ⁾(u)/n! on the grid of starting points. */
  readonly table: DerivativeGrid;
  /** Scratch for the derivative kernels (N + 3 entries: the fit reads orders to N + 2). */
  readonly scratch: Float64Array;
}

/** Phase 1 (profile): per column, the order norms, the reference order m_k and the dots with it. */
interface Profiles {
  /** Σ_i Θ[n, i, k]², [N + 1, K]. */
  readonly norms: Float64Array;
  /** m_k: the order with the largest row norm. */
  readonly reference: Int32Array;
  /** Σ_i Θ[n, i, k]·Θ[m_k, i, k], [N + 1, K]. */
  readonly dots: Float64Array;
  /** Σ_i Θ[m_k, i, k]⁴. */
  readonly fourth: Float64Array;
}

/** Phase 2 (fit): per column, its weighted profile and the best (s, u) for each admissible sign, best first. */
interface Fits {
  readonly hypotheses: Fit[][];
  /** UnrecoverableReason of columns that cannot be fitted (0 for the others). */
  readonly failure: Uint8Array;
  readonly profiles: Float64Array[];
  readonly weights: Float64Array[];
}

/** Phase 3 (classify): the chosen hypothesis per column, its estimate, and the units found exact. */
interface Classified {
  readonly choice: Int8Array;
  readonly estimates: ColumnEstimate[][];
  readonly exact: Uint8Array;
  readonly sign: Int8Array;
  readonly u: Float64Array;
  readonly act0: Float64Array;
}

/**
 * The consensus attack on one released block: profile → fit → classify → solve.
 *
 * Every arithmetic operation runs in a metered kernel (src/numerics/tensor/attackKernels.ts,
 * consensusKernels.ts, derivativeKernels.ts); what is left here is control flow, comparisons,
 * sorting and copies — so the attack's metered cost is exact (the adversary is markAudited).
 */
export function consensusRecoverBlock(released: ReleasedBlock, act: Activation, dtype: StorageDType, options: ConsensusOptions = {}): RecoveredBlock {
  const N = released.order;
  const gridStep = options.step ?? 0.25;
  const setting: Setting = {
    released,
    act,
    dtype,
    signs: options.signs === true,
    tails: options.tails !== false,
    tol: options.tol ?? 0.01,
    N,
    K: released.expanded.length,
    eps: roundingNoise(STORAGE_EPSILON[dtype]),
    gridStep,
    table: derivativeGrid(act, options.bound ?? 40, gridStep, N + 1),
    scratch: new Float64Array(N + 3),
  };
  const profiles = profileColumns(setting);
  const fits = fitColumns(setting, profiles);
  return solveBlock(setting, fits, classifyUnits(setting, fits, settleSigns(setting, fits)));
}

/**
 * Profile: g_n = ⟨Θ_n, Θ_m⟩/⟨Θ_m, Θ_m⟩ needs the order norms and the dots with the reference
 * order, all columns at once, streaming Θ row by row (Θ is [N+1, out, K]: a column walk would
 * stride by K and miss the cache on every entry).
 */
function profileColumns({ released, N, K }: Setting): Profiles {
  const o = released.outputDim;
  const norms = new Float64Array((N + 1) * K);
  orderNorms(released.theta, norms, N, o, K);
  const reference = new Int32Array(K);
  for (let k = 0; k < K; k++) {
    let best = -1;
    for (let n = 1; n <= N; n++) if (norms[n * K + k] > best) [best, reference[k]] = [norms[n * K + k], n];
  }
  const dots = new Float64Array((N + 1) * K);
  const fourth = new Float64Array(K);
  profileDots(released.theta, reference, dots, fourth, N, o, K);
  return { norms, reference, dots, fourth };
}

/** Fit: per column, the profile's weights and the best (s, u) for each admissible sign. */
function fitColumns(setting: Setting, { norms, reference, dots, fourth }: Profiles): Fits {
  const { released, act, dtype, N, K, eps, table, scratch } = setting;
  const o = released.outputDim;
  const width = table.width;
  const residuals = new Float64Array(table.u.length);
  const lambdas = new Float64Array(table.u.length);
  const hypotheses: Fit[][] = new Array(K);
  const failure = new Uint8Array(K);
  const weights: Float64Array[] = new Array(K);
  const profiles: Float64Array[] = new Array(K);
  // Every column's g and ω as views of two block-wide arrays: a Float64Array of N + 1 > 8 entries
  // has a backing store of its own (allocated and collected off the JS heap, per unit).
  const profileStore = new Float64Array(K * (N + 1));
  const weightStore = new Float64Array(K * (N + 1));
  // The grid's table placed once for the block's units (in the SIMD kernel's memory where it runs).
  const grid = new MisfitGrid(table.p, width, table.u.length);
  try {
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
      const g = profileStore.subarray(k * (N + 1), (k + 1) * (N + 1));
      const w = weightStore.subarray(k * (N + 1), (k + 1) * (N + 1));
      const usable = consensusProfile(dots, norms, fourth, m, k, N, o, K, eps, STORAGE_NORMAL_MIN[dtype], g, w);
      if (usable < 2) {
        failure[k] = UnrecoverableReason.underflow; // u cannot be separated from the scale
        continue;
      }
      profiles[k] = g;
      weights[k] = w;
      for (const s of setting.signs ? [1, -1] : [1]) {
        grid.misfits(g, w, 1, N, s < 0, residuals, lambdas); // writes every point
        let bestFit: PointFit = { u: NaN, r: Infinity, lambda: NaN };
        for (const q of startingPoints(residuals)) {
          const refined = refineExpansionPoint(act, table.u[q], s, g, w, N, scratch);
          if (refined.r < bestFit.r) bestFit = refined;
        }
        // The valley test reads the grid's misfits and scales just computed (classifyUnits uses it).
        const stable = scaleStableKernel(residuals, lambdas, table.u, setting.gridStep, usable, bestFit.u, bestFit.r, bestFit.lambda, setting.tol);
        hypotheses[k].push({ s, u: bestFit.u, r: bestFit.r, stable });
      }
      hypotheses[k].sort((a, b) => ascending(a.r, b.r));
      // Keep the runner-up only where the orders ≥ 1 cannot rule it out.
      if (hypotheses[k].length === 2 && !runnerUpPlausible(hypotheses[k][0].r, hypotheses[k][1].r, N)) hypotheses[k].pop();
    }
  } finally {
    grid.close();
  }
  return { hypotheses, failure, profiles, weights };
}

/**
 * The fit's starting points: the grid's local minima (q with residuals[q] ≤ both neighbours'),
 * the two lowest of them as `lowestTwo` picks them — in one pass, without listing the minima
 * (a flat stretch, e.g. where every derivative underflows, makes hundreds of grid points minima);
 * listed, and handed to `lowestTwo`, only where a minimum's residual is NaN.
 */
export function startingPoints(residuals: Float64Array): number[] {
  const last = residuals.length - 1;
  let first = -1;
  let second = -1;
  for (let q = 0; q <= last; q++) {
    if (!isLocalMinimum(residuals, q)) continue;
    const r = residuals[q];
    if (r !== r) return lowestTwo(localMinima(residuals), residuals);
    if (first < 0 || r < residuals[first]) [first, second] = [q, first];
    else if (second < 0 || r < residuals[second]) second = q;
  }
  return first < 0 ? [] : second < 0 ? [first] : [first, second];
}

/** Whether grid point q's residual is ≤ both neighbours' (an edge point: ≤ its one neighbour's). */
const isLocalMinimum = (residuals: Float64Array, q: number): boolean => (q === 0 || residuals[q] <= residuals[q - 1]) && (q === residuals.length - 1 || residuals[q] <= residuals[q + 1]);

/** The grid's local minima (isLocalMinimum), in order. */
export function localMinima(residuals: Float64Array): number[] {
  const minima: number[] = [];
  for (let q = 0; q < residuals.length; q++) if (isLocalMinimum(residuals, q)) minima.push(q);
  return minima;
}

/**
 * The first two of `minima` in a stable ascending sort by residual — the two lowest, the earlier
 * index first among equals — without sorting them all (a flat stretch of the misfit, e.g. where
 * every derivative underflows, makes hundreds of grid points "minima"). With a NaN residual the
 * comparator is no order, so the sort itself decides, as before.
 */
export function lowestTwo(minima: number[], residuals: Float64Array): number[] {
  let first = -1;
  let second = -1;
  for (const q of minima) {
    const r = residuals[q];
    if (Number.isNaN(r)) return minima.sort((a, b) => ascending(residuals[a], residuals[b])).slice(0, 2);
    if (first < 0 || r < residuals[first]) [first, second] = [q, first];
    else if (second < 0 || r < residuals[second]) second = q;
  }
  return first < 0 ? [] : second < 0 ? [first] : [first, second];
}

/**
 * Order 0 settles ambiguous signs: Θ[0, i, k] − W[i, j]·Act(u) must be the same c_i/K in every
 * column under the right hypotheses; the wrong one leaves c_i/K ± W-sized offsets. Also gives
 * every hypothesis its estimate: W[:, j] by least squares over orders 1..N, and the u-induced
 * relative error predicted from σ_u (the curvature of the fit: the part of ∂p/∂u not absorbed
 * by rescaling; d log W/du = −pq/pp).
 */
function settleSigns(setting: Setting, fits: Fits): { readonly choice: Int8Array; readonly estimates: ColumnEstimate[][] } {
  const { released, act, N, K, scratch } = setting;
  const o = released.outputDim;
  const theta = released.theta;
  const choice = new Int8Array(K); // index into hypotheses[k]
  const coefficients = new Float64Array(2 * K * (N + 1)); // views, at most two hypotheses per column
  const view = (k: number, h: number): Float64Array => coefficients.subarray((2 * k + h) * (N + 1), (2 * k + h + 1) * (N + 1));
  const estimates = fits.hypotheses.map((hs, k) => hs.map((fit, h) => columnEstimate(act, fits.profiles[k], fits.weights[k], N, fit.s, fit.u, scratch, view(k, h))));
  const ambiguous = fits.hypotheses.map((hs) => hs.length === 2);
  if (!ambiguous.some((a) => a)) return { choice, estimates };
  for (let round = 0; round < 4; round++) {
    const offsets = new Float64Array(o);
    const residuals: Array<Float64Array | undefined> = estimates.map((es, k) => {
      const e = es[choice[k]];
      return e === undefined ? undefined : orderZeroResiduals(theta, k, e.coefficient, e.act0, N, o, K, new Float64Array(o));
    });
    const column = new Float64Array(K);
    for (let i = 0; i < o; i++) {
      let count = 0;
      for (let k = 0; k < K; k++) {
        const r = residuals[k];
        if (r !== undefined) column[count++] = r[i];
      }
      offsets[i] = count === 0 ? 0 : medianOf(column.subarray(0, count));
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
  return { choice, estimates };
}

/**
 * The upper median of `values` (the element at ⌊n/2⌋ once sorted ascending), sorting in place. A
 * typed sort where every value is a number (the same value as a comparator sort gives: they can
 * differ only in the order of −0 and +0, which compare equal); with a NaN, the comparator sort, as
 * before (NaN makes the comparator no order, and the sort decides).
 */
export function medianOf(values: Float64Array): number {
  let hasNaN = false;
  for (let q = 0; q < values.length; q++) if (values[q] !== values[q]) hasNaN = true;
  if (hasNaN) return Array.from(values).sort(ascending)[Math.floor(values.length / 2)];
  return values.sort()[Math.floor(values.length / 2)];
}

/**
 * Classify: a unit is exact when its predicted error stays below ¾·tol and its scale is stable
 * (the curvature test's second opinion, for flat misfits: over every grid u whose misfit is within
 * 9 — 3σ, rescaled by the reduced χ² — of the fit's, the scale λ(u) of W must stay within ¾·tol of
 * λ(u*), e.g. the sigmoid past u ≈ 17 in f32, and the valley must be at most one unit of u wide,
 * e.g. GELU past u ≈ 15 in f32). Fits on the grid's edge never pass; units that fail go to the
 * identifiability classes (tails.ts), where order 0 joins in. Writes the first layer and its
 * biases of the exact units into `block`.
 */
function classifyUnits(setting: Setting, fits: Fits, { choice, estimates }: { readonly choice: Int8Array; readonly estimates: ColumnEstimate[][] }): Classified & { readonly block: FullBlock } {
  const { released, tol, K } = setting;
  const { inputDim: d, hiddenDim: h, outputDim: o } = released;
  const block: FullBlock = {
    kind: released.kind,
    inputDim: d,
    hiddenDim: h,
    outputDim: o,
    first: new Float64Array(released.first),
    firstBias: released.kind === 'plain' ? new Float64Array(h) : null,
    up: released.up === null ? null : new Float64Array(released.up),
    second: new Float64Array(o * h),
    secondBias: released.kind === 'plain' ? new Float64Array(o) : null,
    status: new Uint8Array(h),
    reason: new Uint8Array(h),
    unitClass: new Uint8Array(h).fill(UnitClass.flagged),
    predictedError: new Float64Array(h),
    expansionPoint: new Float64Array(h).fill(NaN),
    sign: new Int8Array(h),
  };
  const { first, firstBias, status, reason, unitClass, predictedError, expansionPoint } = block;
  const act0 = new Float64Array(K);
  const exact = new Uint8Array(K);
  const sign = new Int8Array(K);
  const u = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const j = released.expanded[k];
    const fit = fits.hypotheses[k][choice[k]];
    const e = estimates[k][choice[k]];
    if (fit === undefined || e === undefined) {
      status[j] = UnitStatus.unrecoverable;
      reason[j] = fits.failure[k] || UnrecoverableReason.notIdentifiable;
      predictedError[j] = Infinity;
      continue;
    }
    predictedError[j] = e.predicted;
    expansionPoint[j] = fit.u;
    // Flagged (never reported) unless the predicted error stays below ¾·tol.
    // (Measured: the predicted error tracks the actual worst entry of a column to within ~20 %.)
    if (!withinTolerance(e.predicted, tol) || !fit.stable) {
      status[j] = UnitStatus.unrecoverable;
      reason[j] = UnrecoverableReason.notIdentifiable;
      continue;
    }
    if (firstBias !== null) firstBias[j] = expansionBias(fit.u, fit.s, released.z0[k]);
    if (fit.s < 0) for (let c = 0; c < d; c++) first[j * d + c] = -first[j * d + c];
    act0[k] = e.act0;
    exact[k] = 1;
    sign[k] = fit.s;
    u[k] = fit.u;
    status[j] = UnitStatus.recovered;
    unitClass[j] = UnitClass.exact;
  }
  return { block, choice, estimates, exact, sign, u, act0 };
}

/**
 * Solve: W[i, j_k] = Σ_n Θ[n, i, k]·coefficient_k[n] for the exact units (one streamed pass), the
 * identifiability classes of the others with order 0 (tails.ts), c_i = Σ_k (Θ[0, i, k] −
 * W[i, j_k]·Act(u_k)) over the units whose written weights reproduce Θ[0], and the plain units as
 * released.
 */
function solveBlock(setting: Setting, fits: Fits, classified: Classified & { readonly block: FullBlock }): RecoveredBlock {
  const { released, act, dtype, tol, N, K } = setting;
  const { block, choice, estimates, exact, sign, u, act0 } = classified;
  const { hiddenDim: h, outputDim: o } = released;
  const theta = released.theta;
  const coefficients = new Float64Array((N + 1) * K);
  for (let k = 0; k < K; k++) {
    if (!exact[k]) continue;
    const e = estimates[k][choice[k]];
    for (let n = 1; n <= N; n++) coefficients[n * K + k] = e.coefficient[n];
  }
  const second = block.second;
  combineOrders(theta, coefficients, exact, released.expanded, second, N, o, K, h);
  const usedForC = Uint8Array.from(exact);
  if (setting.tails && released.outputBias === null) {
    resolveTails(
      { released, act, dtype, signs: setting.signs, tol, exact, sign, u, fitted: firstStageFits(fits, K) },
      { second, first: block.first, firstBias: block.firstBias, status: block.status, reason: block.reason, unitClass: block.unitClass, expansionPoint: block.expansionPoint, predictedError: block.predictedError, act0, usedForC },
    );
  }
  const secondBias = block.secondBias;
  if (secondBias !== null) {
    if (released.outputBias !== null) secondBias.set(released.outputBias);
    else if (K > 0) outputBiasFromShares(theta, second, act0, usedForC, released.expanded, o, h, K, secondBias);
  }
  for (let q = 0; q < released.plain.length; q++) {
    const j = released.plain[q];
    block.status[j] = UnitStatus.plain;
    block.unitClass[j] = UnitClass.plain;
    if (block.firstBias !== null && released.plainBias !== null) block.firstBias[j] = released.plainBias[q];
    for (let i = 0; i < o; i++) second[i * h + j] = released.plainSecond[i * released.plain.length + q];
  }
  // ±1 per exact unit, 0 elsewhere.
  for (let k = 0; k < K; k++) if (exact[k]) block.sign[released.expanded[k]] = sign[k];
  return block;
}

/** The fit's best u per sign (NaN where it has none): starting points for the classes step. */
function firstStageFits(fits: Fits, K: number): [Float64Array, Float64Array] {
  const out: [Float64Array, Float64Array] = [new Float64Array(K).fill(NaN), new Float64Array(K).fill(NaN)];
  for (let k = 0; k < K; k++) for (const fit of fits.hypotheses[k]) if (Number.isFinite(fit.u)) out[fit.s > 0 ? 0 : 1][k] = fit.u;
  return out;
}
