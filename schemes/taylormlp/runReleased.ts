import type { Activation } from '../../src/numerics/activations';
import { Tensor, tensor } from '../../src/tensor/tensor';
import { matMulTransposed } from '../../src/tensor/kernels';
import { chargeFlops } from '../../src/cost/meter';
import type { ReleasedBlock } from './release';

/**
 * Run′ for one released block on a batch X [T, input]:
 *   z = first·x;  δ_k = z_{j_k} − z0_k
 *   y_i = Σ_{n=0}^{N} ⟨Θ[n, i, ·], δⁿ (⊙ u for SwiGLU)⟩ + Σ_{plain j} W[i, j]·Act(z_j + b_j) (+ c)     (eq. 15)
 * with the order mask: for n > minOrder, δ_kⁿ counts only where |δ_k| ≤ threshold. The N+1
 * products with Θ are really done — (N+1)·2·T·out·K FLOPs — nothing rebuilds W.
 */
export function runReleasedBlock(released: ReleasedBlock, act: Activation, inputs: Tensor, activationFlops = 16): Tensor {
  const T = inputs.shape[0];
  const { hiddenDim: h, outputDim: o, inputDim: d, order: N } = released;
  const K = released.expanded.length;
  const P = released.plain.length;
  const z = matMulTransposed(inputs, tensor([h, d], released.first)).data;
  const up = released.up === null ? null : matMulTransposed(inputs, tensor([h, d], released.up)).data;
  const out = new Float64Array(T * o);
  if (K > 0) {
    const delta = new Float64Array(T * K);
    for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) delta[t * K + k] = z[t * h + released.expanded[k]] - released.z0[k];
    const power = new Float64Array(T * K).fill(1); // δ⁰
    const term = new Float64Array(T * K);
    const mask = released.mask;
    for (let n = 0; n <= N; n++) {
      if (n > 0) for (let q = 0; q < power.length; q++) power[q] *= delta[q];
      for (let t = 0; t < T; t++) {
        for (let k = 0; k < K; k++) {
          const q = t * K + k;
          const masked = mask !== null && n > mask.minOrder && Math.abs(delta[q]) > mask.threshold;
          term[q] = masked ? 0 : up === null ? power[q] : power[q] * up[t * h + released.expanded[k]];
        }
      }
      const contribution = matMulTransposed(tensor([T, K], term), tensor([o, K], released.theta.subarray(n * o * K, (n + 1) * o * K))).data;
      for (let q = 0; q < out.length; q++) out[q] += contribution[q];
    }
    chargeFlops(T * K * (1 + 2 * N + (up === null ? 0 : N + 1)) + (N + 1) * T * o);
  }
  if (P > 0) {
    const hidden = new Float64Array(T * P);
    for (let t = 0; t < T; t++) {
      for (let m = 0; m < P; m++) {
        const j = released.plain[m];
        const a = act.value(z[t * h + j] + (released.plainBias === null ? 0 : released.plainBias[m]));
        hidden[t * P + m] = up === null ? a : a * up[t * h + j];
      }
    }
    chargeFlops(T * P * (activationFlops + 2));
    const contribution = matMulTransposed(tensor([T, P], hidden), tensor([o, P], released.plainSecond)).data;
    for (let q = 0; q < out.length; q++) out[q] += contribution[q];
    chargeFlops(T * o);
  }
  if (released.outputBias !== null) {
    for (let t = 0; t < T; t++) for (let i = 0; i < o; i++) out[t * o + i] += released.outputBias[i];
    chargeFlops(T * o);
  }
  return tensor([T, o], out);
}
