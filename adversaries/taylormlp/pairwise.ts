import type { Activation } from '../../src/numerics/activations';
import { chargeFlops } from '../../src/cost/meter';
import type { ReleasedBlock } from '../../schemes/taylormlp/release';
import { RecoveredBlock, UnitStatus } from './recovered';

/**
 * The paper's attack (§4.2), faithfully: for every entry (i, k) the ratio of two orders a < b,
 *   a!·Θ[a, i, k] / (b!·Θ[b, i, k]) = f_{a,b}(u) = Act⁽ᵃ⁾(u)/Act⁽ᵇ⁾(u)        (eq. 20)
 * is inverted numerically, then W[i, j] = a!·Θ[a, i, k]/Act⁽ᵃ⁾(u) (eq. 16) and b_j = u − z0_j.
 *
 * Inversion: f_{a,b} is tabulated on [−12, 12] by default (step 0.005; beyond it the ratios of
 * far-tail derivatives are numerically meaningless) and split into monotone pieces;
 * each piece is searched by bisection, and among the roots the one nearest 0 is taken (expansion
 * points of trained models cluster around 0), then polished by two Newton steps with
 * f′ = (Act⁽ᵃ⁺¹⁾Act⁽ᵇ⁾ − Act⁽ᵃ⁾Act⁽ᵇ⁺¹⁾)/Act⁽ᵇ⁾². Each entry gets its own u, so the attack
 * inherits f's ill-conditioning where Act⁽ᵇ⁾ is near a zero or f is flat (Appendix A): those
 * entries come out wrong, as in the paper's Table 1. It assumes no random signs (the paper's
 * setting); b_j is the median of its column's u − z0.
 */
export interface PairwiseOptions {
  readonly orders?: readonly [number, number];
  readonly bound?: number;
}

interface Piece {
  readonly from: number;
  readonly to: number;
  readonly increasing: boolean;
}

const tables = new Map<string, { u: Float64Array; f: Float64Array; pieces: Piece[] }>();

function ratioTable(act: Activation, a: number, b: number, bound: number) {
  const key = `${act.name}|${a}|${b}|${bound}`;
  const cached = tables.get(key);
  if (cached !== undefined) return cached;
  const step = 0.005;
  const count = Math.round((2 * bound) / step) + 1;
  const u = new Float64Array(count);
  const f = new Float64Array(count);
  const d = new Float64Array(b + 1);
  for (let q = 0; q < count; q++) {
    u[q] = -bound + q * step;
    act.derivatives(u[q], b, d);
    f[q] = d[a] / d[b];
  }
  const pieces: Piece[] = [];
  let start = 0;
  for (let q = 1; q < count; q++) {
    const finite = Number.isFinite(f[q]) && Number.isFinite(f[q - 1]);
    const direction = f[q] > f[q - 1];
    const previous = q - 1 > start ? f[q - 1] > f[q - 2] : direction;
    if (!finite || direction !== previous || Math.sign(d[b]) === 0) {
      if (q - 1 > start) pieces.push({ from: start, to: q - 1, increasing: f[q - 1] > f[start] });
      start = q - 1;
    }
  }
  if (count - 1 > start) pieces.push({ from: start, to: count - 1, increasing: f[count - 1] > f[start] });
  const made = { u, f, pieces: pieces.filter((p) => Number.isFinite(f[p.from]) && Number.isFinite(f[p.to])) };
  tables.set(key, made);
  return made;
}

/** The root of f_{a,b}(u) = r nearest 0, or NaN. */
function invert(table: ReturnType<typeof ratioTable>, r: number): number {
  let best = NaN;
  for (const piece of table.pieces) {
    const lo = table.f[piece.from];
    const hi = table.f[piece.to];
    if (!(r >= Math.min(lo, hi) && r <= Math.max(lo, hi))) continue;
    let a = piece.from;
    let b = piece.to;
    while (b - a > 1) {
      const mid = (a + b) >> 1;
      if (table.f[mid] > r === piece.increasing) b = mid;
      else a = mid;
    }
    const span = table.f[b] - table.f[a];
    const u = span === 0 ? table.u[a] : table.u[a] + ((r - table.f[a]) / span) * (table.u[b] - table.u[a]);
    if (Number.isNaN(best) || Math.abs(u) < Math.abs(best)) best = u;
  }
  return best;
}

export function pairwiseRecoverBlock(released: ReleasedBlock, act: Activation, options: PairwiseOptions = {}): RecoveredBlock {
  const [a, b] = options.orders ?? [1, 2];
  const N = released.order;
  const { inputDim: d, hiddenDim: h, outputDim: o } = released;
  const K = released.expanded.length;
  const first = new Float64Array(released.first);
  const second = new Float64Array(o * h);
  const firstBias = released.kind === 'plain' ? new Float64Array(h) : null;
  const secondBias = released.kind === 'plain' ? new Float64Array(o) : null;
  const status = new Uint8Array(h);
  const predictedError = new Float64Array(h).fill(NaN);
  const expansionPoint = new Float64Array(h).fill(NaN);
  if (!(b <= N && a < b && a >= 0)) {
    for (const j of released.expanded) status[j] = UnitStatus.unrecoverable;
  } else {
    const table = ratioTable(act, a, b, options.bound ?? 12);
    const fa = [1, 1, 2, 6, 24, 120, 720, 5040, 40320, 362880, 3628800, 39916800, 479001600];
    const factorial = (n: number): number => (n < fa.length ? fa[n] : n * factorial(n - 1));
    const derivative = new Float64Array(b + 2);
    const us = new Float64Array(o);
    const theta = released.theta;
    const act0 = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      const j = released.expanded[k];
      for (let i = 0; i < o; i++) {
        const ta = theta[(a * o + i) * K + k];
        const tb = theta[(b * o + i) * K + k];
        const r = (factorial(a) * ta) / (factorial(b) * tb);
        let u = Number.isFinite(r) ? invert(table, r) : NaN;
        for (let step = 0; step < 2 && Number.isFinite(u); step++) {
          act.derivatives(u, b + 1, derivative);
          const f = derivative[a] / derivative[b];
          const slope = (derivative[a + 1] * derivative[b] - derivative[a] * derivative[b + 1]) / (derivative[b] * derivative[b]);
          if (slope !== 0 && Number.isFinite(slope)) u -= (f - r) / slope;
        }
        us[i] = u;
        if (Number.isFinite(u)) {
          act.derivatives(u, a, derivative);
          const w = (factorial(a) * ta) / derivative[a];
          second[i * h + j] = Number.isFinite(w) ? w : 0;
        }
      }
      const sorted = Array.from(us).filter(Number.isFinite).sort((x, y) => x - y);
      const median = sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
      expansionPoint[j] = median;
      status[j] = Number.isFinite(median) ? UnitStatus.recovered : UnitStatus.unrecoverable;
      if (firstBias !== null && Number.isFinite(median)) firstBias[j] = median - released.z0[k];
      act0[k] = Number.isFinite(median) ? act.value(median) : 0;
    }
    chargeFlops(K * o * 60);
    if (secondBias !== null && released.outputBias === null && K > 0) {
      for (let i = 0; i < o; i++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += theta[i * K + k] - second[i * h + released.expanded[k]] * act0[k];
        secondBias[i] = acc;
      }
    }
  }
  if (secondBias !== null && released.outputBias !== null) secondBias.set(released.outputBias);
  for (let q = 0; q < released.plain.length; q++) {
    const j = released.plain[q];
    status[j] = UnitStatus.plain;
    if (firstBias !== null && released.plainBias !== null) firstBias[j] = released.plainBias[q];
    for (let i = 0; i < o; i++) second[i * h + j] = released.plainSecond[i * released.plain.length + q];
  }
  return { kind: released.kind, inputDim: d, hiddenDim: h, outputDim: o, first, firstBias, up: released.up === null ? null : new Float64Array(released.up), second, secondBias, status, predictedError, expansionPoint };
}
