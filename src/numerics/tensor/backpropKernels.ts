import { chargeFlops } from '../../kernel/cost/meter';
import { FloatArray, ShapeError } from './tensor';

/**
 * Gradients of the two-layer regression MLP y = W·Act(V x + b) + c under the mean squared error,
 * charging exactly what their loops do under the cost model of src/numerics/tensor/flopModel.ts
 * (+ − × ÷ count 1, a multiply-add 2).
 */

/** dy[t, i] = 2·(y[t, i] + c[i] − target[t, i])/(T·o) for y, target of [T, o]. 4·T·o FLOPs. */
export function mseOutputGradient(y: FloatArray, c: FloatArray, targets: FloatArray): Float64Array {
  const o = c.length;
  const size = y.length;
  if (targets.length !== size || (o === 0 ? size !== 0 : size % o !== 0)) throw new ShapeError(`mseOutputGradient: y ${size}, targets ${targets.length}, c ${o}`);
  const dy = new Float64Array(size);
  for (let q = 0; q < size; q++) dy[q] = (2 * (y[q] + c[q % o] - targets[q])) / size;
  chargeFlops(4 * size);
  return dy;
}

/** Gradients of the MLP's four parameters, in its parameter order: dV [h, d], db [h], dW [o, h], dc [o]. */
export interface MlpGradients {
  readonly first: Float64Array;
  readonly firstBias: Float64Array;
  readonly second: Float64Array;
  readonly secondBias: Float64Array;
}

/**
 * Backpropagation through y = W·a + c, a = Act(z), z = V x + b, for T samples (written into `grads`,
 * zeroed first): dW = dyᵀ·a, dc = Σ dy, dz = (dy·W) ⊙ Act′(z), dV = dzᵀ·X, db = Σ dz.
 * dy [T, o], hidden = a and slope = Act′(z) [T, h], W [o, h], inputs [T, d].
 * T·(o·(1 + 2h) + h·(2o + 2 + 2d)) FLOPs: per sample and output dc 1 and dW 2h; per sample and
 * hidden unit dy·W 2o, ⊙ 1, db 1, dV 2d.
 */
export function mlpGradients(dy: FloatArray, hidden: FloatArray, slope: FloatArray, W: FloatArray, inputs: FloatArray, T: number, d: number, h: number, o: number, grads: MlpGradients): void {
  if (dy.length !== T * o || hidden.length !== T * h || slope.length !== T * h || W.length !== o * h || inputs.length !== T * d) throw new ShapeError(`mlpGradients: shapes do not agree with T=${T}, d=${d}, h=${h}, o=${o}`);
  const { first: gV, firstBias: gb, second: gW, secondBias: gc } = grads;
  if (gV.length !== h * d || gb.length !== h || gW.length !== o * h || gc.length !== o) throw new ShapeError('mlpGradients: gradient buffers do not agree with the shapes');
  gV.fill(0);
  gb.fill(0);
  gW.fill(0);
  gc.fill(0);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < o; i++) {
      const g = dy[t * o + i];
      gc[i] += g;
      for (let j = 0; j < h; j++) gW[i * h + j] += g * hidden[t * h + j];
    }
    for (let j = 0; j < h; j++) {
      let dh = 0;
      for (let i = 0; i < o; i++) dh += dy[t * o + i] * W[i * h + j];
      const dz = dh * slope[t * h + j];
      gb[j] += dz;
      for (let k = 0; k < d; k++) gV[j * d + k] += dz * inputs[t * d + k];
    }
  }
  chargeFlops(T * (o * (1 + 2 * h) + h * (2 * o + 2 + 2 * d)));
}
