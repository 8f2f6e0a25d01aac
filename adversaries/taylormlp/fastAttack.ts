import type { Activation } from '../../src/numerics/activations';
import { DTYPE_SIZES, SafetensorsFile, StoredTensor, toFloat32 } from '../../src/numerics/io/safetensors';
import { scaledDerivatives } from '../../src/numerics/tensor/derivativeKernels';
import { outputBiasFromShares } from '../../src/numerics/tensor/consensusKernels';
import { columnsFromOrder, inverseOrderScale, orderDisagreement } from '../../src/numerics/tensor/fastAttackKernels';
import type { FloatArray } from '../../src/numerics/tensor/tensor';
import { BlockMeta, ReleasedFileError, ReleasedModelInfo } from '../../schemes/taylormlp/artifact';
import type { ReleasedBlock } from '../../schemes/taylormlp/release';
import type { StorageDType } from '../../schemes/taylormlp/storage';
import { consensusRecoverBlock, STORAGE_EPSILON } from './consensus';
import { UnitClass, UnitStatus } from './recovered';

/**
 * The consensus attack reading only what it needs, for big blocks (`weightgames attack`).
 *
 * Θ[n, i, k] = sⁿ·W[i, j]·Act⁽ⁿ⁾(u)/n! is rank one per unit, so every row gives the same (s, u):
 * 1. Sample: S rows spread over the block, every order (positioned reads of just those rows), and
 *    the full consensus on them — (s, u), the unit's identifiability class and its predicted error
 *    from S rows (a noisier profile than all o rows, so a unit exact here with margin is exact
 *    there). Any unit that is not exact with margin: the block goes to the full consensus.
 * 2. Check, per unit, each order n alone against the all-orders estimate on the sample rows:
 *    W = Θ[n]·1/(sⁿ·Act⁽ⁿ⁾(u)/n!) must agree to tol/10 + half the storage precision (relative to the
 *    column's largest entry). The fewest orders that serve every unit (at most MAX_SLABS) are read.
 * 3. One sweep over those order slabs gives W; order 0 gives c (c_i = Σ_k Θ[0, i, k] − W·Act(u)),
 *    V is the released first layer with the fitted signs. Any unit no read order serves: the full
 *    consensus for the block.
 * Recovery then equals the full method's in quality (the same classes; W to the storage
 * precision), reading about (3 + S·(N+1)/o) of the N + 1 order slabs. f32 and f64 releases only:
 * in bf16/f16 one order's rounding is not averaged away (worst entry 7.8e-3 against the full
 * method's 3.9e-3 on the OPT-125M shape), so those go to the full consensus.
 */

/** Rows sampled per block for (s, u): the first size, then the next where a unit falls short. */
export const SAMPLE_SIZES = [64, 256] as const;
export const SAMPLE_ROWS = SAMPLE_SIZES[0];
/** Order slabs read for W at most (order 0 for c comes on top). */
export const MAX_SLABS = 2;

export interface FastRecovery {
  readonly status: Uint8Array;
  readonly reason: Uint8Array;
  readonly unitClass: Uint8Array;
  /** Recovered tensors in the original names and layout, float32 (valid until the next call). */
  readonly tensors: Map<string, { bytes: Uint8Array }>;
  /** Bytes of the release read for this block. */
  readonly bytesRead: number;
  /** Orders whose slabs were read for W. */
  readonly orders: number[];
}

class Scratch {
  private buffer = new Uint8Array(0);
  get(bytes: number): Uint8Array {
    if (this.buffer.length < bytes) this.buffer = new Uint8Array(new ArrayBuffer(Math.ceil(bytes / 8) * 8));
    return this.buffer.subarray(0, bytes);
  }
}
const scratch = { slab: new Scratch(), first: new Scratch(), out: [new Scratch(), new Scratch(), new Scratch()], w: new Scratch() };

const checked = (stored: StoredTensor, values: Float32Array): Float32Array => {
  for (let q = 0; q < values.length; q++) if (!Number.isFinite(values[q])) throw new ReleasedFileError(`tensor ${stored.name} holds ${values[q]} at index ${q}: a release holds finite values only`);
  return values;
};
const floats = (stored: StoredTensor): Float32Array => checked(stored, toFloat32(stored));
const i32 = (stored: StoredTensor): Int32Array => {
  if (stored.dtype !== 'I32') throw new ReleasedFileError(`${stored.name}: expected I32, found ${stored.dtype}`);
  return new Int32Array(stored.bytes.slice().buffer);
};

/** Whether the fast path applies: a block big enough that sampling pays, and a plain or SwiGLU layout it knows. */
export function fastApplies(meta: BlockMeta, K: number): boolean {
  return K >= 16 && meta.outputDim >= 4 * SAMPLE_ROWS;
}

/** Recover one block reading only what it needs; null where the full consensus must decide (the caller runs it). */
export function fastRecoverBlock(file: SafetensorsFile, meta: BlockMeta, info: ReleasedModelInfo, act: Activation, signs: boolean, tol = 0.01): FastRecovery | null {
  const P = `${meta.prefix}.taylor`;
  const { inputDim: d, hiddenDim: h, outputDim: o } = meta;
  const N = info.order;
  const dtype: StorageDType = info.dtype;
  const expanded = i32(file.tensor(`${P}.expanded_units`));
  const plain = i32(file.tensor(`${P}.plain_units`));
  const K = expanded.length;
  // Half-precision storage: one order's rounding (up to 2⁻⁹ relative in bf16) is not averaged away
  // by the other orders, which doubles the worst entry's error against the full consensus — the
  // full method decides there.
  if (!fastApplies(meta, K) || N < 2 || !(STORAGE_EPSILON[info.dtype] <= 2 ** -24)) return null;
  const thetaName = `${P}.theta`;
  const size = DTYPE_SIZES[file.header.entries.find((e) => e.name === thetaName)!.dtype];
  let bytesRead = 0;
  const has = (name: string): boolean => file.has(name);
  const z0 = floats(file.tensor(`${P}.z0`));
  const plainBias = has(`${P}.plain_bias`) ? floats(file.tensor(`${P}.plain_bias`)) : null;
  const plainSecond = floats(file.tensor(`${P}.plain_weight`));
  const outputBias = has(`${P}.output_bias`) ? floats(file.tensor(`${P}.output_bias`)) : null;

  // 1. The sample: S rows, every order; more rows where S leaves a unit short of exact with margin.
  let S = 0;
  let rows = new Int32Array(0);
  let sample = new Float32Array(0);
  let rec: ReturnType<typeof consensusRecoverBlock> | null = null;
  for (const count of SAMPLE_SIZES) {
    if (count > o / 2) break;
    S = count;
    rows = Int32Array.from({ length: S }, (_, s) => Math.floor(((s + 0.5) * o) / S));
    sample = new Float32Array((N + 1) * S * K);
    const rowBuffer = scratch.w.get(K * size);
    for (let n = 0; n <= N; n++) {
      for (let s = 0; s < S; s++) {
        sample.set(floats(file.range(thetaName, (n * o + rows[s]) * K * size, K * size, rowBuffer)), (n * S + s) * K);
        bytesRead += K * size;
      }
    }
    const sub: ReleasedBlock = {
      kind: meta.kind,
      inputDim: 0,
      hiddenDim: h,
      outputDim: S,
      order: N,
      first: new Float32Array(0),
      up: null,
      expanded,
      z0,
      theta: sample,
      plain,
      plainBias,
      plainSecond: pickRows(plainSecond, rows, plain.length),
      outputBias: outputBias === null ? null : Float32Array.from(rows, (i) => outputBias[i]),
      mask: info.mask,
    };
    const candidate = consensusRecoverBlock(sub, act, dtype, { signs, tol });
    // The profile's noise falls as 1/√rows: all o rows predict about √(S/o) of the sample's error.
    const shrink = Math.sqrt(S / o);
    let short = -1;
    for (let k = 0; k < K && short < 0; k++) {
      const j = expanded[k];
      if (candidate.unitClass?.[j] !== UnitClass.exact || !(candidate.predictedError[j] * shrink <= tol / 4)) short = j;
    }
    if (short < 0) {
      rec = candidate;
      break;
    }
    if (process.env.WEIGHTGAMES_FAST_DEBUG === '1') process.stderr.write(`fast: ${meta.prefix} S = ${S}: unit ${short} class ${candidate.unitClass?.[short]} predicted ${candidate.predictedError[short]}\n`);
  }
  if (rec === null) return null;
  const sign = rec.sign!;

  // 2. Per unit, the orders that alone give its W (checked on the sample rows); the fewest orders that serve all.
  const threshold = tol / 10 + STORAGE_EPSILON[dtype] / 2;
  const coefficients = new Float64Array((N + 1) * K);
  const act0 = new Float64Array(K);
  const serves = new Uint8Array((N + 1) * K);
  const p = new Float64Array(N + 1);
  // Order 1 first for every unit (it serves nearly all of them); the other orders only for units it does not serve.
  let unserved = 0;
  for (let k = 0; k < K; k++) {
    const j = expanded[k];
    scaledDerivatives(act, rec.expansionPoint[j], N, p);
    act0[k] = p[0];
    for (let n = 1; n <= N; n++) if (Math.abs(p[n]) > 0) coefficients[n * K + k] = inverseOrderScale(p[n], sign[j], n);
    if (coefficients[K + k] !== 0 && orderDisagreement(sample, 1, k, coefficients[K + k], rec.second, j, S, K, h) <= threshold) serves[K + k] = 1;
    else unserved++;
  }
  if (unserved > 0) {
    for (let k = 0; k < K; k++) {
      if (serves[K + k]) continue;
      const j = expanded[k];
      for (let n = 2; n <= N; n++) if (coefficients[n * K + k] !== 0 && orderDisagreement(sample, n, k, coefficients[n * K + k], rec.second, j, S, K, h) <= threshold) serves[n * K + k] = 1;
    }
  }
  const assigned = new Int8Array(K).fill(-1);
  const orders: number[] = [];
  while (orders.length < MAX_SLABS && assigned.includes(-1)) {
    let best = -1;
    let bestCount = 0;
    for (let n = 1; n <= N; n++) {
      let count = 0;
      for (let k = 0; k < K; k++) if (assigned[k] < 0 && serves[n * K + k]) count++;
      if (count > bestCount) [best, bestCount] = [n, count];
    }
    if (best < 0) break;
    orders.push(best);
    for (let k = 0; k < K; k++) if (assigned[k] < 0 && serves[best * K + k]) assigned[k] = best;
  }
  if (assigned.includes(-1)) {
    if (process.env.WEIGHTGAMES_FAST_DEBUG === '1') process.stderr.write(`fast: ${assigned.filter((a) => a < 0).length} units no order serves\n`);
    return null;
  }

  // 3. One sweep over the chosen slabs for W; order 0 for c; V with the fitted signs.
  const wBytes = scratch.out[0].get(o * h * 8);
  const second = new Float64Array(wBytes.buffer, wBytes.byteOffset, o * h);
  const slabBuffer = scratch.slab.get(o * K * size);
  for (const n of orders) {
    const slab = floats(file.range(thetaName, n * o * K * size, o * K * size, slabBuffer));
    bytesRead += o * K * size;
    const pick = Uint8Array.from(assigned, (a) => (a === n ? 1 : 0));
    columnsFromOrder(slab, coefficients.subarray(n * K, (n + 1) * K), pick, expanded, o, K, h, second);
  }
  for (let q = 0; q < plain.length; q++) for (let i = 0; i < o; i++) second[i * h + plain[q]] = plainSecond[i * plain.length + q];
  let secondBias: Float64Array | null = null;
  if (meta.secondBias !== null) {
    secondBias = new Float64Array(o);
    if (outputBias !== null) secondBias.set(outputBias);
    else {
      const slab0 = floats(file.range(thetaName, 0, o * K * size, slabBuffer));
      bytesRead += o * K * size;
      outputBiasFromShares(slab0, second, act0, new Uint8Array(K).fill(1), expanded, o, h, K, secondBias);
    }
  }
  const firstStored = file.tensor(meta.first, scratch.first.get(h * d * 4));
  bytesRead += firstStored.bytes.length;
  const V = floats(firstStored);
  const conv = meta.layout === 'gpt2';
  const firstOut = new Float32Array(scratch.out[1].get(h * d * 4).buffer, 0, h * d);
  if (conv) for (let q = 0; q < h * d; q++) firstOut[q] = sign[q % h] < 0 ? -V[q] : V[q];
  else for (let j = 0; j < h; j++) {
    const flip = sign[j] < 0;
    for (let c = 0; c < d; c++) firstOut[j * d + c] = flip ? -V[j * d + c] : V[j * d + c];
  }
  const secondOut = new Float32Array(scratch.out[2].get(o * h * 4).buffer, 0, o * h);
  if (conv) for (let i = 0; i < o; i++) for (let j = 0; j < h; j++) secondOut[j * o + i] = second[i * h + j];
  else secondOut.set(second);
  const tensors = new Map<string, { bytes: Uint8Array }>();
  tensors.set(meta.first, { bytes: new Uint8Array(firstOut.buffer, 0, h * d * 4) });
  tensors.set(meta.second, { bytes: new Uint8Array(secondOut.buffer, 0, o * h * 4) });
  if (meta.up !== null) {
    const up = file.tensor(meta.up);
    bytesRead += up.bytes.length;
    tensors.set(meta.up, { bytes: new Uint8Array(Float32Array.from(floats(up)).buffer) });
  }
  if (meta.firstBias !== null) tensors.set(meta.firstBias, { bytes: new Uint8Array(Float32Array.from(rec.firstBias!).buffer) });
  if (meta.secondBias !== null) tensors.set(meta.secondBias, { bytes: new Uint8Array(Float32Array.from(secondBias!).buffer) });
  const status = new Uint8Array(h);
  for (const j of plain) status[j] = UnitStatus.plain;
  return { status, reason: rec.reason ?? new Uint8Array(h), unitClass: rec.unitClass ?? new Uint8Array(h), tensors, bytesRead, orders };
}

function pickRows(values: FloatArray, rows: Int32Array, width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (let s = 0; s < rows.length; s++) for (let m = 0; m < width; m++) out[s * width + m] = values[rows[s] * width + m];
  return out;
}
