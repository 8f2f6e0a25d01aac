import type { Activation } from '../../src/numerics/activations';
import type { ReleasedBlock } from '../../schemes/taylormlp/release';
import type { StorageDType } from '../../schemes/taylormlp/storage';
import { UnitClass, UnitStatus, UnrecoverableReason } from './recovered';
import { weightedMisfit } from '../../src/numerics/tensor/attackKernels';
import { DerivativeGrid, derivativeGrid } from '../../src/numerics/tensor/derivativeKernels';
import { ascending, expansionBias, roundingNoise } from '../../src/numerics/tensor/consensusKernels';
import { clippedBracket, fitsAlike, goldenSection, orderZeroShare, signAmbiguity, tailProfile, tailValley, writeTailRepresentative } from '../../src/numerics/tensor/tailKernels';

/** Storage constants (unit roundoff, smallest normal) — the same as the consensus attack's. */
const EPSILON: Record<StorageDType, number> = { f64: 2 ** -53, f32: 2 ** -24, bf16: 2 ** -8, f16: 2 ** -11 };
const NORMAL_MIN: Record<StorageDType, number> = { f64: 2 ** -1022, f32: 2 ** -126, bf16: 2 ** -126, f16: 2 ** -14 };

/**
 * Identifiability classes of the units a fit on orders 1..N could not identify, and a
 * representative of each class (weights giving the same release, hence the same block function
 * near z0, at the storage precision).
 *
 * For expanded unit k (hidden unit j), order 0 carries the unit too once c is known:
 *   Θ′[0, i, k] = Θ[0, i, k] − ĉ_i/K = W[i, j]·Act(u),   Θ[n, i, k] = sⁿ·W[i, j]·Act⁽ⁿ⁾(u)/n!,
 * with ĉ_i/K = Θ[0, i, k′] − W[i, j′]·Act(u_k′) averaged over the exact units k′. The profile
 * g_n = ⟨Θ′_n, t⟩/⟨t, t⟩ (t the row vector of the largest order, n = 0..N) is fitted by
 * λ·sⁿ·p_n(u), p_n = Act⁽ⁿ⁾/n!, with each order's noise: its relative rounding (ε/√rows) and an
 * absolute floor where the storage format underflows (an order stored as 0 says |W·p_n(u)| is
 * below the smallest normal — information, not nothing). The set U of u whose misfit is within
 * 9 (3σ, rescaled by the reduced χ²) of the best then decides:
 * - dead: no order stands above its noise — the unit has no effect at the storage precision.
 * - exact: U is narrow (3σ_u ≤ 1 % of max(1, |u|) and U within one unit): W and b determined.
 * - W-only: W = λ(u)·t varies by < ¾·tol across U but u does not (saturation, e.g. σ(u) = 1):
 *   W determined, b only bounded below; b written at the bound min U (the saturation threshold).
 * - product-only: W varies across U (far negative tail: only W·Act⁽ⁿ⁾(u) is determined): written
 *   at the least extreme u of U (max U in the negative tail) with W = λ(u)·t, which reproduces
 *   every order of Θ within its noise.
 * Without an exact unit in the block, ĉ is unknown: order 0 cannot be used, and W-only/exact
 * results that would need it become product-only (only W·Act(u) + c_i/K is determined).
 */
export interface TailInputs {
  readonly released: ReleasedBlock;
  readonly act: Activation;
  readonly dtype: StorageDType;
  readonly signs: boolean;
  readonly tol: number;
  /** Per expanded unit: 1 where the fit on orders 1..N identified it. */
  readonly exact: Uint8Array;
  /** Per expanded unit: its sign and expansion point where exact. */
  readonly sign: Int8Array;
  readonly u: Float64Array;
  /** Per expanded unit, the first stage's best u for sign +1 ([0]) and −1 ([1]) (NaN where it has none): extra starting points. */
  readonly fitted?: readonly [Float64Array, Float64Array];
}

/** What tails writes per unit it resolves. */
export interface TailOutputs {
  readonly second: Float64Array;
  readonly first: Float64Array;
  readonly firstBias: Float64Array | null;
  readonly status: Uint8Array;
  readonly reason: Uint8Array;
  readonly unitClass: Uint8Array;
  readonly expansionPoint: Float64Array;
  readonly predictedError: Float64Array;
  /** Per expanded unit: Act(u) of the written representative (for c). */
  readonly act0: Float64Array;
  /** Per expanded unit: 1 where the unit's written weights may be used to recover c. */
  readonly usedForC: Uint8Array;
}

const GRID_BOUND = 150;
/** |δ| over which a saturated unit's two signs must give the same Act(u ± δ) in float64 (inputs far past the calibration range included). */
const SIGN_RADIUS = 8;
const GRID_STEP = 0.25;
/** Misfit Σ ω_n (g_n − λ sⁿ p_n)² over orders 0..N with λ eliminated: [misfit, λ] (metered). */
const misfit = (g: Float64Array, w: Float64Array, p: Float64Array, offset: number, N: number, s: number): [number, number] => weightedMisfit(g, w, p, offset, 0, N, s < 0);

/** Resolve every expanded unit not marked exact: classify it and write its representative. */
export function resolveTails(input: TailInputs, out: TailOutputs): void {
  const { released, act, dtype, tol } = input;
  const N = released.order;
  const { inputDim: d, hiddenDim: h, outputDim: o } = released;
  const K = released.expanded.length;
  const theta = released.theta;
  const eps = roundingNoise(EPSILON[dtype]);
  // ĉ_i/K from the exact units (order 0 minus their W·Act(u)); its noise from the spread of the
  // exact units' estimates: var(ĉ_i/K) = var_k′/count.
  const cStats = orderZeroShare(act, theta, out.second, input.exact, input.u, released.expanded, o, h, K, eps);
  const cKnown = cStats.exactCount > 0 || released.kind === 'swiglu';
  // The grid is built (and paid for) only when some unit needs it.
  let table: DerivativeGrid | null = null;
  const pAt = new Float64Array(N + 1);
  const column = new Float64Array((N + 1) * o); // Θ′[n, i] of the unit
  const rawRow0 = new Float64Array(o);
  const g = new Float64Array(N + 1);
  const w = new Float64Array(N + 1);
  for (let k = 0; k < K; k++) {
    if (input.exact[k]) continue;
    const j = released.expanded[k];
    const profile = tailProfile(theta, k, cStats, cKnown, eps, NORMAL_MIN[dtype], N, o, K, column, rawRow0, g, w);
    const m = profile.m;
    const usable = profile.usable;
    // Dead: nothing stands above its noise (orders ≥ 1 all below the smallest normal; order 0 within its rounding).
    if (!profile.aboveAny) {
      for (let i = 0; i < o; i++) out.second[i * h + j] = 0;
      if (out.firstBias !== null) out.firstBias[j] = 0;
      out.status[j] = UnitStatus.unrecoverable;
      out.reason[j] = UnrecoverableReason.dead;
      out.unitClass[j] = UnitClass.dead;
      out.predictedError[j] = Infinity;
      out.act0[k] = 0;
      out.usedForC[k] = 1; // W = 0: its Θ[0] is c_i/K alone
      continue;
    }
    const grid = table ?? (table = derivativeGrid(act, GRID_BOUND, GRID_STEP, N));
    // Fit (s, u): per sign, the grid's two best local minima (and the first stage's fit, where it
    // has one) refined by golden section, and the signs compared on the refined misfits — a valley
    // narrower than the grid step (σ_u ≪ 0.25) is invisible on the grid itself.
    const perSign: Array<{ s: number; u: number; r: number; residuals: Float64Array }> = [];
    for (const s of input.signs ? [1, -1] : [1]) {
      const res = new Float64Array(grid.u.length);
      for (let q = 0; q < grid.u.length; q++) res[q] = misfit(g, w, grid.p, q * grid.width, N, s)[0];
      const minima: number[] = [];
      for (let q = 0; q < res.length; q++) if ((q === 0 || res[q] <= res[q - 1]) && (q === res.length - 1 || res[q] <= res[q + 1])) minima.push(q);
      minima.sort((x, y) => ascending(res[x], res[y]));
      let best = { u: NaN, r: Infinity };
      const consider = (lo: number, hi: number): void => {
        const c = goldenSection(act, g, w, N, s, lo, hi, pAt);
        if (c.r < best.r) best = c;
      };
      for (const q of minima.slice(0, 2)) {
        if (res[q] < best.r) best = { u: grid.u[q], r: res[q] };
        consider(grid.u[Math.max(0, q - 1)], grid.u[Math.min(grid.u.length - 1, q + 1)]);
      }
      const hint = input.fitted?.[s > 0 ? 0 : 1][k];
      if (hint !== undefined && Number.isFinite(hint) && Math.abs(hint) < GRID_BOUND) consider(...clippedBracket(hint, GRID_STEP, GRID_BOUND));
      perSign.push({ s, u: best.u, r: best.r, residuals: res });
    }
    let chosen = perSign[0];
    if (perSign.length === 2) {
      // Of two hypotheses that fit alike, the one with u ≤ 0 (see the sign note below).
      const [x, y] = perSign;
      const near = fitsAlike(x.r, y.r, usable);
      chosen = near ? (x.u <= y.u ? x : y) : x.r <= y.r ? x : y;
    }
    const fit = { s: chosen.s };
    const uStar = chosen.u;
    // Sign: the other sign must fit clearly worse, or the unit is ambiguous. Where both fit, the
    // unit can still be a product-only one: for the sigmoid, (s, u ≪ 0) and (−s, −u) give the same
    // orders ≥ 1, and order 0 is buried under c/K's rounding; the two differ by a constant that c
    // absorbs, so the negative-u hypothesis (no huge constant) is written — if it is product-only.
    const other = perSign.find((x) => x.s !== fit.s);
    // U: the grid points (and u*) within the allowance (3σ, rescaled by the reduced χ²); λ across U;
    // σ_u from the misfit's curvature at u*, and λ at u* ± 3σ_u where the valley is narrower than
    // the grid; W[i, j] = λ·t_i entry by entry carries t_i's own noise (its rounding, and ĉ's for order 0).
    const valley = tailValley(act, g, w, grid, GRID_STEP, GRID_BOUND, N, fit.s, uStar, chosen.r, usable, other === undefined ? null : other.r, chosen.residuals, column, m, rawRow0, cStats.rowVariance, eps, tol, o, pAt);
    const { signAmbiguous, lambdaStar, uLo, uHi, wSpread, wDetermined, bDetermined } = valley;
    let cls: number = !wDetermined ? UnitClass.productOnly : bDetermined ? UnitClass.exact : UnitClass.wOnly;
    if (!cKnown && cls !== UnitClass.productOnly && w[0] === 0 && usable < 2) cls = UnitClass.productOnly;
    if (!cKnown && cls === UnitClass.wOnly) cls = UnitClass.productOnly;
    // Sign undetermined by the release (both signs fit within the allowance). The unit is never
    // written as 0: a representative of the better-fitting hypothesis is written, and its class
    // says what is determined across both hypotheses.
    // - Product-only with u* ≤ 0 (the sign note above): c absorbs the difference.
    // - The same W under both signs, at a saturated u (orders ≥ 1 underflow, only order 0 =
    //   W·Act(u) + c/K carries the unit): Act(u ± δ) = Act(u), the sign of δ is irrelevant
    //   (checked in float64 over |δ| ≤ SIGN_RADIUS at the written u); the class stands.
    // - Otherwise, for the sigmoid, (s, u, W, c) and (−s, −u, −W, c + W) give the same release at
    //   every order and the same block function (σ(x) + σ(−x) = 1): only the function is
    //   determined (class function-only), c absorbing −W·σ(−u) through the written Act(u).
    // - Otherwise (SiLU, GELU: Act(x) − Act(−x) = x, the signs give functions that differ by W·δ)
    //   the unit stays flagged, the better fit written.
    if (signAmbiguous && !(cls === UnitClass.productOnly && uStar <= 0)) {
      const uBound = valley.span > 1 ? uLo : uStar;
      const { sameW, saturated } = signAmbiguity(act, g, w, N, other!.s, other!.u, lambdaStar, uBound, SIGN_RADIUS, tol, pAt);
      if (!(sameW && saturated)) cls = act.name === 'sigmoid' && cKnown ? UnitClass.functionOnly : UnitClass.flagged;
    }
    // W-only: b at its bound (min U). Product-only: the least extreme u the data allow (max U for
    // the negative tail), so the rescaled W stays as small as the release permits.
    // (A valley within one unit of u is the fit's own uncertainty, not a tail: written at u*.)
    const flat = valley.span > 1;
    const uWritten = flat && cls === UnitClass.wOnly ? uLo : flat && cls === UnitClass.productOnly && uStar < 0 ? uHi : uStar;
    // W[:, j] = λ(u)·t (the profile's scale at the written u, times the reference row vector).
    const act0 = writeTailRepresentative(act, g, w, N, fit.s, uWritten, column, m, o, h, j, out.second, pAt);
    if (out.firstBias !== null) out.firstBias[j] = expansionBias(uWritten, fit.s, released.z0[k]);
    if (fit.s < 0) for (let c = 0; c < d; c++) out.first[j * d + c] = -out.first[j * d + c];
    out.expansionPoint[j] = uWritten;
    out.predictedError[j] = wSpread;
    out.act0[k] = act0;
    out.usedForC[k] = cKnown ? 1 : 0;
    out.unitClass[j] = cls;
    if (cls === UnitClass.productOnly) {
      out.status[j] = UnitStatus.unrecoverable;
      out.reason[j] = UnrecoverableReason.productOnly;
    } else if (cls === UnitClass.functionOnly || cls === UnitClass.flagged) {
      out.status[j] = UnitStatus.unrecoverable;
      out.reason[j] = UnrecoverableReason.signAmbiguous;
    } else {
      out.status[j] = UnitStatus.recovered;
      out.reason[j] = UnrecoverableReason.none;
    }
  }
}
