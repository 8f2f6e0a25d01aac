import { chargeFlops } from '../../kernel/cost/meter';
import type { Activation } from '../activations';

/**
 * out[n] = Act⁽ⁿ⁾(x) for n = 0..order — the derivatives Algorithm 1 multiplies into Θ
 * (Θ[i,n] = W_i ⊙ Act⁽ⁿ⁾(z0 + b)/n!, line 5) and an attack inverts. Charges exactly the FLOPs the
 * recurrence performed (src/numerics/tensor/flopModel.ts), tallied where they run, data-dependent
 * branches (exact zeros, the sigmoid's side) included. `out` (length ≥ order + 1) is always the
 * caller's: these run per unit and per fitting step, and an optional one cost allocations (see
 * src/numerics/activations.ts).
 */
export function activationDerivatives(act: Activation, x: number, order: number, out: Float64Array): Float64Array {
  const flops = act.derivativesCounted(x, order, out);
  chargeFlops(flops);
  return out;
}

/**
 * out[n] = Act⁽ⁿ⁾(x)/n! · sⁿ for n = 0..order (sⁿ = s for odd n, 1 for even: a ±1 sign s): a
 * unit's Taylor coefficients at x, as Algorithm 1 scales them (line 5) and as an attack
 * rebuilding Run′ from recovered (u, W) needs them. Charges the derivatives' FLOPs, the n!
 * products (order) and, per n, the ÷ and the × by the sign's power (2·(order + 1)).
 */
export function taylorCoefficients(act: Activation, x: number, order: number, sign: number, out: Float64Array): Float64Array {
  const flops = act.derivativesCounted(x, order, out);
  let factorial = 1;
  for (let n = 0; n <= order; n++) {
    if (n > 0) factorial *= n;
    out[n] = (out[n] / factorial) * (n % 2 === 1 ? sign : 1);
  }
  chargeFlops(flops + order + 2 * (order + 1));
  return out;
}

/**
 * out[n] = Act⁽ⁿ⁾(x)/n! for n = 0..order (n! as a running product) — a unit's unsigned Taylor
 * coefficients at x, as an attack fits them against Θ. Charges the derivatives' FLOPs, the n!
 * products (order) and the ÷ per n (order + 1).
 */
export function scaledDerivatives(act: Activation, x: number, order: number, out: Float64Array): Float64Array {
  const flops = act.derivativesCounted(x, order, out);
  let factorial = 1;
  for (let n = 0; n <= order; n++) {
    if (n > 0) factorial *= n;
    out[n] = out[n] / factorial;
  }
  chargeFlops(flops + order + (order + 1));
  return out;
}

/** A table of scaled derivatives on a grid: p[q·width + n] = Act⁽ⁿ⁾(u_q)/n!, u_q = −bound + q·step. */
export interface DerivativeGrid {
  readonly u: Float64Array;
  readonly p: Float64Array;
  readonly width: number;
}

const grids = new Map<string, { readonly grid: DerivativeGrid; readonly flops: number }>();

/**
 * The grid u_q = −bound + q·step, q = 0..round(2·bound/step), and Act⁽ⁿ⁾(u_q)/n! for n = 0..order.
 * Charges the count (2), per point its u (2) and `scaledDerivatives`' FLOPs. The table is kept
 * for reuse (it depends on nothing but its arguments), and a reuse charges the count the build
 * did: what a caller pays never depends on what ran before it (on a trial's order, or on the
 * number of workers).
 */
export function derivativeGrid(act: Activation, bound: number, step: number, order: number): DerivativeGrid {
  const key = `${act.name}|${bound}|${step}|${order}`;
  const kept = grids.get(key);
  if (kept !== undefined) {
    chargeFlops(kept.flops);
    return kept.grid;
  }
  const count = Math.round((2 * bound) / step) + 1;
  const width = order + 1;
  const u = new Float64Array(count);
  const p = new Float64Array(count * width);
  let flops = 2 + count * 2;
  for (let q = 0; q < count; q++) {
    u[q] = -bound + q * step;
    const out = p.subarray(q * width, (q + 1) * width);
    flops += act.derivativesCounted(u[q], order, out);
    let factorial = 1;
    for (let n = 0; n <= order; n++) {
      if (n > 0) factorial *= n;
      out[n] = out[n] / factorial;
    }
    flops += order + (order + 1);
  }
  const grid = { u, p, width };
  grids.set(key, { grid, flops });
  chargeFlops(flops);
  return grid;
}
