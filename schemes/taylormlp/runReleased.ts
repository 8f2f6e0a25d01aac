import type { Activation } from '../../src/numerics/activations';
import { Tensor, tensor } from '../../src/numerics/tensor/tensor';
import { addInPlace, addRowBias, matMulTransposed, multiplyInPlace } from '../../src/numerics/tensor/kernels';
import { activateUnits } from '../../src/numerics/tensor/activationKernels';
import { expansionOffsets, seriesTerms } from '../../src/numerics/tensor/seriesKernels';
import type { ReleasedBlock } from './release';

/**
 * Run′ for one released block on a batch X [T, input]:
 *   z = first·x;  δ_k = z_{j_k} − z0_k
 *   y_i = Σ_{n=0}^{N} ⟨Θ[n, i, ·], δⁿ (⊙ u for SwiGLU)⟩ + Σ_{plain j} W[i, j]·Act(z_j + b_j) (+ c)     (eq. 15)
 * with the order mask: for n > minOrder, δ_kⁿ counts only where |δ_k| ≤ threshold. The N+1
 * products with Θ are really done — (N+1)·2·T·out·K FLOPs — nothing rebuilds W.
 */
export function runReleasedBlock(released: ReleasedBlock, act: Activation, inputs: Tensor): Tensor {
  const T = inputs.shape[0];
  const { hiddenDim: h, outputDim: o, inputDim: d, order: N } = released;
  const K = released.expanded.length;
  const P = released.plain.length;
  const z = matMulTransposed(inputs, tensor([h, d], released.first)).data;
  const up = released.up === null ? null : matMulTransposed(inputs, tensor([h, d], released.up)).data;
  const out = new Float64Array(T * o);
  if (K > 0) {
    const delta = expansionOffsets(z, h, T, released.expanded, released.z0);
    const power = new Float64Array(T * K).fill(1); // δ⁰
    const term = new Float64Array(T * K);
    for (let n = 0; n <= N; n++) {
      if (n > 0) multiplyInPlace(power, delta);
      seriesTerms(power, delta, n, released.mask, up, h, released.expanded, term);
      addInPlace(out, matMulTransposed(tensor([T, K], term), tensor([o, K], released.theta.subarray(n * o * K, (n + 1) * o * K))).data);
    }
  }
  if (P > 0) {
    const hidden = activateUnits(act, z, h, T, released.plain, released.plainBias, up);
    addInPlace(out, matMulTransposed(tensor([T, P], hidden), tensor([o, P], released.plainSecond)).data);
  }
  if (released.outputBias !== null) addRowBias(out, released.outputBias);
  return tensor([T, o], out);
}
