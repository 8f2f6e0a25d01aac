import { chargeFlops } from '../../kernel/cost/meter';
import type { Activation } from '../activations';
import { FloatArray, ShapeError } from './tensor';

/** What these kernels use of an activation: its value and slope with their FLOP counts (any `Activation`, or ReLU / tanh). */
export type ElementwiseActivation = Pick<Activation, 'value' | 'slope' | 'valueFlops' | 'slopeFlops'>;

/**
 * Hidden-layer activation kernels: Act(z + b) (⊙ u) over a batch of pre-activations. Cost model
 * of src/numerics/tensor/flopModel.ts: the bias add counts 1 per unit (also when there is no bias: the
 * code adds 0), an activation evaluation counts what `act.valueFlops(pre)` / `act.slopeFlops(pre)`
 * say for that very argument, the gate product counts 1.
 */

/**
 * hidden[t, m] = Act(z[t, j] + b[m]) (· up[t, j]) with j = units[m] (units null: j = m), for z and up
 * of [tokens, width] and hidden of [tokens, units.length]. Charges Σ (1 + valueFlops(pre) + [up]).
 */
export function activateUnits(act: ElementwiseActivation, z: FloatArray, width: number, tokens: number, units: Int32Array | null, bias: FloatArray | null, up: FloatArray | null): Float64Array {
  const count = units === null ? width : units.length;
  if (z.length !== tokens * width) throw new ShapeError(`activateUnits: z has ${z.length}, want ${tokens}·${width}`);
  if (up !== null && up.length !== tokens * width) throw new ShapeError(`activateUnits: up has ${up.length}, want ${tokens}·${width}`);
  if (bias !== null && bias.length !== count) throw new ShapeError(`activateUnits: bias has ${bias.length}, want ${count}`);
  const hidden = new Float64Array(tokens * count);
  let flops = 0;
  for (let t = 0; t < tokens; t++) {
    const row = t * width;
    for (let m = 0; m < count; m++) {
      const j = units === null ? m : units[m];
      const pre = z[row + j] + (bias === null ? 0 : bias[m]);
      const a = act.value(pre);
      flops += 1 + act.valueFlops(pre);
      hidden[t * count + m] = up === null ? a : a * up[row + j];
    }
  }
  chargeFlops(flops + (up === null ? 0 : tokens * count));
  return hidden;
}

/**
 * For training: value[t, j] = Act(z[t, j] + b[j]) and slope[t, j] = Act′(z[t, j] + b[j]), z of
 * [tokens, width]. Charges Σ (1 + valueFlops(pre) + slopeFlops(pre)).
 */
export function activateWithSlope(act: ElementwiseActivation, z: FloatArray, width: number, bias: FloatArray): [Float64Array, Float64Array] {
  if (bias.length !== width || z.length % width !== 0) throw new ShapeError(`activateWithSlope: z has ${z.length}, bias ${bias.length}`);
  const value = new Float64Array(z.length);
  const slope = new Float64Array(z.length);
  let flops = 0;
  for (let q = 0; q < z.length; q++) {
    const pre = z[q] + bias[q % width];
    value[q] = act.value(pre);
    slope[q] = act.slope(pre);
    flops += 1 + act.valueFlops(pre) + act.slopeFlops(pre);
  }
  chargeFlops(flops);
  return [value, slope];
}
