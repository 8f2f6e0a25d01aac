import { chargeFlops } from '../../kernel/cost/meter';
import { SPECIAL_FLOPS } from './flopModel';
import { FloatArray, ShapeError } from './tensor';

/**
 * Optimiser update kernels, charging exactly what their loops do under the cost model of
 * src/numerics/tensor/flopModel.ts (+ − × ÷ count 1, pow and sqrt SPECIAL_FLOPS each).
 */

/**
 * One Adam step (β₁ = 0.9, β₂ = 0.999, ε = 1e-8) in place on p, with its moments m and v, step ≥ 1:
 *   m ← 0.9·m + 0.1·g;  v ← 0.999·v + 0.001·g·g;  p ← p − lr·(m/(1 − 0.9ˢᵗᵉᵖ)) / (√(v/(1 − 0.999ˢᵗᵉᵖ)) + ε).
 * The bias corrections once per call (2·(SPECIAL_FLOPS + 1)), then per entry 13 + SPECIAL_FLOPS:
 * m 3, v 4, the two corrections 2, the update 4 + sqrt.
 */
export function adamStep(p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, step: number, lr: number): void {
  const n = p.length;
  if (g.length !== n || m.length !== n || v.length !== n) throw new ShapeError(`adamStep: p ${n}, g ${g.length}, m ${m.length}, v ${v.length}`);
  const correction1 = 1 - Math.pow(0.9, step);
  const correction2 = 1 - Math.pow(0.999, step);
  for (let q = 0; q < n; q++) {
    m[q] = 0.9 * m[q] + 0.1 * g[q];
    v[q] = 0.999 * v[q] + 0.001 * g[q] * g[q];
    const mHat = m[q] / correction1;
    const vHat = v[q] / correction2;
    p[q] -= (lr * mHat) / (Math.sqrt(vHat) + 1e-8);
  }
  chargeFlops(2 * (SPECIAL_FLOPS + 1) + n * (13 + SPECIAL_FLOPS));
}
