import type { Activation } from '../../src/numerics/activations';
import { SPECIAL_FLOPS } from '../../src/numerics/tensor/flopModel';

/**
 * Counts as it computes, under the cost model of src/numerics/tensor/flopModel.ts only (never a kernel's
 * formula): + − × ÷ 1 each, a special function SPECIAL_FLOPS, an activation its valueFlops;
 * comparisons are free. The kernel-cost tests write each reference through one of these.
 */
export class Ops {
  n = 0;
  add = (a: number, b: number): number => (this.n++, a + b);
  sub = (a: number, b: number): number => (this.n++, a - b);
  mul = (a: number, b: number): number => (this.n++, a * b);
  div = (a: number, b: number): number => (this.n++, a / b);
  sq = (a: number): number => (this.n++, a ** 2);
  special = (f: (x: number) => number, x: number): number => ((this.n += SPECIAL_FLOPS), f(x));
  pow = (x: number, y: number): number => ((this.n += SPECIAL_FLOPS), Math.pow(x, y));
  sqrt = (a: number): number => ((this.n += SPECIAL_FLOPS), Math.sqrt(a));
  hypot = (a: number, b: number): number => ((this.n += SPECIAL_FLOPS), Math.hypot(a, b));
  value = (act: Activation, x: number): number => ((this.n += act.valueFlops(x)), act.value(x));
}

/**
 * The weighted misfit of a column g against a profile p (orders from..to, odd orders negated for
 * a negative sign): λ = Σwgp/Σwp², residual Σw(g − λp)² — the reference for `weightedMisfit`.
 */
export function refMisfit(o: Ops, g: Float64Array, w: Float64Array, p: Float64Array, offset: number, from: number, to: number, negative: boolean): [number, number] {
  const pn = (n: number): number => (negative && n % 2 === 1 ? -p[offset + n] : p[offset + n]);
  let gp = 0;
  let pp = 0;
  for (let n = from; n <= to; n++) {
    gp = o.add(gp, o.mul(o.mul(w[n], g[n]), pn(n)));
    pp = o.add(pp, o.mul(o.mul(w[n], pn(n)), pn(n)));
  }
  const lambda = pp === 0 ? 0 : o.div(gp, pp);
  let residual = 0;
  for (let n = from; n <= to; n++) {
    const r = o.sub(g[n], o.mul(lambda, pn(n)));
    residual = o.add(residual, o.mul(o.mul(w[n], r), r));
  }
  return [residual, lambda];
}

/**
 * The reference for `gridMisfits`: refMisfit's arithmetic at every grid point (offsets q·width),
 * with ω·g formed once for the grid (as the kernel does) — the same numbers, and the count of what
 * is computed: `to − from + 1` products ω·g, then per point 10 per order and the ÷ for λ.
 */
export function refGridMisfits(o: Ops, g: Float64Array, w: Float64Array, p: Float64Array, width: number, points: number, from: number, to: number, negative: boolean): [number, number][] {
  if (points <= 0) return [];
  const sign = (n: number): number => (negative && n % 2 === 1 ? -1 : 1);
  const wg = new Float64Array(to + 1);
  for (let n = from; n <= to; n++) wg[n] = o.mul(w[n], sign(n) * g[n]); // sⁿ·g is a sign flip, not arithmetic
  return Array.from({ length: points }, (_, q) => {
    const pn = (n: number): number => p[q * width + n];
    let gp = 0;
    let pp = 0;
    for (let n = from; n <= to; n++) {
      gp = o.add(gp, o.mul(wg[n], pn(n)));
      pp = o.add(pp, o.mul(o.mul(w[n], pn(n)), pn(n)));
    }
    const lambda = pp === 0 ? 0 : o.div(gp, pp);
    let residual = 0;
    for (let n = from; n <= to; n++) {
      const r = o.sub(sign(n) * g[n], o.mul(lambda, pn(n)));
      residual = o.add(residual, o.mul(o.mul(w[n], r), r));
    }
    return [residual, lambda];
  });
}
