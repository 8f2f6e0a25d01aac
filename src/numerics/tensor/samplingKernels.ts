import { chargeFlops } from '../../kernel/cost/meter';
import { SPECIAL_FLOPS } from './flopModel';
import { FloatArray, ShapeError } from './tensor';

/**
 * Drawing a token from softmax(logits/T), charging exactly what its loops do under the cost model
 * of src/numerics/tensor/flopModel.ts (+ − × ÷ count 1, exp SPECIAL_FLOPS, the max's comparisons 0). The
 * inverse-CDF walk stops at the drawn index, so its count depends on the draw: counted as it runs.
 */

/**
 * The index i drawn with probability ∝ exp((ℓᵢ − max ℓ)/T), from one uniform u ∈ [0, 1): walk
 * r = u·Σ w down by each wᵢ until r ≤ 0 (the last index if rounding never gets there).
 * Charges n·(2 + SPECIAL_FLOPS) (the weights) + n (their sum) + 1 (u·Σ) + the subtractions the walk did.
 */
export function sampleSoftmax(logits: FloatArray, temperature: number, u: number): number {
  const n = logits.length;
  if (n === 0) throw new ShapeError('sampleSoftmax: no logits');
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[i]);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) weights[i] = Math.exp((logits[i] - max) / temperature);
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i];
  let r = u * total;
  let next = n - 1;
  let walked = 0;
  for (let i = 0; i < n; i++) {
    r -= weights[i];
    walked++;
    if (r <= 0) {
      next = i;
      break;
    }
  }
  chargeFlops(n * (2 + SPECIAL_FLOPS) + n + 1 + walked);
  return next;
}
