import { chargeFlops } from '../../kernel/cost/meter';
import type { Activation } from '../activations';
import { FloatArray, ShapeError } from './tensor';
import { bf16FromFloat32Bits } from '../io/halfPrecision';
import { firstAllOnesExponent32 } from '../io/safetensors';

/**
 * Truncated Taylor series kernels (TaylorMLP's Release, Run′ and the collapsed evaluation an
 * adversary runs): expansion offsets δ = z − z0, the order-n terms δⁿ (⊙ u) under the order mask,
 * the coefficient tensor Θ, and the per-unit series Σₙ cₙ·δⁿ. Cost model of src/numerics/tensor/flopModel.ts:
 * + − × ÷ count 1, comparisons (the mask test) 0, an activation evaluation what `act.valueFlops`
 * says; a masked term skips its work and its charge, so data-dependent kernels count as they go.
 */

/** The order mask: orders above `minOrder` count only where |δ| ≤ `threshold`. */
export interface SeriesMask {
  readonly minOrder: number;
  readonly threshold: number;
}

const masks = (mask: SeriesMask | null, n: number, delta: number): boolean => mask !== null && n > mask.minOrder && Math.abs(delta) > mask.threshold;

/** δ[t, k] = z[t, units[k]] − z0[k] for z of [tokens, width]. tokens·K FLOPs. */
export function expansionOffsets(z: FloatArray, width: number, tokens: number, units: Int32Array, z0: FloatArray): Float64Array {
  const K = units.length;
  if (z.length !== tokens * width || z0.length !== K) throw new ShapeError(`expansionOffsets: z has ${z.length} (want ${tokens}·${width}), z0 ${z0.length} (want ${K})`);
  const delta = new Float64Array(tokens * K);
  for (let t = 0; t < tokens; t++) for (let k = 0; k < K; k++) delta[t * K + k] = z[t * width + units[k]] - z0[k];
  chargeFlops(tokens * K);
  return delta;
}

/**
 * The order-n terms into `term` [tokens, K]: 0 where the mask drops δ[t, k]ⁿ, else power[t, k]
 * (= δⁿ), times up[t, units[k]] for a gated (SwiGLU) block. Charges 1 per unmasked gated term
 * (nothing without a gate: a copy is not arithmetic).
 */
export function seriesTerms(power: FloatArray, delta: FloatArray, n: number, mask: SeriesMask | null, up: FloatArray | null, width: number, units: Int32Array, term: Float64Array): void {
  const K = units.length;
  const tokens = K === 0 ? 0 : delta.length / K;
  if (power.length !== delta.length || term.length !== delta.length || !Number.isInteger(tokens)) throw new ShapeError(`seriesTerms: power ${power.length}, delta ${delta.length}, term ${term.length}, K ${K}`);
  if (up !== null && up.length !== tokens * width) throw new ShapeError(`seriesTerms: up has ${up.length}, want ${tokens}·${width}`);
  let flops = 0;
  for (let t = 0; t < tokens; t++) {
    for (let k = 0; k < K; k++) {
      const q = t * K + k;
      if (masks(mask, n, delta[q])) term[q] = 0;
      else if (up === null) term[q] = power[q];
      else {
        term[q] = power[q] * up[t * width + units[k]];
        flops++;
      }
    }
  }
  chargeFlops(flops);
}

/**
 * Θ[n, i, k] = second[i, units[k]]·scale[n, k] for n = 0..N, second of [o, width], Θ of
 * [(N+1), o, K] (written in Θ's precision). (N+1)·o·K FLOPs.
 */
export function fillSeriesCoefficients(theta: FloatArray, second: FloatArray, scale: FloatArray, units: Int32Array, N: number, o: number, width: number): void {
  const K = units.length;
  if (theta.length !== (N + 1) * o * K || scale.length !== (N + 1) * K || second.length !== o * width) {
    throw new ShapeError(`fillSeriesCoefficients: Θ ${theta.length} (want ${(N + 1) * o * K}), scale ${scale.length}, second ${second.length}`);
  }
  if (theta instanceof Float32Array) fill32(theta, second, scale, units, N, o, width, K);
  else fill64(theta, second, scale, units, N, o, width, K);
  chargeFlops((N + 1) * o * K);
}

// Two monomorphic copies (float32 and float64 Θ) so that V8 keeps each inner loop on one typed-array kind.
function fill32(theta: Float32Array, second: FloatArray, scale: FloatArray, units: Int32Array, N: number, o: number, h: number, K: number): void {
  for (let n = 0; n <= N; n++) {
    const scaleOffset = n * K;
    for (let i = 0; i < o; i++) {
      const row = (n * o + i) * K;
      const wRow = i * h;
      for (let k = 0; k < K; k++) theta[row + k] = second[wRow + units[k]] * scale[scaleOffset + k];
    }
  }
}

function fill64(theta: Float64Array, second: FloatArray, scale: FloatArray, units: Int32Array, N: number, o: number, h: number, K: number): void {
  for (let n = 0; n <= N; n++) {
    const scaleOffset = n * K;
    for (let i = 0; i < o; i++) {
      const row = (n * o + i) * K;
      const wRow = i * h;
      for (let k = 0; k < K; k++) theta[row + k] = second[wRow + units[k]] * scale[scaleOffset + k];
    }
  }
}

/**
 * One order's slab of Θ straight in its storage form (the file path of Release): for every
 * output i and expanded unit k, x = fround(second[i, units[k]]·scale[n, k]), for n = 0 with a bias
 * then x = fround(x + bias[i]/K) — the values fillSeriesCoefficients then foldBiasIntoOrderZero
 * store in a float32 Θ — written as float32 (`out` a Float32Array) or as bfloat16 bits rounded to
 * nearest-even (`out` a Uint16Array). Answers the index in the slab of the first value that is not
 * finite once stored, or −1. o·K FLOPs, and 2·o·K more for the bias.
 */
export function seriesCoefficientSlab(out: Float32Array | Uint16Array, second: FloatArray, scale: FloatArray, units: Int32Array, n: number, o: number, width: number, bias: FloatArray | null): number {
  const K = units.length;
  if (out.length < o * K || scale.length < (n + 1) * K || second.length !== o * width || (bias !== null && bias.length !== o)) {
    throw new ShapeError(`seriesCoefficientSlab: out ${out.length} (want ≥ ${o}·${K}), scale ${scale.length}, second ${second.length}, bias ${bias?.length}`);
  }
  const bad = out instanceof Float32Array ? slab32(out, second, scale, units, n * K, o, width, K, bias) : slabBf16(out, second, scale, units, n * K, o, width, K, bias);
  chargeFlops(o * K + (bias === null ? 0 : 2 * o * K));
  return bad;
}

/** units = 0, 1, …, h − 1. */
function isIdentity(units: Int32Array, h: number): boolean {
  if (units.length !== h) return false;
  for (let k = 0; k < h; k++) if (units[k] !== k) return false;
  return true;
}

function slab32(out: Float32Array, second: FloatArray, scale: FloatArray, units: Int32Array, s0: number, o: number, h: number, K: number, bias: FloatArray | null): number {
  // Every unit expanded, in order (the default, for every order but a biased Θ[0]): units[k] = k, so W's row is read straight, not gathered.
  const everyUnit = isIdentity(units, h);
  for (let i = 0; i < o; i++) {
    const row = i * K;
    const wRow = i * h;
    if (bias === null && everyUnit) for (let k = 0; k < K; k++) out[row + k] = second[wRow + k] * scale[s0 + k];
    else if (bias === null) for (let k = 0; k < K; k++) out[row + k] = second[wRow + units[k]] * scale[s0 + k];
    else {
      const c = bias[i];
      for (let k = 0; k < K; k++) out[row + k] = Math.fround(second[wRow + units[k]] * scale[s0 + k]) + c / K;
    }
  }
  // The first stored value that is not finite, by its exponent bits, eight at a time without a
  // branch per value (a per-value test after every row cost a third of the slab's time).
  return firstAllOnesExponent32(new Uint32Array(out.buffer, out.byteOffset, o * K));
}

/** One row of products in float32, reused from call to call (grown as needed). */
let bf16Row = new Float32Array(0);

function slabBf16(out: Uint16Array, second: FloatArray, scale: FloatArray, units: Int32Array, s0: number, o: number, h: number, K: number, bias: FloatArray | null): number {
  let bad = -1;
  if (bf16Row.length < K) bf16Row = new Float32Array(K);
  const f = bf16Row;
  const u = new Uint32Array(f.buffer, 0, K);
  const everyUnit = isIdentity(units, h); // units[k] = k: no gather (as slab32)
  for (let i = 0; i < o; i++) {
    const row = i * K;
    const wRow = i * h;
    // A row's float32 values first (the store rounds), then their bits to bf16: two tight loops.
    if (bias === null && everyUnit) for (let k = 0; k < K; k++) f[k] = second[wRow + k] * scale[s0 + k];
    else if (bias === null) for (let k = 0; k < K; k++) f[k] = second[wRow + units[k]] * scale[s0 + k];
    else {
      const c = bias[i];
      for (let k = 0; k < K; k++) f[k] = Math.fround(second[wRow + units[k]] * scale[s0 + k]) + c / K;
    }
    let exponents = 0; // OR of (bf16 exponent + 1): bit 8 set iff one is all ones
    for (let k = 0; k < K; k++) {
      const x = u[k];
      const b = bf16FromFloat32Bits(x); // nearest-even (NaN stays a quiet NaN)
      out[row + k] = b;
      exponents |= ((b >>> 7) & 0xff) + 1;
    }
    if (bad < 0 && (exponents & 0x100) !== 0) {
      for (let k = 0; k < K; k++) {
        if ((out[row + k] & 0x7f80) === 0x7f80) {
          bad = row + k;
          break;
        }
      }
    }
  }
  return bad;
}

/** In place: Θ[0, i, k] += bias[i]/K (the output bias spread over the K order-0 terms). 2·o·K FLOPs. */
export function foldBiasIntoOrderZero(theta: FloatArray, bias: FloatArray, K: number): void {
  const o = bias.length;
  if (theta.length < o * K) throw new ShapeError(`foldBiasIntoOrderZero: Θ has ${theta.length}, want at least ${o}·${K}`);
  for (let i = 0; i < o; i++) for (let k = 0; k < K; k++) theta[i * K + k] += bias[i] / K;
  chargeFlops(2 * o * K);
}

/**
 * One token's hidden layer with series units collapsed: for unit j, pre = z[j] + b[j]; where
 * bySeries[j], Σₙ₌₀ᴺ c[j, n]·δⁿ with δ = pre − point[j] (masked orders skipped, δⁿ still formed),
 * else Act(pre); times up[j] for a gated block. Charges per unit 1 (bias) + [gate] 1, and per series
 * unit 1 (δ) + per order 1 (the power) + 2 when the order is kept; per other unit valueFlops(pre).
 */
export function collapsedSeriesUnits(
  act: Activation,
  z: FloatArray,
  bias: FloatArray | null,
  up: FloatArray | null,
  bySeries: Uint8Array,
  point: FloatArray,
  coefficients: FloatArray,
  order: number,
  mask: SeriesMask | null,
): Float64Array {
  const h = z.length;
  if (bySeries.length !== h || point.length !== h || coefficients.length !== h * (order + 1) || (bias !== null && bias.length !== h) || (up !== null && up.length !== h)) {
    throw new ShapeError(`collapsedSeriesUnits: shapes do not agree with ${h} units of order ${order}`);
  }
  const hidden = new Float64Array(h);
  let flops = 0;
  for (let j = 0; j < h; j++) {
    const pre = z[j] + (bias === null ? 0 : bias[j]);
    flops++;
    let value: number;
    if (bySeries[j] === 1) {
      const delta = pre - point[j];
      flops++;
      value = 0;
      let power = 1;
      for (let n = 0; n <= order; n++) {
        if (!masks(mask, n, delta)) {
          value += coefficients[j * (order + 1) + n] * power;
          flops += 2;
        }
        power *= delta;
        flops++;
      }
    } else {
      value = act.value(pre);
      flops += act.valueFlops(pre);
    }
    if (up === null) hidden[j] = value;
    else {
      hidden[j] = value * up[j];
      flops++;
    }
  }
  chargeFlops(flops);
  return hidden;
}

/**
 * The expansion points of the expanded units (eq. 10 and Algorithm 1's z0 + b): for unit j = units[k],
 * center = (z_max[j] + z_min[j])/2, the published z0[k] = s_j·center, and u[k] = center + b_j
 * (+ 0 without a bias). 4 FLOPs per unit.
 */
export function expansionPoints(max: FloatArray, min: FloatArray, bias: FloatArray | null, units: Int32Array, sign: (j: number) => number): { z0: Float64Array; u: Float64Array } {
  const K = units.length;
  const z0 = new Float64Array(K);
  const u = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const j = units[k];
    const center = (max[j] + min[j]) / 2;
    z0[k] = sign(j) * center;
    u[k] = center + (bias === null ? 0 : bias[j]);
  }
  chargeFlops(4 * K);
  return { z0, u };
}
