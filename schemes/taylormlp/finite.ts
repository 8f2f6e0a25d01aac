import { WeightgamesError } from '../../src/kernel/errors';
import type { MlpBlock } from '../../src/numerics/models/mlp';
import type { Activation } from '../../src/numerics/activations';
import type { FloatArray } from '../../src/numerics/tensor/tensor';
import { CalibrationRange, ReleasedBlock, TaylorOptions, unitsToExpand } from './release';
import { StorageDType, roundToStorage } from './storage';

/**
 * The finiteness guard of a release: everything the release computes and stores must be finite
 * in the storage dtype. Two checks of the same property:
 *   - before any work (pass 1, from the original block and its calibration range): the largest
 *     magnitude of every stored tensor, computed exactly as the release will compute it, rounded
 *     to the dtype. Θ's is separable: max_{n≥1, i} |W[i, j]·s_n| = max_i |W[i, j]| · max_{n≥1} |s_n|
 *     with s_n = Act⁽ⁿ⁾(u_j)/n!, and Θ[0] adds c/K (checked entry by entry);
 *   - after each block is released (pass 2): every stored value, scanned.
 * A value that overflows is refused with a typed error naming the layer, the tensor and the cause
 * (or, when asked, the release is stored in the narrowest wider dtype that holds it).
 */

/** A value the release would store is NaN or ±∞. */
export class NonFiniteReleaseError extends WeightgamesError {
  override readonly name: string = 'NonFiniteReleaseError';
  readonly kind = 'input';
}

/** A finite value the release computes overflows the storage dtype. */
export class StorageOverflowError extends NonFiniteReleaseError {
  override readonly name = 'StorageOverflowError';
}

/** The largest finite value of each storage dtype. */
export const STORAGE_MAX: Readonly<Record<StorageDType, number>> = { f64: Number.MAX_VALUE, f32: 3.4028234663852886e38, bf16: 3.3895313892515355e38, f16: 65504 };

/** Wider dtypes to try, in order, when `widen` is asked for. */
export const WIDER: Readonly<Record<StorageDType, readonly StorageDType[]>> = { f16: ['f32', 'f64'], bf16: ['f32', 'f64'], f32: ['f64'], f64: [] };

/** The largest magnitude of each tensor a block's release stores (before rounding to the dtype). */
export interface ReleaseMagnitudes {
  readonly prefix: string;
  readonly largest: ReadonlyArray<{ readonly tensor: string; readonly value: number; readonly cause: string }>;
}

/**
 * max |v| (0 for none), NaN if any v is NaN (Math.max propagates it). Math.abs and Math.max compile
 * to branch-free instructions: a compare-and-branch on the sign of random weights mispredicts
 * half the time (measured 5× slower on a 4096 × 16384 layer).
 */
export const maxAbs = (values: ArrayLike<number> | null, pick?: ArrayLike<number>): number => {
  if (values === null) return 0;
  let m = 0;
  if (pick === undefined) for (let q = 0; q < values.length; q++) m = Math.max(m, Math.abs(values[q]));
  else for (let q = 0; q < pick.length; q++) m = Math.max(m, Math.abs(values[pick[q]]));
  return m;
};

/** columnMax[j] = max over rows i of |second[i·h + j]| (NaN if any is NaN), row by row (a column walk misses the cache). */
export function columnMaxima(second: ArrayLike<number>, o: number, h: number, columnMax: Float64Array): void {
  for (let i = 0; i < o; i++) {
    const row = i * h;
    for (let j = 0; j < h; j++) columnMax[j] = Math.max(columnMax[j], Math.abs(second[row + j]));
  }
}

/** What releaseMagnitudes reads of a block: an MlpBlock, or its weights as stored (float32 values are exact). */
export type MagnitudeBlock = Pick<MlpBlock, 'hiddenDim' | 'outputDim'> & { readonly first: FloatArray; readonly up: FloatArray | null; readonly second: FloatArray; readonly firstBias: FloatArray | null; readonly secondBias: FloatArray | null };

/** Pass 1: the magnitudes a block's release will store, from the block and its calibration range. */
export function releaseMagnitudes(prefix: string, block: MagnitudeBlock, act: Activation, range: CalibrationRange, options: TaylorOptions): ReleaseMagnitudes {
  const N = options.order;
  const { hiddenDim: h, outputDim: o } = block;
  const expanded = unitsToExpand(range, options.expand ?? { all: true });
  const K = expanded.length;
  const isExpanded = new Uint8Array(h);
  for (const j of expanded) isExpanded[j] = 1;
  const plain = Int32Array.from(Array.from({ length: h }, (_, j) => j).filter((j) => isExpanded[j] === 0));
  const largest: Array<{ tensor: string; value: number; cause: string }> = [];
  largest.push({ tensor: 'first layer (V)', value: maxAbs(block.first), cause: 'a weight of the first layer' });
  if (block.up !== null) largest.push({ tensor: 'up projection (U)', value: maxAbs(block.up), cause: 'a weight of the up projection' });
  // Column maxima of W (|W[i, j]| over i) for the expanded units.
  const columnMax = new Float64Array(h);
  columnMaxima(block.second, o, h, columnMax);
  const derivatives = new Float64Array(N + 1);
  let z0 = 0;
  let thetaHigh = 0;
  let thetaHighCause = '';
  let theta0 = 0;
  let theta0Cause0 = '';
  let factorial = 1;
  const factorials = Float64Array.from({ length: N + 1 }, (_, n) => (n === 0 ? 1 : (factorial *= n)));
  const points = new Float64Array(K);
  const act0 = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const j = expanded[k];
    const center = (range.max[j] + range.min[j]) / 2;
    z0 = Math.max(z0, Math.abs(center));
    const u = center + (block.firstBias === null ? 0 : block.firstBias[j]);
    act.derivatives(u, N, derivatives);
    for (let n = 1; n <= N; n++) {
      const v = columnMax[j] * Math.abs(derivatives[n] / factorials[n]);
      if (!(v <= thetaHigh)) [thetaHigh, thetaHighCause] = [v, `unit ${j}: W column max ${columnMax[j]} × Act⁽${n}⁾(u = ${u})/${n}!`];
    }
    points[k] = u;
    act0[k] = derivatives[0];
  }
  // Θ[0]'s largest |W·Act(u) (+ c/K)| over (unit, output), the first in unit-then-output order.
  const order0 = largestOrderZero(block.second, block.secondBias, expanded, act0, o, h);
  const theta0Cause = (k: number, i: number): string =>
    `unit ${expanded[k]}, output ${i}: W = ${block.second[i * h + expanded[k]]} × Act(u = ${points[k]})${block.secondBias === null ? '' : ` + c/K = ${block.secondBias[i]}/${K}`}`;
  if (order0.k >= 0) [theta0, theta0Cause0] = [order0.value, theta0Cause(order0.k, order0.i)];
  largest.push({ tensor: 'taylor.z0', value: z0, cause: 'an expansion point (calibration range centre)' });
  largest.push({ tensor: 'taylor.theta[0]', value: theta0, cause: theta0Cause0 });
  largest.push({ tensor: 'taylor.theta[n ≥ 1]', value: thetaHigh, cause: thetaHighCause });
  if (block.firstBias !== null) largest.push({ tensor: 'taylor.plain_bias', value: maxAbs(block.firstBias, plain), cause: 'a bias of a plain unit' });
  let plainSecond = 0;
  for (let i = 0; i < o; i++) for (const j of plain) plainSecond = Math.max(plainSecond, Math.abs(block.second[i * h + j]));
  largest.push({ tensor: 'taylor.plain_weight', value: plainSecond, cause: 'a weight of a plain unit' });
  if (K === 0 && block.secondBias !== null) largest.push({ tensor: 'taylor.output_bias', value: maxAbs(block.secondBias), cause: 'the output bias' });
  return { prefix, largest };
}

const storable = (value: number, dtype: StorageDType): boolean => Number.isFinite(roundToStorage(Float64Array.of(value), dtype)[0]);

/** Does every magnitude fit the dtype? */
export const fitsIn = (m: ReleaseMagnitudes, dtype: StorageDType): boolean => m.largest.every((x) => storable(x.value, dtype));

/** Refuse the first magnitude that is not finite, or not finite once rounded to the dtype. */
export function checkMagnitudes(m: ReleaseMagnitudes, dtype: StorageDType, hint = ''): void {
  for (const x of m.largest) {
    if (!Number.isFinite(x.value)) throw new NonFiniteReleaseError(`${m.prefix}: ${x.tensor} would be ${x.value} (${x.cause})`);
    if (!storable(x.value, dtype)) {
      throw new StorageOverflowError(`${m.prefix}: ${x.tensor} reaches ${x.value.toExponential(3)}, which overflows ${dtype} (largest finite ${STORAGE_MAX[dtype].toExponential(3)}; ${x.cause})${hint}`);
    }
  }
}

/** The narrowest dtype, `dtype` or wider, that holds every block's magnitudes (`dtype` itself if none does). */
export function widenedDtype(all: readonly ReleaseMagnitudes[], dtype: StorageDType): StorageDType {
  for (const candidate of [dtype, ...WIDER[dtype]]) if (all.every((m) => fitsIn(m, candidate))) return candidate;
  return dtype;
}

/** Pass 2: every value of a released block is finite (names the tensor and the index otherwise). */
export function checkReleasedFinite(prefix: string, released: ReleasedBlock, dtype: StorageDType): void {
  const parts: Array<[string, FloatArray | null]> = [
    ['first layer (V)', released.first],
    ['up projection (U)', released.up],
    ['taylor.z0', released.z0],
    ['taylor.theta', released.theta],
    ['taylor.plain_bias', released.plainBias],
    ['taylor.plain_weight', released.plainSecond],
    ['taylor.output_bias', released.outputBias],
  ];
  for (const [tensor, values] of parts) {
    if (values === null) continue;
    for (let q = 0; q < values.length; q++) {
      if (!Number.isFinite(values[q])) throw new StorageOverflowError(`${prefix}: ${tensor} holds ${values[q]} at index ${q} once stored in ${dtype}`);
    }
  }
}

/**
 * max over units k (in order) and outputs i of v = max(|p|, |p + c_i/K|), p = W[i, expanded[k]]·act0[k],
 * and the first (k, i) where it is reached — what scanning unit by unit, output by output, with
 * `if (!(v <= best))` finds (k = −1 where no v exceeds 0). Read row by row (a column walk strides by
 * h and misses the cache at every weight), keeping per unit its best; where a v is NaN, the
 * unit-by-unit scan itself (NaN compares false, so there every later v replaces the best).
 */
export function largestOrderZero(second: FloatArray, secondBias: FloatArray | null, expanded: Int32Array, act0: Float64Array, o: number, h: number): { value: number; k: number; i: number } {
  const K = expanded.length;
  const entry = (k: number, i: number): number => {
    const product = second[i * h + expanded[k]] * act0[k];
    return Math.max(Math.abs(product), Math.abs(product + (secondBias === null ? 0 : secondBias[i] / K)));
  };
  // Each unit's largest, streaming the rows with Math.max only (branch-free, see maxAbs: NaN
  // propagates into its unit's entry); the place is found after, in the one column that wins.
  const bestV = new Float64Array(K);
  for (let i = 0; i < o; i++) {
    const row = i * h;
    const c = secondBias === null ? 0 : secondBias[i] / K;
    for (let k = 0; k < K; k++) {
      const product = second[row + expanded[k]] * act0[k];
      bestV[k] = Math.max(bestV[k], Math.abs(product), Math.abs(product + c));
    }
  }
  let value = 0;
  let nan = false;
  for (let k = 0; k < K; k++) if (bestV[k] !== bestV[k]) nan = true;
  if (!nan) {
    // The first unit reaching the largest value, and its first output reaching it (unit-then-output order).
    for (let k = 0; k < K; k++) value = Math.max(value, bestV[k]);
    if (!(value > 0)) return { value, k: -1, i: -1 };
    const k = bestV.indexOf(value);
    for (let i = 0; i < o; i++) if (entry(k, i) === value) return { value, k, i };
    throw new Error('largestOrderZero: the largest entry was not found again'); // unreachable: the same arithmetic
  }
  let at = { k: -1, i: -1 };
  for (let k = 0; k < K; k++) {
    for (let i = 0; i < o; i++) {
      const v = entry(k, i);
      if (!(v <= value)) [value, at] = [v, { k, i }];
    }
  }
  return { value, ...at };
}
