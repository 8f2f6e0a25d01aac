import { chargeFlops } from '../../kernel/cost/meter';
import { SPECIAL_FLOPS } from './flopModel';
import { FloatArray, ShapeError } from './tensor';

/**
 * Normalisation kernels (LayerNorm, RMSNorm) over one vector of length n, charging exactly what
 * their loops do under the cost model of src/numerics/tensor/flopModel.ts (+ − × ÷ count 1, `** 2` one ×,
 * sqrt SPECIAL_FLOPS).
 */

/**
 * LayerNorm: (x − μ)/√(σ² + ε)·w + b, with μ = Σ x/n and σ² = Σ (x − μ)²/n accumulated term by term.
 * 10n + 2 + SPECIAL_FLOPS: μ 2n, σ² 4n, the scale 2 + sqrt, the output 4n.
 */
export function layerNorm(x: FloatArray, weight: FloatArray, bias: FloatArray, eps: number): Float64Array {
  const n = x.length;
  if (weight.length !== n || bias.length !== n) throw new ShapeError(`layerNorm: x has ${n}, weight ${weight.length}, bias ${bias.length}`);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i] / n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i] - mean) ** 2 / n;
  const scale = 1 / Math.sqrt(variance + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (x[i] - mean) * scale * weight[i] + bias[i];
  chargeFlops(10 * n + 2 + SPECIAL_FLOPS);
  return out;
}

/** RMSNorm: x/√(Σ x²/n + ε)·w. 4n + 3 + SPECIAL_FLOPS: Σ x² 2n, the scale 3 + sqrt, the output 2n. */
export function rmsNorm(x: FloatArray, weight: FloatArray, eps: number): Float64Array {
  const n = x.length;
  if (weight.length !== n) throw new ShapeError(`rmsNorm: x has ${n}, weight ${weight.length}`);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += x[i] * x[i];
  const scale = 1 / Math.sqrt(ss / n + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[i] * scale * weight[i];
  chargeFlops(4 * n + 3 + SPECIAL_FLOPS);
  return out;
}
