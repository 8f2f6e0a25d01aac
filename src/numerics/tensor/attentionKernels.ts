import { chargeFlops } from '../../kernel/cost/meter';
import { SPECIAL_FLOPS } from './flopModel';
import { FloatArray, ShapeError } from './tensor';

/**
 * Scaled dot-product attention of one query against a KV cache (decoding), charging exactly what
 * its loops do under the cost model of src/numerics/tensor/flopModel.ts (+ − × ÷ count 1, sqrt and exp
 * SPECIAL_FLOPS each, the running max's comparisons 0).
 */

/**
 * For each head h (kv head ⌊h/(heads/kvHeads)⌋, grouped-query attention):
 *   s_t = ⟨q_h, k_t⟩/√headDim,  out_h = Σ_t softmax(s)_t · v_t   (max subtracted before exp).
 * `query` is [heads·headDim] (extra trailing entries are ignored), each cached key/value
 * [kvHeads·headDim] (or longer). Charges SPECIAL_FLOPS (one √headDim) + heads·T·(4·headDim + 4 + SPECIAL_FLOPS):
 * per position the dot product 2·headDim, ÷√ 1, − max 1, exp, + to the sum 1, ÷ sum 1, the weighted add 2·headDim.
 */
export function cachedAttention(query: FloatArray, keys: readonly FloatArray[], values: readonly FloatArray[], heads: number, kvHeads: number, headDim: number): Float64Array {
  const T = keys.length;
  if (values.length !== T) throw new ShapeError(`cachedAttention: ${T} keys, ${values.length} values`);
  if (!(heads % kvHeads === 0) || query.length < heads * headDim) throw new ShapeError(`cachedAttention: ${heads} heads, ${kvHeads} kv heads, query ${query.length}`);
  for (let s = 0; s < T; s++) {
    if (keys[s].length < kvHeads * headDim || values[s].length < kvHeads * headDim) throw new ShapeError(`cachedAttention: cache entry ${s} is shorter than ${kvHeads}·${headDim}`);
  }
  const group = heads / kvHeads;
  const norm = Math.sqrt(headDim);
  const out = new Float64Array(heads * headDim);
  const scores = new Float64Array(T);
  for (let h = 0; h < heads; h++) {
    const qo = h * headDim;
    const kvo = Math.floor(h / group) * headDim;
    let max = -Infinity;
    for (let s = 0; s < T; s++) {
      let dot = 0;
      const key = keys[s];
      for (let i = 0; i < headDim; i++) dot += query[qo + i] * key[kvo + i];
      scores[s] = dot / norm;
      if (scores[s] > max) max = scores[s];
    }
    let sum = 0;
    for (let s = 0; s < T; s++) {
      scores[s] = Math.exp(scores[s] - max);
      sum += scores[s];
    }
    for (let s = 0; s < T; s++) {
      const weight = scores[s] / sum;
      const value = values[s];
      for (let i = 0; i < headDim; i++) out[qo + i] += weight * value[kvo + i];
    }
  }
  chargeFlops(SPECIAL_FLOPS + heads * T * (4 * headDim + 4 + SPECIAL_FLOPS));
  return out;
}
