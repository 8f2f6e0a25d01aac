import { chargeFlops } from '../../kernel/cost/meter';
import { SPECIAL_FLOPS } from './flopModel';
import { FloatArray, ShapeError } from './tensor';

/**
 * Rotary position embedding (rotate-half, the Hugging Face convention), charging exactly what its
 * loop does under the cost model of src/numerics/tensor/flopModel.ts (+ − × ÷ count 1, pow, cos and sin
 * SPECIAL_FLOPS each).
 */

/**
 * In place on `count` head vectors of `vector` (head h at h·headDim), at position `pos`:
 * (a, b) ← (a cos θᵢ − b sin θᵢ, b cos θᵢ + a sin θᵢ) with θᵢ = pos/theta^(2i/headDim), i < headDim/2.
 * Per i: the exponent 2, pow, 1/· 1, pos· 1, cos, sin, the rotation 6 — count·(headDim/2)·(10 + 3·SPECIAL_FLOPS).
 */
export function rotateHalf(vector: FloatArray, count: number, headDim: number, pos: number, theta: number): void {
  if (headDim % 2 !== 0 || vector.length < count * headDim) throw new ShapeError(`rotateHalf: ${count} heads of ${headDim} in a vector of ${vector.length}`);
  const half = headDim / 2;
  for (let h = 0; h < count; h++) {
    const offset = h * headDim;
    for (let i = 0; i < half; i++) {
      const frequency = 1 / Math.pow(theta, (2 * i) / headDim);
      const angle = pos * frequency;
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const a = vector[offset + i];
      const b = vector[offset + i + half];
      vector[offset + i] = a * cos - b * sin;
      vector[offset + i + half] = b * cos + a * sin;
    }
  }
  chargeFlops(count * half * (10 + 3 * SPECIAL_FLOPS));
}
