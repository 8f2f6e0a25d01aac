import { chargeFlops } from '../../kernel/cost/meter';
import { FloatArray, ShapeError } from './tensor';

/**
 * Kernels for probing a function along a line t ↦ f(x₀ + t·d) (the generic extraction attacks),
 * charging exactly what their loops do under the cost model of src/numerics/tensor/flopModel.ts.
 */

const sameLength = (what: string, ...xs: FloatArray[]): number => {
  const n = xs[0].length;
  for (const x of xs) if (x.length !== n) throw new ShapeError(`${what}: lengths ${xs.map((y) => y.length).join(', ')}`);
  return n;
};

/** (a + b)/2. 2 FLOPs. */
export function midpoint(a: number, b: number): number {
  chargeFlops(2);
  return (a + b) / 2;
}

/** a + s·(b − a) for scalars. 3 FLOPs. */
export function lerp(a: number, b: number, s: number): number {
  chargeFlops(3);
  return a + s * (b - a);
}

/** max_i |f_m[i] − (f_a[i] + f_b[i])/2|: how far f(midpoint) is from the chord. 3n FLOPs. */
export function chordDeviation(fa: FloatArray, fm: FloatArray, fb: FloatArray): number {
  const n = sameLength('chordDeviation', fa, fm, fb);
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(fm[i] - (fa[i] + fb[i]) / 2));
  chargeFlops(3 * n);
  return worst;
}

/** (f₁ − f₀)/h elementwise: a secant slope. 2n FLOPs. */
export function secant(f1: FloatArray, f0: FloatArray, h: number): Float64Array {
  const n = sameLength('secant', f1, f0);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (f1[i] - f0[i]) / h;
  chargeFlops(2 * n);
  return out;
}

/**
 * Where the line through (t_a, f_a) with slope s_a meets the line through (t_b, f_b) with slope
 * s_b, in the least-squares sense over the coordinates: t* = ⟨Δs, r⟩/⟨Δs, Δs⟩ with Δs = s_a − s_b,
 * r = f_b − f_a + s_a·t_a − s_b·t_b; and the first line's value there, f_a + s_a·(t* − t_a).
 * 12n + 2 FLOPs (Δs 1, r 5, the two dot products 4 per coordinate, ÷ 1, t* − t_a 1, the value 2 per coordinate).
 * t* is NaN when the slopes are equal (no kink).
 */
export function lineIntersection(ta: number, fa: FloatArray, sa: FloatArray, tb: number, fb: FloatArray, sb: FloatArray): { t: number; value: Float64Array } {
  const n = sameLength('lineIntersection', fa, sa, fb, sb);
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const ds = sa[i] - sb[i];
    const r = fb[i] - fa[i] + sa[i] * ta - sb[i] * tb;
    num += ds * r;
    den += ds * ds;
  }
  const t = num / den;
  const dt = t - ta;
  const value = new Float64Array(n);
  for (let i = 0; i < n; i++) value[i] = fa[i] + sa[i] * dt;
  chargeFlops(12 * n + 2);
  return { t, value };
}

/** max_i |a[i] − b[i]|. n FLOPs. */
export function maxAbsDifference(a: FloatArray, b: FloatArray): number {
  const n = sameLength('maxAbsDifference', a, b);
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  chargeFlops(n);
  return worst;
}

/** max_i |a[i]|. 0 FLOPs (comparisons). */
export function maxAbs(a: FloatArray): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]));
  return worst;
}

/** A copy of x with h added to coordinate k. 1 FLOP. */
export function shiftCoordinate(x: FloatArray, k: number, h: number): Float64Array {
  if (!(k >= 0 && k < x.length)) throw new ShapeError(`shiftCoordinate: coordinate ${k} of ${x.length}`);
  const out = Float64Array.from(x);
  out[k] += h;
  chargeFlops(1);
  return out;
}

/** x + s·y for scalars (the bookkeeping of a search: step sizes, tolerances). 2 FLOPs. */
export function affine(x: number, s: number, y: number): number {
  chargeFlops(2);
  return x + s * y;
}

/** count + 1 equally spaced points lo, …, hi: lo + i·((hi − lo)/count). 2 + 2·(count + 1) FLOPs. */
export function linspace(lo: number, hi: number, count: number): number[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`linspace: count must be a positive integer, got ${count}`);
  const step = (hi - lo) / count;
  const out: number[] = [];
  for (let i = 0; i <= count; i++) out.push(lo + i * step);
  chargeFlops(2 + 2 * (count + 1));
  return out;
}

/** a / b for scalars. 1 FLOP. */
export function quotient(a: number, b: number): number {
  chargeFlops(1);
  return a / b;
}
