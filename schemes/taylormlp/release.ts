import { WeightgamesError } from '../../src/kernel/errors';
import type { Activation } from '../../src/numerics/activations';
import { MAX_ORDER } from '../../src/numerics/activations';
import type { MlpBlock } from '../../src/numerics/models/mlp';
import { preActivations } from '../../src/numerics/models/mlp';
import { Tensor } from '../../src/numerics/tensor/tensor';
import { expansionPoints, fillSeriesCoefficients, foldBiasIntoOrderZero } from '../../src/numerics/tensor/seriesKernels';
import { StorageDType, roundToStorage, storageArray } from './storage';
import type { FloatArray } from '../../src/numerics/tensor/tensor';
import { taylorCoefficients } from '../../src/numerics/tensor/derivativeKernels';

/** Which hidden units TaylorMLP expands: all (Algorithm 1), a count K, or a fraction, smallest calibration range first. */
export type ExpandOption = { readonly all: true } | { readonly count: number } | { readonly fraction: number };

/** The authors' high-order mask: orders above `minOrder` are used only where |z − z0| ≤ `threshold`. */
export interface OrderMask {
  readonly minOrder: number;
  readonly threshold: number;
}

export interface TaylorOptions {
  /** N: the highest order kept. */
  readonly order: number;
  readonly expand?: ExpandOption;
  /** Random ±1 sign per expanded unit (drawn by KGen; the secret key). */
  readonly signs?: boolean;
  readonly mask?: OrderMask | null;
  readonly dtype?: StorageDType;
  /** The authors' calibration: running min/max started at 0, so z_max ≥ 0 ≥ z_min. Default: the paper's min/max. */
  readonly rangeIncludesZero?: boolean;
}

export class TaylorOptionsError extends WeightgamesError {
  override readonly name = 'TaylorOptionsError';
  readonly kind = 'usage';
}

/**
 * The highest order a release may use: the attack's fit reads two orders beyond N (Act⁽ᴺ⁺²⁾, its
 * Newton curvature), and derivatives are computed up to MAX_ORDER — so release refuses what
 * attack cannot read.
 */
export const MAX_RELEASE_ORDER = MAX_ORDER - 2;

export function checkTaylorOptions(o: TaylorOptions): void {
  if (!Number.isInteger(o.order) || o.order < 0 || o.order > MAX_RELEASE_ORDER) throw new TaylorOptionsError(`order N must be an integer in [0, ${MAX_RELEASE_ORDER}], got ${o.order}`);
  const e = o.expand;
  if (e !== undefined && 'count' in e && (!Number.isInteger(e.count) || e.count < 0)) throw new TaylorOptionsError(`expand count must be a non-negative integer, got ${e.count}`);
  if (e !== undefined && 'fraction' in e && !(e.fraction >= 0 && e.fraction <= 1)) throw new TaylorOptionsError(`expand fraction must be in [0, 1], got ${e.fraction}`);
  if (o.mask != null && (!Number.isInteger(o.mask.minOrder) || o.mask.minOrder < 0 || !(Number.isFinite(o.mask.threshold) && o.mask.threshold > 0))) {
    throw new TaylorOptionsError(`mask needs an integer minOrder ≥ 0 and a finite threshold > 0, got minOrder ${o.mask.minOrder}, threshold ${o.mask.threshold}`);
  }
}

/** Calibration range of each hidden unit's pre-activation z = first·x. */
export interface CalibrationRange {
  readonly min: Float64Array;
  readonly max: Float64Array;
}

/** z_min, z_max per unit over a batch of calibration inputs [T, input]. */
export function calibrationRange(block: MlpBlock, inputs: Tensor, includeZero = false): CalibrationRange {
  const z = preActivations(block, inputs).data;
  const h = block.hiddenDim;
  const min = new Float64Array(h).fill(includeZero ? 0 : Infinity);
  const max = new Float64Array(h).fill(includeZero ? 0 : -Infinity);
  for (let t = 0; t < inputs.shape[0]; t++) {
    for (let j = 0; j < h; j++) {
      const v = z[t * h + j];
      if (v < min[j]) min[j] = v;
      if (v > max[j]) max[j] = v;
    }
  }
  return { min, max };
}

/** K, how many of h hidden units are expanded: known before calibration (which only says which ones). */
export const expandedCount = (h: number, expand: ExpandOption): number => ('all' in expand ? h : 'count' in expand ? Math.min(h, expand.count) : Math.round(expand.fraction * h));

/** The units to expand: the K with the smallest calibration range (ties by index), in increasing index order. */
export function unitsToExpand(range: CalibrationRange, expand: ExpandOption): Int32Array {
  const h = range.min.length;
  const k = expandedCount(h, expand);
  const order = Array.from({ length: h }, (_, j) => j).sort((a, b) => range.max[a] - range.min[a] - (range.max[b] - range.min[b]) || a - b);
  return Int32Array.from(order.slice(0, k).sort((a, b) => a - b));
}

/**
 * A released TaylorMLP block (Algorithm 1), every float already rounded to the storage dtype.
 * For expanded unit k (hidden unit j = expanded[k]) with expansion point z0_j and u_j = z0_j + b_j:
 *   Θ[n, i, k] = s_jⁿ · W[i, j] · Act⁽ⁿ⁾(u_j)/n!      (Algorithm 1 line 5; s_j the unit's sign)
 *   Θ[0, i, k] += c_i / K                             (line 3: c folded into the n = 0 term, so that
 *                                                       Σ_k Θ[0, i, k] = ⟨W_i, Act(z0 + b)⟩ + c_i, eq. 13)
 * and the first layer's row j and z0_j are multiplied by s_j. Plain units keep b_j and W[:, j].
 */
export interface ReleasedBlock {
  readonly kind: MlpBlock['kind'];
  readonly inputDim: number;
  readonly hiddenDim: number;
  readonly outputDim: number;
  readonly order: number;
  /** V (or G), rows of expanded units multiplied by their sign: [hidden, input]. */
  readonly first: FloatArray;
  /** U (swiglu), [hidden, input]. */
  readonly up: FloatArray | null;
  readonly expanded: Int32Array;
  /** s_j·z0_j per expanded unit. */
  readonly z0: FloatArray;
  /** Θ: [(N+1), output, K]. */
  readonly theta: FloatArray;
  readonly plain: Int32Array;
  /** b_j of plain units (plain blocks with a bias). */
  readonly plainBias: FloatArray | null;
  /** W[:, j] of plain units: [output, hidden − K]. */
  readonly plainSecond: FloatArray;
  /** c, when nothing is expanded to fold it into. */
  readonly outputBias: FloatArray | null;
  readonly mask: OrderMask | null;
}

/**
 * Release(sk, W) for one block. `signs` (±1 per hidden unit, or null) is the secret key;
 * `range` the calibration range that gives z0 = (z_max + z_min)/2 (eq. 10).
 */
export function releaseBlock(block: MlpBlock, act: Activation, range: CalibrationRange, options: TaylorOptions, signs: Int8Array | null): ReleasedBlock {
  checkTaylorOptions(options);
  const N = options.order;
  const dtype = options.dtype ?? 'f32';
  const { hiddenDim: h, outputDim: o, inputDim: d } = block;
  const expanded = unitsToExpand(range, options.expand ?? { all: true });
  const K = expanded.length;
  const isExpanded = new Uint8Array(h);
  for (const j of expanded) isExpanded[j] = 1;
  const plain = Int32Array.from(Array.from({ length: h }, (_, j) => j).filter((j) => isExpanded[j] === 0));
  const sign = (j: number): number => (signs === null ? 1 : signs[j]);

  const first = block.first.slice();
  for (const j of expanded) if (sign(j) < 0) for (let c = 0; c < d; c++) first[j * d + c] = -first[j * d + c];

  // z0 = (z_max + z_min)/2 (eq. 10), published as s·z0; u = z0 + b, the point Act is expanded at.
  const { z0, u } = expansionPoints(range.max, range.min, block.firstBias, expanded, sign);
  // scale[n·K + k] = s_jⁿ·Act⁽ⁿ⁾(u_j)/n!, then Θ[n, i, k] = W[i, j_k]·scale[n·K + k] row by row
  // (contiguous in k: the loop streams W's row i and Θ's row (n, i)).
  const scale = new Float64Array((N + 1) * K);
  const coefficients = new Float64Array(N + 1);
  for (let k = 0; k < K; k++) {
    // Act⁽ⁿ⁾(z0 + b)/n! · sⁿ (Algorithm 1 line 5, with the implementation's random signs)
    taylorCoefficients(act, u[k], N, sign(expanded[k]), coefficients);
    for (let n = 0; n <= N; n++) scale[n * K + k] = coefficients[n];
  }
  const theta = storageArray(dtype, (N + 1) * o * K); // written in the storage precision directly
  fillSeriesCoefficients(theta, block.second, scale, expanded, N, o, h);
  if (K > 0 && block.secondBias !== null) foldBiasIntoOrderZero(theta, block.secondBias, K);

  const plainSecond = new Float64Array(o * plain.length);
  for (let i = 0; i < o; i++) for (let m = 0; m < plain.length; m++) plainSecond[i * plain.length + m] = block.second[i * h + plain[m]];
  const plainBias = block.firstBias === null ? null : Float64Array.from(plain, (j) => block.firstBias![j]);
  return {
    kind: block.kind,
    inputDim: d,
    hiddenDim: h,
    outputDim: o,
    order: N,
    first: roundToStorage(first, dtype),
    up: block.up === null ? null : roundToStorage(block.up.slice(), dtype),
    expanded,
    z0: roundToStorage(z0, dtype),
    theta: roundToStorage(theta, dtype),
    plain,
    plainBias: plainBias === null ? null : roundToStorage(plainBias, dtype),
    plainSecond: roundToStorage(plainSecond, dtype),
    outputBias: K === 0 && block.secondBias !== null ? roundToStorage(block.secondBias.slice(), dtype) : null,
    mask: options.mask ?? null,
  };
}
