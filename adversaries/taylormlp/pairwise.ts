import type { Activation } from '../../src/numerics/activations';
import type { ReleasedBlock } from '../../schemes/taylormlp/release';
import type { StorageDType } from '../../schemes/taylormlp/storage';
import { RecoveredBlock, UnitClass, UnitStatus, UnrecoverableReason } from './recovered';
import { STORAGE_EPSILON, STORAGE_NORMAL_MIN } from './consensus';
import { orderNorms, profileDots } from '../../src/numerics/tensor/attackKernels';
import { activationDerivatives } from '../../src/numerics/tensor/derivativeKernels';

/**
 * The paper's attack (§4.2), done as the paper writes it: one equation per pair of orders a < b,
 *   a!·Θ[i,a][j] / (b!·Θ[i,b][j]) = f_{a,b}(u_j),  f_{a,b} = Act⁽ᵃ⁾/Act⁽ᵇ⁾,  u = z0 + b      (eq. 20)
 * then W_i = a!·Θ[i,a] ⊘ Act⁽ᵃ⁾(z0 + b) (eq. 16–17) and b = u − z0.
 *
 * "We have multiple such equations": for hidden unit j,
 * 1. Every row i gives the same equation; the rows are combined by least squares (the order
 *    profile g_n = ⟨Θ_n, Θ_m⟩/⟨Θ_m, Θ_m⟩, m the order of largest norm), so the ratio g_a/g_b has
 *    the storage precision's relative error divided by √(effective rows).
 * 2. ALL roots of the chosen pair's equation f_{a,b}(u) = s^{a−b}·g_a·a!/(g_b·b!) on the
 *    identifiable range [−bound, bound] are found: f_{a,b} is cut at its poles (zeros of Act⁽ᵇ⁾)
 *    and its extrema (zeros of Act⁽ᵃ⁺¹⁾Act⁽ᵇ⁾ − Act⁽ᵃ⁾Act⁽ᵇ⁺¹⁾), each located to machine precision
 *    by bisection on the true functions; on each monotone piece the equation has at most one
 *    root, found by the Illinois method on h(u) = g_a·p_b(u) − g_b·p_a(u) (p_n = Act⁽ⁿ⁾/n!; h has
 *    no poles). No table is interpolated.
 * 3. Each root (and, with random signs, each sign s: Θ[n] carries sⁿ) is checked against the
 *    further pairs (b, b+1), (b+1, b+2), …, N: the direction of (g_c, g_d) must match
 *    (s^c p_c(u), s^d p_d(u)) within the noise of the storage precision (and of u). Exactly one
 *    candidate must pass; otherwise the unit is flagged with its reason (no root, pairs disagree,
 *    several roots, sign undetermined) — never reported as recovered.
 * 4. W[:, j] from the order n ∈ {a, b, …} least sensitive to u, and the unit is flagged
 *    ill-conditioned where the chosen pair's σ_u makes the predicted error of W exceed ¾·tol
 *    (the paper's Appendix A failures: f_{a,b} flat or near a pole).
 * c_i = Σ_k (Θ[0, i, k] − W[i, j_k]·Act(u_k)) over recovered units (scaled to all K).
 */
export interface PairwiseOptions {
  /** The chosen pair (a, b), 1 ≤ a < b ≤ N. Default (1, 2). */
  readonly orders?: readonly [number, number];
  /** The identifiable range searched for roots: u ∈ [−bound, bound] (default 40). */
  readonly bound?: number;
  /** Whether the release used random signs (public, in the release's metadata). */
  readonly signs?: boolean;
  /** Storage precision of the release (default f32): sets the noise of the consistency checks. */
  readonly dtype?: StorageDType;
  /** Relative-error tolerance of "recovered" (default 1 %). */
  readonly tol?: number;
}

/** Monotone pieces of f_{a,b} on [−bound, bound]: breakpoints and p_a, p_b at each. */
interface PairPieces {
  readonly breaks: Float64Array;
  readonly pa: Float64Array;
  readonly pb: Float64Array;
}

const pieceCache = new Map<string, PairPieces>();

const factorial = (n: number): number => {
  let f = 1;
  for (let k = 2; k <= n; k++) f *= k;
  return f;
};

/** The zero of a continuous g between lo and hi (g(lo)·g(hi) ≤ 0), by bisection to machine precision. */
function bisect(g: (u: number) => number, lo: number, hi: number): number {
  let glo = g(lo);
  for (let it = 0; it < 200; it++) {
    const mid = 0.5 * (lo + hi);
    if (mid === lo || mid === hi) break;
    const gm = g(mid);
    if (gm === 0) return mid;
    if (Math.sign(gm) === Math.sign(glo)) [lo, glo] = [mid, gm];
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/**
 * The breakpoints of f_{a,b} on [−bound, bound]: zeros of Act⁽ᵇ⁾ (poles) and of the numerator of
 * f′ (extrema), located by sign changes on a scan of step 10⁻³ and bisected on the true
 * functions. (Two breakpoints closer than the scan step would be missed; f then looks
 * monotone across them, and a root lost there is reported as "no root".) Where Act⁽ᵃ⁾ and
 * Act⁽ᵇ⁾ both fall below 1e-200 in float64 (GELU beyond ≈ ±30) the range is cut.
 */
export function pairPieces(act: Activation, a: number, b: number, bound: number): PairPieces {
  const key = `${act.name}|${a}|${b}|${bound}`;
  const cached = pieceCache.get(key);
  if (cached !== undefined) return cached;
  const d = new Float64Array(b + 2);
  const pb = (u: number): number => activationDerivatives(act, u, b, d)[b];
  const slopeNumerator = (u: number): number => {
    activationDerivatives(act, u, b + 1, d);
    return d[a + 1] * d[b] - d[a] * d[b + 1];
  };
  const alive = (u: number): boolean => {
    activationDerivatives(act, u, b, d);
    return Math.max(Math.abs(d[a]), Math.abs(d[b])) > 1e-200;
  };
  let lo = -bound;
  let hi = bound;
  while (lo < hi && !alive(lo)) lo += 0.25;
  while (hi > lo && !alive(hi)) hi -= 0.25;
  const step = 1e-3;
  const count = Math.ceil((hi - lo) / step);
  const breaks: number[] = [lo];
  let prevU = lo;
  let prevPole = pb(lo);
  let prevSlope = slopeNumerator(lo);
  for (let q = 1; q <= count; q++) {
    const u = q === count ? hi : lo + q * step;
    const pole = pb(u);
    const slope = slopeNumerator(u);
    if (Math.sign(pole) !== Math.sign(prevPole) && prevPole !== 0) breaks.push(pole === 0 ? u : bisect(pb, prevU, u));
    if (Math.sign(slope) !== Math.sign(prevSlope) && prevSlope !== 0) breaks.push(slope === 0 ? u : bisect(slopeNumerator, prevU, u));
    prevU = u;
    prevPole = pole;
    prevSlope = slope;
  }
  breaks.push(hi);
  const sorted = Float64Array.from(breaks).sort();
  const pa = new Float64Array(sorted.length);
  const pbAt = new Float64Array(sorted.length);
  for (let q = 0; q < sorted.length; q++) {
    activationDerivatives(act, sorted[q], b, d);
    pa[q] = d[a] / factorial(a);
    pbAt[q] = d[b] / factorial(b);
  }
  const made = { breaks: sorted, pa, pb: pbAt };
  pieceCache.set(key, made);
  return made;
}

/**
 * The root of h on [lo, hi] (h(lo)·h(hi) ≤ 0): the Illinois variant of regula falsi, with a
 * bisection step whenever the secant point is not strictly inside or every fourth step (so the
 * bracket always shrinks), until the bracket is a few ulps wide.
 */
function illinois(h: (u: number) => number, lo: number, hi: number, hlo: number, hhi: number): number {
  if (hlo === 0) return lo;
  if (hhi === 0) return hi;
  let side = 0;
  for (let it = 0; it < 300; it++) {
    if (hi - lo <= 4e-16 * Math.max(1, Math.abs(lo), Math.abs(hi))) break;
    let u = (lo * hhi - hi * hlo) / (hhi - hlo);
    if (!(u > lo && u < hi) || it % 4 === 3) u = 0.5 * (lo + hi);
    if (u <= lo || u >= hi) break;
    const hu = h(u);
    if (hu === 0) return u;
    if (Math.sign(hu) === Math.sign(hhi)) {
      [hi, hhi] = [u, hu];
      if (side === -1) hlo /= 2;
      side = -1;
    } else {
      [lo, hlo] = [u, hu];
      if (side === 1) hhi /= 2;
      side = 1;
    }
  }
  return Math.abs(hlo) <= Math.abs(hhi) ? lo : hi;
}

/** A candidate solution for one unit: sign, expansion point, and the worst consistency ratio over the further pairs. */
interface Candidate {
  readonly s: number;
  readonly u: number;
  readonly sigmaU: number;
  readonly worst: number;
}

export function pairwiseRecoverBlock(released: ReleasedBlock, act: Activation, options: PairwiseOptions = {}): RecoveredBlock {
  const [a, b] = options.orders ?? [1, 2];
  const tol = options.tol ?? 0.01;
  const dtype = options.dtype ?? 'f32';
  const signs = options.signs === true;
  const N = released.order;
  const { inputDim: d, hiddenDim: h, outputDim: o } = released;
  const K = released.expanded.length;
  const theta = released.theta;
  const first = new Float64Array(released.first);
  const second = new Float64Array(o * h);
  const firstBias = released.kind === 'plain' ? new Float64Array(h) : null;
  const secondBias = released.kind === 'plain' ? new Float64Array(o) : null;
  const status = new Uint8Array(h);
  const reason = new Uint8Array(h);
  const unitClass = new Uint8Array(h);
  const predictedError = new Float64Array(h).fill(Infinity);
  const expansionPoint = new Float64Array(h).fill(NaN);
  const act0 = new Float64Array(K);
  const recoveredUnit = new Uint8Array(K);
  // RMS rounding error of one stored entry (half an ulp, uniform), and the float64 floor.
  const eps = Math.max(STORAGE_EPSILON[dtype], 2 ** -52) / Math.sqrt(3);
  const valid = Number.isInteger(a) && Number.isInteger(b) && a >= 1 && a < b && b <= N;
  const flag = (j: number, why: number): void => {
    status[j] = UnitStatus.unrecoverable;
    reason[j] = why;
    unitClass[j] = UnitClass.flagged;
  };
  if (!valid) {
    for (const j of released.expanded) flag(j, UnrecoverableReason.tooFewOrders);
  } else {
    const pieces = pairPieces(act, a, b, options.bound ?? 40);
    const factorials = Float64Array.from({ length: N + 2 }, (_, n) => factorial(n));
    const der = new Float64Array(N + 2);
    /** p[n] = Act⁽ⁿ⁾(u)/n!, n = 0..N+1. */
    const p = new Float64Array(N + 2);
    const at = (u: number): Float64Array => {
      activationDerivatives(act, u, N + 1, der);
      for (let n = 0; n <= N + 1; n++) p[n] = der[n] / factorials[n];
      return p;
    };
    // METER: the passes over Θ (orderNorms, profileDots) and the derivatives are metered; not yet the
    // per-unit root finding (h, angle, judge, sharpen), eq. 16's W write (out·K ×) and c's loop.
    const norms = new Float64Array((N + 1) * K);
    orderNorms(theta, norms, N, o, K);
    const reference = new Int32Array(K);
    for (let k = 0; k < K; k++) {
      let best = -1;
      for (let n = 1; n <= N; n++) if (norms[n * K + k] > best) [best, reference[k]] = [norms[n * K + k], n];
    }
    const dots = new Float64Array((N + 1) * K);
    const fourth = new Float64Array(K);
    profileDots(theta, reference, dots, fourth, N, o, K);
    const chosenOrder = new Int32Array(K);
    const chosenScale = new Float64Array(K); // n!·sⁿ/Act⁽ⁿ⁾(u): W[i, j] = Θ[n, i, k]·scale
    const g = new Float64Array(N + 1);
    const usable = new Uint8Array(N + 1);
    for (let k = 0; k < K; k++) {
      const j = released.expanded[k];
      const best = norms[reference[k] * K + k];
      if (!(best > 0)) {
        flag(j, UnrecoverableReason.zeroColumn);
        continue;
      }
      for (let n = 1; n <= N; n++) g[n] = dots[n * K + k] / best;
      // Relative noise of the profile: the entries' rounding averaged over the effective rows.
      const rho = eps / Math.sqrt(fourth[k] > 0 ? (best * best) / fourth[k] : 1) + 1e-15;
      // An order is usable when its entries are above the storage format's subnormal range (an
      // exact zero beside large orders is information: an even derivative vanishing at u).
      const largest = Math.sqrt(best / o);
      for (let n = 1; n <= N; n++) {
        const rms = Math.sqrt(norms[n * K + k] / o);
        usable[n] = rms >= STORAGE_NORMAL_MIN[dtype] * 4 || (rms === 0 && largest > STORAGE_NORMAL_MIN[dtype] * 2 ** 20) ? 1 : 0;
      }
      if (!usable[a] || !usable[b]) {
        flag(j, UnrecoverableReason.underflow);
        continue;
      }
      const candidates: Candidate[] = [];
      for (const s of signs ? [1, -1] : [1]) {
        const ga = (s < 0 && a % 2 === 1 ? -1 : 1) * g[a];
        const gb = (s < 0 && b % 2 === 1 ? -1 : 1) * g[b];
        // h(u) = ĝ_a·p_b(u) − ĝ_b·p_a(u): zero exactly where f_{a,b}(u)·(b!/a!) = ĝ_a/ĝ_b (eq. 20).
        const hAt = (u: number): number => {
          activationDerivatives(act, u, b, der);
          return (ga * der[b]) / factorials[b] - (gb * der[a]) / factorials[a];
        };
        const br = pieces.breaks;
        let hPrev = ga * pieces.pb[0] - gb * pieces.pa[0];
        for (let q = 1; q < br.length; q++) {
          const hNext = ga * pieces.pb[q] - gb * pieces.pa[q];
          if (hPrev === 0 && q > 1) {
            hPrev = hNext;
            continue; // a root exactly at a breakpoint was taken with the piece before it
          }
          if (Math.sign(hPrev) !== Math.sign(hNext) || hNext === 0 || hPrev === 0) {
            const u = illinois(hAt, br[q - 1], br[q], hPrev, hNext);
            candidates.push(judge(s, u, g, usable, rho));
          }
          hPrev = hNext;
        }
      }
      if (candidates.length === 0) {
        flag(j, UnrecoverableReason.noRoot);
        continue;
      }
      // Every pair's equation holds at the true u: a passing candidate is sharpened on the
      // best-conditioned pair near it (the chosen pair may be flat there), then judged again.
      const passing = candidates
        .filter((c) => c.worst <= 1)
        .map((c) => sharpen(c, g, usable, rho))
        .filter((c) => c.worst <= 1);
      if (passing.length === 0) {
        flag(j, UnrecoverableReason.pairsDisagree);
        continue;
      }
      if (passing.length > 1) {
        // The same root reached from two candidates (e.g. both sides of an extremum of f_{a,b}) is one.
        const distinct = passing.filter((c, q) => passing.findIndex((e) => e.s === c.s && Math.abs(e.u - c.u) <= 6 * (e.sigmaU + c.sigmaU) + 1e-9 * Math.max(1, Math.abs(c.u))) === q);
        if (distinct.length > 1) {
          flag(j, distinct.some((c) => c.s !== distinct[0].s) ? UnrecoverableReason.signAmbiguous : UnrecoverableReason.ambiguousRoot);
          continue;
        }
      }
      const chosen = passing.reduce((x, y) => (y.sigmaU < x.sigmaU ? y : x));
      // W from the order least sensitive to u (eq. 16 holds for every n), and its predicted error.
      at(chosen.u);
      let bestOrder = -1;
      let bestSensitivity = Infinity;
      for (let n = 1; n <= N; n++) {
        if (!usable[n] || p[n] === 0 || Math.abs(p[n]) < 1e-300) continue;
        const sensitivity = Math.abs(((n + 1) * p[n + 1]) / p[n]);
        if (sensitivity < bestSensitivity && norms[n * K + k] > 0) [bestSensitivity, bestOrder] = [sensitivity, n];
      }
      const predicted = bestSensitivity * chosen.sigmaU;
      predictedError[j] = predicted;
      expansionPoint[j] = chosen.u;
      if (bestOrder < 0 || !(3 * predicted + eps * Math.sqrt(3) <= 0.75 * tol)) {
        flag(j, UnrecoverableReason.illConditioned);
        continue;
      }
      chosenOrder[k] = bestOrder;
      chosenScale[k] = (chosen.s < 0 && bestOrder % 2 === 1 ? -1 : 1) / p[bestOrder];
      act0[k] = p[0];
      recoveredUnit[k] = 1;
      status[j] = UnitStatus.recovered;
      unitClass[j] = UnitClass.exact;
      if (firstBias !== null) firstBias[j] = chosen.u - chosen.s * released.z0[k];
      if (chosen.s < 0) for (let c = 0; c < d; c++) first[j * d + c] = -first[j * d + c];
    }
    // W[i, j_k] = Θ[n_k, i, k]·n_k!·s^{n_k}/Act⁽ⁿᵏ⁾(u_k) (eq. 16), streamed row by row.
    for (let i = 0; i < o; i++) {
      for (let k = 0; k < K; k++) if (recoveredUnit[k]) second[i * h + released.expanded[k]] = theta[(chosenOrder[k] * o + i) * K + k] * chosenScale[k];
    }
    if (secondBias !== null && released.outputBias === null && K > 0) {
      let used = 0;
      for (let k = 0; k < K; k++) used += recoveredUnit[k];
      for (let i = 0; i < o; i++) {
        let acc = 0;
        for (let k = 0; k < K; k++) if (recoveredUnit[k]) acc += theta[i * K + k] - second[i * h + released.expanded[k]] * act0[k];
        secondBias[i] = used === 0 ? 0 : (acc * K) / used;
      }
    }

    /** The angle between observed (sᶜg_c, sᵉg_e) and predicted (p_c(u), p_e(u)) as |sin|, and its rate of change in u (p must hold u's derivatives). */
    function angle(s: number, c: number, e: number, profile: Float64Array): { sin: number; slope: number; h: number; dh: number } {
      const oc = (s < 0 && c % 2 === 1 ? -1 : 1) * profile[c];
      const oe = (s < 0 && e % 2 === 1 ? -1 : 1) * profile[e];
      const pc = p[c];
      const pe = p[e];
      const qc = (c + 1) * p[c + 1];
      const qe = (e + 1) * p[e + 1];
      const norm = pc * pc + pe * pe;
      const h = oc * pe - oe * pc;
      return { sin: Math.abs(h) / (Math.hypot(oc, oe) * Math.sqrt(norm)), slope: norm > 0 ? Math.abs(qc * pe - pc * qe) / norm : 0, h, dh: oc * qe - oe * qc };
    }

    /**
     * A candidate (s, u), judged against the pairs' equations: `worst` is the largest ratio of
     * the angle between observed (g_c, g_d) and predicted (sᶜp_c, sᵈp_d) to its allowed noise
     * (6σ, from the profile's noise ρ and σ_u) over the chosen pair and the further pairs
     * (b, b+1), …, (N−1, N) that are usable; ≤ 1 passes. σ_u is the chosen pair's unless given.
     */
    function judge(s: number, u: number, profile: Float64Array, use: Uint8Array, rho: number, sigmaGiven?: number): Candidate {
      at(u);
      const own = angle(s, a, b, profile);
      const sigmaU = sigmaGiven ?? (own.slope > 0 ? rho / own.slope : Infinity);
      if (!Number.isFinite(own.sin)) return { s, u, sigmaU: Infinity, worst: Infinity };
      let worst = sigmaGiven === undefined ? 0 : own.sin / (6 * (rho + own.slope * sigmaU) + 1e-12);
      for (let c = b; c < N; c++) {
        if (!use[c] || !use[c + 1]) continue;
        const other = angle(s, c, c + 1, profile);
        if (!Number.isFinite(other.sin)) return { s, u, sigmaU: Infinity, worst: Infinity };
        worst = Math.max(worst, other.sin / (6 * (rho + other.slope * sigmaU) + 1e-12));
      }
      return { s, u, sigmaU, worst };
    }

    /** Newton on the best-conditioned usable pair (n, n+1), n ≥ a, within 6σ_u of the candidate; the sharpened candidate judged again. */
    function sharpen(candidate: Candidate, profile: Float64Array, use: Uint8Array, rho: number): Candidate {
      at(candidate.u);
      let bestPair = -1;
      let bestSigma = candidate.sigmaU;
      for (let n = a; n < N; n++) {
        if (!use[n] || !use[n + 1]) continue;
        const { slope } = angle(candidate.s, n, n + 1, profile);
        const sigma = slope > 0 ? rho / slope : Infinity;
        if (sigma < bestSigma) [bestSigma, bestPair] = [sigma, n];
      }
      if (bestPair < 0) return candidate;
      const window = 6 * candidate.sigmaU + 1e-9 * Math.max(1, Math.abs(candidate.u));
      let u = candidate.u;
      for (let it = 0; it < 30; it++) {
        at(u);
        const { h, dh } = angle(candidate.s, bestPair, bestPair + 1, profile);
        if (!(dh !== 0 && Number.isFinite(dh))) break;
        const next = Math.min(candidate.u + window, Math.max(candidate.u - window, u - h / dh));
        if (Math.abs(next - u) <= 1e-15 * Math.max(1, Math.abs(u))) {
          u = next;
          break;
        }
        u = next;
      }
      at(u);
      const { slope } = angle(candidate.s, bestPair, bestPair + 1, profile);
      return judge(candidate.s, u, profile, use, rho, Math.min(candidate.sigmaU, slope > 0 ? rho / slope : Infinity));
    }
  }
  if (secondBias !== null && released.outputBias !== null) secondBias.set(released.outputBias);
  for (let q = 0; q < released.plain.length; q++) {
    const j = released.plain[q];
    status[j] = UnitStatus.plain;
    unitClass[j] = UnitClass.plain;
    if (firstBias !== null && released.plainBias !== null) firstBias[j] = released.plainBias[q];
    for (let i = 0; i < o; i++) second[i * h + j] = released.plainSecond[i * released.plain.length + q];
  }
  return { kind: released.kind, inputDim: d, hiddenDim: h, outputDim: o, first, firstBias, up: released.up === null ? null : new Float64Array(released.up), second, secondBias, status, reason, unitClass, predictedError, expansionPoint };
}
