import type { Activation } from '../../src/numerics/activations';
import type { ReleasedBlock } from '../../schemes/taylormlp/release';
import type { StorageDType } from '../../schemes/taylormlp/storage';
import { UnitClass, UnitStatus, UnrecoverableReason } from './recovered';
import { weightedMisfit } from '../../src/tensor/attackKernels';
import { activationDerivatives } from '../../src/tensor/derivativeKernels';

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
const gridCache = new Map<string, { u: Float64Array; p: Float64Array; width: number }>();

function tailGrid(act: Activation, N: number) {
  const key = `${act.name}|${N}`;
  const cached = gridCache.get(key);
  if (cached !== undefined) return cached;
  const count = Math.round((2 * GRID_BOUND) / GRID_STEP) + 1;
  const width = N + 1;
  const u = new Float64Array(count);
  const p = new Float64Array(count * width);
  const d = new Float64Array(N + 1);
  for (let q = 0; q < count; q++) {
    u[q] = -GRID_BOUND + q * GRID_STEP;
    activationDerivatives(act, u[q], N, d);
    let f = 1;
    for (let n = 0; n <= N; n++) {
      if (n > 0) f *= n;
      p[q * width + n] = d[n] / f;
    }
  }
  const made = { u, p, width };
  gridCache.set(key, made);
  return made;
}

/** Misfit Σ ω_n (g_n − λ sⁿ p_n)² over orders 0..N with λ eliminated: [misfit, λ] (metered). */
const misfit = (g: Float64Array, w: Float64Array, p: Float64Array, offset: number, N: number, s: number): [number, number] => weightedMisfit(g, w, p, offset, 0, N, s < 0);

/** Resolve every expanded unit not marked exact: classify it and write its representative. */
export function resolveTails(input: TailInputs, out: TailOutputs): void {
  const { released, act, dtype, tol } = input;
  const N = released.order;
  const { inputDim: d, hiddenDim: h, outputDim: o } = released;
  const K = released.expanded.length;
  const theta = released.theta;
  const eps = Math.max(EPSILON[dtype], 2 ** -52) / Math.sqrt(3);
  // ĉ_i/K from the exact units (order 0 minus their W·Act(u)).
  // Its noise from the spread of the exact units' estimates: var(ĉ_i/K) = var_k′/count.
  const cShare = new Float64Array(o);
  const cSquares = new Float64Array(o);
  let exactCount = 0;
  for (let k = 0; k < K; k++) {
    if (!input.exact[k]) continue;
    exactCount++;
    const j = released.expanded[k];
    const a0 = act.value(input.u[k]);
    for (let i = 0; i < o; i++) {
      const v = theta[i * K + k] - out.second[i * h + j] * a0;
      cShare[i] += v;
      cSquares[i] += v * v;
    }
  }
  const cKnown = exactCount > 0 || released.kind === 'swiglu';
  let cVariance = 0; // Σ_i var(ĉ_i/K)
  const cRowVariance = new Float64Array(o);
  if (exactCount > 0) {
    for (let i = 0; i < o; i++) {
      cShare[i] /= exactCount;
      const spread = exactCount > 1 ? Math.max(0, cSquares[i] / exactCount - cShare[i] ** 2) * (exactCount / (exactCount - 1)) : cShare[i] ** 2;
      cRowVariance[i] = spread / exactCount + (eps * cShare[i]) ** 2;
      cVariance += cRowVariance[i];
    }
  }
  const grid = tailGrid(act, N);
  const pAt = new Float64Array(N + 1);
  const der = new Float64Array(N + 1);
  const at = (u: number): Float64Array => {
    activationDerivatives(act, u, N, der);
    let f = 1;
    for (let n = 0; n <= N; n++) {
      if (n > 0) f *= n;
      pAt[n] = der[n] / f;
    }
    return pAt;
  };
  const column = new Float64Array((N + 1) * o); // Θ′[n, i] of the unit
  const g = new Float64Array(N + 1);
  const w = new Float64Array(N + 1);
  const residuals = new Float64Array(grid.u.length);
  /** Golden-section minimum of the misfit for sign s on [lo, hi]; returns the best point seen. */
  function goldenSection(s: number, lo: number, hi: number): { u: number; r: number } {
    const golden = (Math.sqrt(5) - 1) / 2;
    const f = (u: number): number => misfit(g, w, at(u), 0, N, s)[0];
    let x1 = hi - golden * (hi - lo);
    let x2 = lo + golden * (hi - lo);
    let f1 = f(x1);
    let f2 = f(x2);
    for (let it = 0; it < 100 && hi - lo > 1e-13 * Math.max(1, Math.abs(lo)); it++) {
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
    return f1 < f2 ? { u: x1, r: f1 } : { u: x2, r: f2 };
  }
  for (let k = 0; k < K; k++) {
    if (input.exact[k]) continue;
    const j = released.expanded[k];
    // METER: misfits and derivatives metered (weightedMisfit, activationDerivatives); not yet the column's
    // own loops ((N+1)·out: norms, profile, rows), ĉ, the curvature and act.value.
    let raw0 = 0;
    const rawRow0 = new Float64Array(o);
    for (let i = 0; i < o; i++) rawRow0[i] = theta[i * K + k];
    for (let n = 0; n <= N; n++) {
      for (let i = 0; i < o; i++) {
        const v = theta[(n * o + i) * K + k];
        if (n === 0) raw0 += v * v;
        column[n * o + i] = n === 0 ? v - (cKnown ? cShare[i] : 0) : v;
      }
    }
    let m = 0;
    let best = -1;
    const norms = new Float64Array(N + 1);
    for (let n = 0; n <= N; n++) {
      let acc = 0;
      for (let i = 0; i < o; i++) acc += column[n * o + i] ** 2;
      norms[n] = acc;
      if (n > 0 && acc > best) [best, m] = [acc, n];
    }
    // Order 0's noise: the rounding of the stored Θ[0] (which carries c/K) and of ĉ.
    const noise0 = cKnown ? Math.sqrt((eps * eps * raw0) + cVariance) : Infinity;
    // The reference row vector t: the largest order ≥ 1 while any stands above the underflow
    // floor (they carry no c/K); order 0 only when it alone carries the unit.
    const orderAbove = (n: number): boolean => Math.sqrt(norms[n] / o) >= NORMAL_MIN[dtype] * 4;
    if (cKnown && !orderAbove(m) && Math.sqrt(norms[0]) > 6 * noise0) [best, m] = [norms[0], 0];
    const rowsEffective = (() => {
      let s2 = 0;
      let s4 = 0;
      for (let i = 0; i < o; i++) {
        const t = column[m * o + i];
        s2 += t * t;
        s4 += t * t * t * t;
      }
      return s4 > 0 ? (s2 * s2) / s4 : 1;
    })();
    const rho = eps / Math.sqrt(rowsEffective) + 1e-15;
    const tNorm = Math.sqrt(best);
    // Dead: nothing stands above its noise (orders ≥ 1 all below the smallest normal; order 0 within its rounding).
    const above0 = cKnown && Math.sqrt(norms[0]) > 6 * noise0;
    let aboveAny = above0;
    for (let n = 1; n <= N; n++) if (Math.sqrt(norms[n] / o) >= NORMAL_MIN[dtype] * 4) aboveAny = true;
    if (!(best > 0) || !aboveAny) {
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
    // The profile and its per-order noise (relative rounding; absolute floor at underflow).
    const floor = (NORMAL_MIN[dtype] * Math.sqrt(o)) / tNorm;
    for (let n = 0; n <= N; n++) {
      let dot = 0;
      for (let i = 0; i < o; i++) dot += column[n * o + i] * column[m * o + i];
      g[n] = dot / best;
      const sigma = n === 0 ? (cKnown ? noise0 / tNorm : Infinity) : Math.hypot(rho * g[n], floor);
      w[n] = Number.isFinite(sigma) && sigma > 0 ? 1 / (sigma * sigma) : 0;
    }
    let usable = 0;
    for (let n = 0; n <= N; n++) if (w[n] > 0) usable++;
    // Fit (s, u): per sign, the grid's two best local minima (and the first stage's fit, where it
    // has one) refined by golden section, and the signs compared on the refined misfits — a valley
    // narrower than the grid step (σ_u ≪ 0.25) is invisible on the grid itself.
    const perSign: Array<{ s: number; u: number; r: number; residuals: Float64Array }> = [];
    for (const s of input.signs ? [1, -1] : [1]) {
      const res = new Float64Array(grid.u.length);
      for (let q = 0; q < grid.u.length; q++) res[q] = misfit(g, w, grid.p, q * grid.width, N, s)[0];
      const minima: number[] = [];
      for (let q = 0; q < res.length; q++) if ((q === 0 || res[q] <= res[q - 1]) && (q === res.length - 1 || res[q] <= res[q + 1])) minima.push(q);
      minima.sort((x, y) => res[x] - res[y]);
      let best = { u: NaN, r: Infinity };
      const consider = (lo: number, hi: number): void => {
        const c = goldenSection(s, lo, hi);
        if (c.r < best.r) best = c;
      };
      for (const q of minima.slice(0, 2)) {
        if (res[q] < best.r) best = { u: grid.u[q], r: res[q] };
        consider(grid.u[Math.max(0, q - 1)], grid.u[Math.min(grid.u.length - 1, q + 1)]);
      }
      const hint = input.fitted?.[s > 0 ? 0 : 1][k];
      if (hint !== undefined && Number.isFinite(hint) && Math.abs(hint) < GRID_BOUND) consider(Math.max(-GRID_BOUND, hint - GRID_STEP), Math.min(GRID_BOUND, hint + GRID_STEP));
      perSign.push({ s, u: best.u, r: best.r, residuals: res });
    }
    let chosen = perSign[0];
    if (perSign.length === 2) {
      // Of two hypotheses that fit alike, the one with u ≤ 0 (see the sign note below).
      const [x, y] = perSign;
      const near = Math.abs(x.r - y.r) <= 9 * Math.max(1, Math.min(x.r, y.r) / Math.max(1, usable - 2));
      chosen = near ? (x.u <= y.u ? x : y) : x.r <= y.r ? x : y;
    }
    const fit = { s: chosen.s };
    residuals.set(chosen.residuals);
    const f = (u: number): number => misfit(g, w, at(u), 0, N, fit.s)[0];
    const uStar = chosen.u;
    const rStar = chosen.r;
    const dof = Math.max(1, usable - 2);
    const allowance = 9 * Math.max(1, rStar / dof);
    // Sign: the other sign must fit clearly worse, or the unit is ambiguous. Where both fit, the
    // unit can still be a product-only one: for the sigmoid, (s, u ≪ 0) and (−s, −u) give the same
    // orders ≥ 1, and order 0 is buried under c/K's rounding; the two differ by a constant that c
    // absorbs, so the negative-u hypothesis (no huge constant) is written — if it is product-only.
    const other = perSign.find((x) => x.s !== fit.s);
    const signAmbiguous = other !== undefined && other.r <= rStar + allowance;
    // U: the grid points (and u*) within the allowance; λ across U.
    const lambdaStar = misfit(g, w, at(uStar), 0, N, fit.s)[1];
    let uLo = uStar;
    let uHi = uStar;
    let wSpread = 0;
    for (let q = 0; q < grid.u.length; q++) {
      if (!(residuals[q] <= rStar + allowance)) continue;
      uLo = Math.min(uLo, grid.u[q]);
      uHi = Math.max(uHi, grid.u[q]);
      const lambda = misfit(g, w, grid.p, q * grid.width, N, fit.s)[1];
      wSpread = Math.max(wSpread, Math.abs(lambda / lambdaStar - 1));
    }
    // σ_u from the misfit's curvature at u* (central second difference).
    const step = 1e-4 * Math.max(1, Math.abs(uStar));
    const curvature = (f(uStar + step) - 2 * f(uStar) + f(uStar - step)) / (step * step);
    const sigmaU = curvature > 0 ? Math.sqrt(2 / curvature) : Infinity;
    // The valley may be narrower than the grid: λ at u* ± 3σ_u too.
    // (σ_u wider than the grid: a flat valley, whose λ the grid has already measured.)
    if (3 * sigmaU <= GRID_STEP) {
      for (const side of [-1, 1]) {
        const u = Math.min(GRID_BOUND, Math.max(-GRID_BOUND, uStar + side * 3 * sigmaU));
        wSpread = Math.max(wSpread, Math.abs(misfit(g, w, at(u), 0, N, fit.s)[1] / lambdaStar - 1));
      }
    }
    // Entry by entry, W[i, j] = λ·t_i carries t_i's own noise: its rounding (and ĉ's, for order 0).
    let entryNoise = 0;
    for (let i = 0; i < o; i++) {
      const t = column[m * o + i];
      const noise = m === 0 ? Math.sqrt((eps * rawRow0[i]) ** 2 + cRowVariance[i]) : eps * Math.abs(t);
      entryNoise = Math.max(entryNoise, t === 0 ? (noise === 0 ? 0 : Infinity) : noise / Math.abs(t));
    }
    const wDetermined = Number.isFinite(lambdaStar) && lambdaStar !== 0 && wSpread + 3 * entryNoise <= 0.75 * tol;
    const bDetermined = 3 * sigmaU <= 0.01 * Math.max(1, Math.abs(uStar)) && uHi - uLo <= 1;
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
      const lambdaOther = misfit(g, w, at(other!.u), 0, N, other!.s)[1];
      const sameW = Math.abs(lambdaOther / lambdaStar - 1) <= 0.75 * tol;
      const uBound = uHi - uLo > 1 ? uLo : uStar;
      const saturated = act.value(uBound - SIGN_RADIUS) === act.value(uBound + SIGN_RADIUS);
      if (!(sameW && saturated)) cls = act.name === 'sigmoid' && cKnown ? UnitClass.functionOnly : UnitClass.flagged;
    }
    // W-only: b at its bound (min U). Product-only: the least extreme u the data allow (max U for
    // the negative tail), so the rescaled W stays as small as the release permits.
    // (A valley within one unit of u is the fit's own uncertainty, not a tail: written at u*.)
    const flat = uHi - uLo > 1;
    const uWritten = flat && cls === UnitClass.wOnly ? uLo : flat && cls === UnitClass.productOnly && uStar < 0 ? uHi : uStar;
    // W[:, j] = λ(u)·t (the profile's scale at the written u, times the reference row vector).
    const lambda = misfit(g, w, at(uWritten), 0, N, fit.s)[1];
    for (let i = 0; i < o; i++) out.second[i * h + j] = lambda * column[m * o + i];
    if (out.firstBias !== null) out.firstBias[j] = uWritten - fit.s * released.z0[k];
    if (fit.s < 0) for (let c = 0; c < d; c++) out.first[j * d + c] = -out.first[j * d + c];
    out.expansionPoint[j] = uWritten;
    out.predictedError[j] = wSpread;
    out.act0[k] = at(uWritten)[0];
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
