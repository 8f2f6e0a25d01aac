import { chargeFlops } from '../cost/meter';
import type { Activation, FlopTally } from '../numerics/activations';

/**
 * out[n] = Act⁽ⁿ⁾(x) for n = 0..order — the derivatives Algorithm 1 multiplies into Θ
 * (Θ[i,n] = W_i ⊙ Act⁽ⁿ⁾(z0 + b)/n!, line 5) and an attack inverts. Charges exactly the FLOPs the
 * recurrence performed (src/tensor/flopModel.ts), tallied where they run, data-dependent
 * branches (exact zeros, the sigmoid's side) included.
 */
export function activationDerivatives(act: Activation, x: number, order: number, out: Float64Array = new Float64Array(order + 1)): Float64Array {
  const tally: FlopTally = { flops: 0 };
  act.derivativesCounted(x, order, out, tally);
  chargeFlops(tally.flops);
  return out;
}

/**
 * out[n] = Act⁽ⁿ⁾(x)/n! · sⁿ for n = 0..order (sⁿ = s for odd n, 1 for even: a ±1 sign s): a
 * unit's Taylor coefficients at x, as Algorithm 1 scales them (line 5) and as an attack
 * rebuilding Run′ from recovered (u, W) needs them. Charges the derivatives' FLOPs, the n!
 * products (order) and, per n, the ÷ and the × by the sign's power (2·(order + 1)).
 */
export function taylorCoefficients(act: Activation, x: number, order: number, sign: number = 1, out: Float64Array = new Float64Array(order + 1)): Float64Array {
  const tally: FlopTally = { flops: 0 };
  act.derivativesCounted(x, order, out, tally);
  let factorial = 1;
  for (let n = 0; n <= order; n++) {
    if (n > 0) factorial *= n;
    out[n] = (out[n] / factorial) * (n % 2 === 1 ? sign : 1);
  }
  chargeFlops(tally.flops + order + 2 * (order + 1));
  return out;
}
