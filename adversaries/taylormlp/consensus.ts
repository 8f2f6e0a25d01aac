import type { Activation } from '../../src/numerics/activations';
import { combineOrders, orderNorms, profileDots, weightedMisfit } from '../../src/tensor/attackKernels';
import { activationDerivatives } from '../../src/tensor/derivativeKernels';
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

interface Grid {
  readonly u: Float64Array;
  /** p[g·N1 + n] = Act⁽ⁿ⁾(u_g)/n!, n = 0..N+1 */
  readonly p: Float64Array;
  readonly width: number;
}

const gridCache = new Map<string, Grid>();

function grid(act: Activation, N: number, bound: number, step: number): Grid {
  const key = `${act.name}|${N}|${bound}|${step}`;
  const cached = gridCache.get(key);
  if (cached !== undefined) return cached;
  const count = Math.round((2 * bound) / step) + 1;
  const width = N + 2;
  const u = new Float64Array(count);
  const p = new Float64Array(count * width);
  const d = new Float64Array(width);
  for (let g = 0; g < count; g++) {
    u[g] = -bound + g * step;
    activationDerivatives(act, u[g], N + 1, d);
    let fact = 1;
    for (let n = 0; n < width; n++) {
      if (n > 0) fact *= n;
      p[g * width + n] = d[n] / fact;
    }
  }
  const made = { u, p, width };
  gridCache.set(key, made);
  return made;
}

/** Misfit of profile g (orders 1..N, weights ω) against λ·sⁿp_n at one point, λ eliminated: [residual, λ] (metered). */
const misfit = (g: Float64Array, w: Float64Array, p: Float64Array, offset: number, N: number, s: number): [number, number] => weightedMisfit(g, w, p, offset, 1, N, s < 0);

/** A fitted hypothesis for one column: sign, expansion point, misfit. */
interface Fit {
  readonly s: number;
  readonly u: number;
  readonly r: number;
}

/** For hypothesis (s, u): W[i, j] = Σ_n Θ[n, i, k]·coefficient[n], Act(u), and the predicted relative error (from σ_u). */
interface ColumnEstimate {
  readonly coefficient: Float64Array;
  readonly act0: number;
  readonly predicted: number;
}

// METER: metered — the streaming passes over Θ (orderNorms, profileDots, combineOrders), every misfit
// (weightedMisfit) and every derivative (activationDerivatives). Not yet: refine's variable-projection
// Jacobian loop, estimate(), pass 2's order-0 sign vote, the grid's ÷ n!, and c's loop (O(K·(N + out))
// per block, against the passes' O(N·out·K)); until they are, the adversary is not markAudited.
export function consensusRecoverBlock(released: ReleasedBlock, act: Activation, dtype: StorageDType, options: ConsensusOptions = {}): RecoveredBlock {
  const tol = options.tol ?? 0.01;
  const N = released.order;
  const { inputDim: d, hiddenDim: h, outputDim: o } = released;
  const K = released.expanded.length;
  // RMS rounding error of the storage format (half an ulp, uniformly distributed).
  const eps = Math.max(STORAGE_EPSILON[dtype], 2 ** -52) / Math.sqrt(3);
  const table = grid(act, N, options.bound ?? 40, options.step ?? 0.25);
  const width = table.width;
  const theta = released.theta;
  const factorials = new Float64Array(N + 2);
  factorials[0] = 1;
  for (let n = 1; n <= N + 1; n++) factorials[n] = factorials[n - 1] * n;
  const d0 = new Float64Array(N + 2);
  const p = new Float64Array(N + 2);
  const at = (x: number): Float64Array => {
    activationDerivatives(act, x, N + 1, d0);
    for (let n = 0; n <= N + 1; n++) p[n] = d0[n] / factorials[n];
    return p;
  };

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
    const g = new Float64Array(N + 1);
    for (let n = 1; n <= N; n++) g[n] = dots[n * K + k] / best;
    let gmax = 0;
    for (let n = 1; n <= N; n++) gmax = Math.max(gmax, Math.abs(g[n]));
    // The profile averages the rows' rounding errors: its relative noise is ε/√(effective rows).
    const noise = eps / Math.sqrt(fourth[k] > 0 ? (best * best) / fourth[k] : 1);
    const floor = gmax * noise * 4;
    const w = new Float64Array(N + 1);
    // An order whose entries are (near-)subnormal in the storage format carries no relative
    // precision (e.g. Θ underflowing in f16 in an activation's tail): it gets no weight.
    let usable = 0;
    const largest = Math.sqrt(best / o);
    for (let n = 1; n <= N; n++) {
      const rms = Math.sqrt(norms[n * K + k] / o);
      // An exact zero next to large orders is information (an even derivative vanishing at u = 0),
      // not underflow; a value in the subnormal range is not.
      const exactZero = rms === 0 && largest > STORAGE_NORMAL_MIN[dtype] * 2 ** 20;
      if (!exactZero && rms < STORAGE_NORMAL_MIN[dtype] * 4) continue;
      w[n] = 1 / ((g[n] * noise) ** 2 + floor * floor);
      usable++;
    }
    if (usable < 2) {
      failure[k] = UnrecoverableReason.underflow; // u cannot be separated from the scale
      continue;
    }
    profiles[k] = g;
    weights[k] = w;
    for (const s of options.signs === true ? [1, -1] : [1]) {
      residuals.fill(0);
      for (let q = 0; q < table.u.length; q++) residuals[q] = misfit(g, w, table.p, q * width, N, s)[0];
      const minima: number[] = [];
      for (let q = 0; q < residuals.length; q++) {
        if ((q === 0 || residuals[q] <= residuals[q - 1]) && (q === residuals.length - 1 || residuals[q] <= residuals[q + 1])) minima.push(q);
      }
      minima.sort((a, b) => residuals[a] - residuals[b]);
      let bestFit: Fit = { s, u: NaN, r: Infinity };
      for (const q of minima.slice(0, 2)) {
        const refined = refine(table.u[q], s, g, w);
        if (refined.r < bestFit.r) bestFit = refined;
      }
      hypotheses[k].push(bestFit);
    }
    hypotheses[k].sort((a, b) => a.r - b.r);
    // Keep the runner-up only where the orders ≥ 1 cannot rule it out.
    if (hypotheses[k].length === 2 && !(hypotheses[k][1].r < Math.max(hypotheses[k][0].r * 100, N * 100))) hypotheses[k].pop();
  }

  /** Damped variable-projection Gauss–Newton on u from u0 for sign s. */
  function refine(u0: number, s: number, g: Float64Array, w: Float64Array): Fit {
    let u = u0;
    let current = misfit(g, w, at(u), 0, N, s)[0];
    for (let iteration = 0; iteration < 40; iteration++) {
      at(u);
      const [, lambda] = misfit(g, w, p, 0, N, s);
      // λ is re-optimised at every u, so the Jacobian is the part of λ·∂(sⁿp_n)/∂u orthogonal
      // (in the ω inner product) to sⁿp_n itself (Kaufman's variable projection).
      let pq = 0;
      let pp = 0;
      for (let n = 1; n <= N; n++) {
        pq += w[n] * p[n] * (n + 1) * p[n + 1];
        pp += w[n] * p[n] * p[n];
      }
      const along = pp > 0 ? pq / pp : 0;
      let jr = 0;
      let jj = 0;
      for (let n = 1; n <= N; n++) {
        const sign = s < 0 && n % 2 === 1 ? -1 : 1;
        const r = g[n] - lambda * sign * p[n];
        const jn = lambda * sign * ((n + 1) * p[n + 1] - along * p[n]);
        jr += w[n] * jn * r;
        jj += w[n] * jn * jn;
      }
      if (!(jj > 0)) break;
      let step = jr / jj;
      if (Math.abs(step) < 1e-12 * Math.max(1, Math.abs(u))) break; // converged: u to ~1e-12
      if (Math.abs(step) > 0.5) step = 0.5 * Math.sign(step);
      let accepted = false;
      for (let halving = 0; halving < 20; halving++) {
        const candidate = misfit(g, w, at(u + step), 0, N, s)[0];
        if (candidate < current) {
          u += step;
          current = candidate;
          accepted = true;
          break;
        }
        step /= 2;
      }
      if (!accepted || Math.abs(step) < 1e-14 * Math.max(1, Math.abs(u))) break;
    }
    return { s, u, r: current };
  }

  /** W[:, j] by least squares over orders 1..N, and the u-induced relative error predicted from σ_u. */
  function estimate(k: number, fit: Fit): ColumnEstimate {
    const g = profiles[k];
    const w = weights[k];
    at(fit.u);
    const [, lambda] = misfit(g, w, p, 0, N, fit.s);
    let pp = 0;
    let pq = 0;
    let qq = 0;
    let plainPP = 0;
    for (let n = 1; n <= N; n++) {
      const qn = (n + 1) * p[n + 1];
      pp += w[n] * p[n] * p[n];
      pq += w[n] * p[n] * qn;
      qq += w[n] * qn * qn;
      if (w[n] > 0) plainPP += p[n] * p[n];
    }
    // σ_u from the curvature of the fit (the part of ∂p/∂u not absorbed by rescaling), and
    // d log W/du = −pq/pp: the relative error that the uncertainty in u puts on W.
    const curvature = lambda * lambda * (qq - (pq * pq) / pp);
    const sigmaU = curvature > 0 ? 1 / Math.sqrt(curvature) : Infinity;
    const predicted = Math.abs(pq / pp) * sigmaU;
    const coefficient = new Float64Array(N + 1);
    for (let n = 1; n <= N; n++) coefficient[n] = w[n] > 0 ? ((fit.s < 0 && n % 2 === 1 ? -1 : 1) * p[n]) / plainPP : 0;
    return { coefficient, act0: p[0], predicted: Number.isFinite(fit.u) && !Number.isNaN(predicted) ? predicted : Infinity };
  }

  // Pass 2: order 0 settles ambiguous signs. Θ[0, i, k] − W[i, j]·Act(u) must be the same c_i/K in
  // every column under the right hypotheses; the wrong one leaves c_i/K ± W-sized offsets.
  const columnValue = (k: number, e: ColumnEstimate, i: number): number => {
    let acc = 0;
    for (let n = 1; n <= N; n++) acc += theta[(n * o + i) * K + k] * e.coefficient[n];
    return acc;
  };
  const choice = new Int8Array(K); // index into hypotheses[k]
  const estimates: Array<ColumnEstimate[]> = hypotheses.map((hs, k) => hs.map((fit) => estimate(k, fit)));
  const ambiguous = hypotheses.map((hs) => hs.length === 2);
  if (ambiguous.some((a) => a)) {
    for (let round = 0; round < 4; round++) {
      const offsets = new Float64Array(o);
      for (let i = 0; i < o; i++) {
        const values: number[] = [];
        for (let k = 0; k < K; k++) {
          const e = estimates[k][choice[k]];
          if (e !== undefined) values.push(theta[i * K + k] - columnValue(k, e, i) * e.act0);
        }
        values.sort((a, b) => a - b);
        offsets[i] = values.length === 0 ? 0 : values[Math.floor(values.length / 2)];
      }
      let changed = false;
      for (let k = 0; k < K; k++) {
        if (!ambiguous[k]) continue;
        const distance = (e: ColumnEstimate): number => {
          let acc = 0;
          for (let i = 0; i < o; i++) acc += (theta[i * K + k] - columnValue(k, e, i) * e.act0 - offsets[i]) ** 2;
          return acc;
        };
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
  function scaleStable(k: number, fit: Fit): boolean {
    const g = profiles[k];
    const w = weights[k];
    if (!(Math.abs(fit.u) < table.u[table.u.length - 1] - (options.step ?? 0.25))) return false;
    const [rStar, lambdaStar] = misfit(g, w, at(fit.u), 0, N, fit.s);
    let usable = 0;
    for (let n = 1; n <= N; n++) if (w[n] > 0) usable++;
    const allowance = 9 * Math.max(1, rStar / Math.max(1, usable - 2));
    let lo = fit.u;
    let hi = fit.u;
    for (let q = 0; q < table.u.length; q++) {
      const [r, lambda] = misfit(g, w, table.p, q * width, N, fit.s);
      if (!(r <= rStar + allowance)) continue;
      if (!(Math.abs(lambda / lambdaStar - 1) <= 0.75 * tol)) return false;
      lo = Math.min(lo, table.u[q]);
      hi = Math.max(hi, table.u[q]);
    }
    // u (so b) must be determined too: the consistent valley at most one unit wide.
    return hi - lo <= 1;
  }

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
    if (!(e.predicted <= 0.75 * tol) || !scaleStable(k, fit)) {
      status[j] = UnitStatus.unrecoverable;
      reason[j] = UnrecoverableReason.notIdentifiable;
      continue;
    }
    if (firstBias !== null) firstBias[j] = fit.u - fit.s * released.z0[k];
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
    else if (K > 0) {
      let used = 0;
      for (let k = 0; k < K; k++) if (usedForC[k]) used++;
      for (let i = 0; i < o; i++) {
        let acc = 0;
        for (let k = 0; k < K; k++) if (usedForC[k]) acc += theta[i * K + k] - second[i * h + released.expanded[k]] * act0[k];
        secondBias[i] = used === 0 ? 0 : (acc * K) / used;
      }
    }
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
  };
}
