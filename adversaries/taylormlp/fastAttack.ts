import type { Activation } from '../../src/numerics/activations';
import { DTYPE_SIZES, firstNonFinite, littleEndian, SafetensorsFile, StoredTensor, toFloat32 } from '../../src/numerics/io/safetensors';
import { widenBf16Into } from '../../src/numerics/io/halfPrecision';
import { fileJobScratch } from '../../src/numerics/tensor/scratch';
import { SweepKernel } from '../../src/numerics/tensor/simd/sweepKernel';
import { scaledDerivatives } from '../../src/numerics/tensor/derivativeKernels';
import { outputBiasFromShares, roundingNoise } from '../../src/numerics/tensor/consensusKernels';
import { accumulateOrder, combinedDisagreement, inverseOrderScale, orderDisagreement, orderScaleDeviation, precisionWeights } from '../../src/numerics/tensor/fastAttackKernels';
import type { FloatArray } from '../../src/numerics/tensor/tensor';
import { BlockMeta, ReleasedFileError, ReleasedModelInfo } from '../../schemes/taylormlp/artifact';
import type { ReleasedBlock } from '../../schemes/taylormlp/release';
import type { StorageDType } from '../../schemes/taylormlp/storage';
import { consensusRecoverBlock, STORAGE_EPSILON } from './consensus';
import { UnitClass, UnitStatus, UnrecoverableReason } from './recovered';

/**
 * The consensus attack reading only what it needs, for big blocks (`weightgames attack`).
 *
 * Θ[n, i, k] = sⁿ·W[i, j]·Act⁽ⁿ⁾(u)/n! is rank one per unit, so every row gives the same (s, u):
 * 1. Sample: S rows spread over the block, every order (positioned reads of just those rows), and
 *    the full consensus on them — (s, u), the unit's identifiability class and its predicted error
 *    from S rows (a noisier profile than all o rows, so a unit exact here with margin is exact
 *    there). Units not exact with margin go to step 4; a bigger sample only where they are more
 *    than step 4 takes.
 * 2. Check, per unit, the orders on the sample rows against the all-orders estimate there.
 *    f32/f64: W = Θ[n]·1/(sⁿ·Act⁽ⁿ⁾(u)/n!) from one order must agree to tol/10 + half the storage
 *    precision (relative to the column's largest entry); the fewest orders that serve every unit
 *    (at most MAX_SLABS) are read. bf16/f16: one order keeps its own rounding (up to ε = 2⁻⁸
 *    relative in bf16: the full method's worst entry is about that, one order alone twice it), so
 *    W is a precision-weighted average of up to MAX_HALF_SLABS orders — order n's weight
 *    1/(ε²/3 + δₙ²), δₙ its scale deviation from the all-orders estimate on the sample (the
 *    systematic error u leaves in it; orders with δₙ > tol/10 are not used) — and the average must
 *    agree with the sample's estimate to tol/10 + ε.
 * 3. One sweep over the chosen order slabs (row chunks, positioned reads) gives W; order 0 gives c
 *    (c_i = Σ_k Θ[0, i, k] − W·Act(u) over the exact units), V is the released first layer with the
 *    fitted signs.
 * 4. Per-unit fallback: units the sample or the check rejects (at most MAX_FALLBACK_SHARE of K;
 *    beyond that the caller runs the full consensus on the block) are recovered by the full
 *    consensus on their own columns — every row, every order — together with up to ANCHORS exact
 *    units (the identifiability classes use order 0 once c is known from exact units).
 * Recovery then equals the full method's in quality (the same classes; W to the storage precision).
 */

/** Rows sampled per block for (s, u): the first size, then the next where more units fall short than the per-unit fallback takes. */
export const SAMPLE_SIZES = [64, 256] as const;
export const SAMPLE_ROWS = SAMPLE_SIZES[0];
/** Order slabs read for W at most in f32/f64 (order 0 for c comes on top). */
export const MAX_SLABS = 2;
/** Order slabs averaged for W at most in bf16/f16 (order 0 for c comes on top). */
export const MAX_HALF_SLABS = 3;
/** Units recovered by the per-unit fallback at most: this share of K (at least 8, at most half); beyond it the block goes to the full consensus. */
export const MAX_FALLBACK_SHARE = 1 / 16;
/** Exact units fitted beside the fallback units (they give ĉ for the identifiability classes). */
export const ANCHORS = 64;
/** Units per tile of the transposed write of W (gpt2's Conv1D layout). */
const TILE = 16;
/** Bytes of Θ read per chunk of rows in the sweeps. */
const CHUNK_BYTES = 1 << 20;

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
  /** Hidden units recovered by the per-unit fallback (the full consensus on their columns). */
  readonly fallbackUnits: number[];
}

// Shared with the release (fileJobScratch), biggest onto biggest: W out ↔ its W read, V out ↔ its stored V.
const buffers = fileJobScratch;
const b = buffers.buffers;
const scratch = { secondOut: b.s0, firstOut: b.s1, first: b.s2, sample: b.s3, raw: b.s4, chunk: b.s5, acc: b.s6, w: b.s7 };

/** Let the sampled path's buffers go soon (at the end of an attack; the next attack soon after reuses them: see ScratchSet). */
export function dropFastBuffersSoon(): void {
  buffers.dropSoon();
}

export type FastScratchRole = keyof typeof scratch;

/**
 * Bytes each of the sampled path's buffers takes for the blocks of a release, as fastRecoverBlock
 * asks of them below where its first sample (SAMPLE_ROWS) serves (a bigger one, rare, asks more).
 * For memory that a thread with idle time touches before a worker's first block (a fresh page costs
 * far more than its use here; see Scratch): the worker then adopts it (adoptFastBuffers). A
 * shortfall only costs fresh pages again; nothing depends on it being exact.
 */
export function fastBufferBytes(file: SafetensorsFile, info: ReleasedModelInfo): Record<FastScratchRole, number> {
  const bytes: Record<FastScratchRole, number> = { secondOut: 0, firstOut: 0, first: 0, sample: 0, raw: 0, chunk: 0, acc: 0, w: 0 };
  const grow = (role: FastScratchRole, n: number): void => void (bytes[role] = Math.max(bytes[role], n));
  const entry = (name: string) => file.header.entries.find((e) => e.name === name);
  for (const meta of info.blocks) {
    const theta = entry(`${meta.prefix}.taylor.theta`);
    const first = entry(meta.first);
    const units = entry(`${meta.prefix}.taylor.expanded_units`);
    if (theta === undefined || first === undefined || units === undefined || units.shape.length !== 1) continue;
    const { inputDim: d, hiddenDim: h, outputDim: o } = meta;
    const size = DTYPE_SIZES[theta.dtype];
    const K = units.shape[0];
    if (!fastApplies(meta, K)) continue;
    const rowsChunk = Math.max(1, Math.floor(CHUNK_BYTES / (K * size)));
    const wide = first.dtype === 'F32';
    grow('secondOut', o * h * 4);
    grow('firstOut', wide ? 0 : h * d * 4);
    grow('first', first.end - first.begin);
    grow('sample', Math.max((info.order + 1) * SAMPLE_ROWS * K * 4, meta.up !== null && !wide ? h * d * 4 : 0));
    grow('raw', Math.max(Math.min(o, rowsChunk) * K * size, meta.up !== null && wide ? h * d * 4 : 0));
    grow('chunk', Math.min(o, rowsChunk) * K * 4);
    if (!sweepInKernel(theta.dtype)) grow('acc', Math.min(o, rowsChunk) * K * 8); // else the sweep's accumulator lives in the kernel's memory
    grow('w', K * size);
  }
  return bytes;
}

/** This thread's sampled-path buffers from `memory` (see fastBufferBytes), where it is bigger than what they hold. */
export function adoptFastBuffers(memory: Partial<Record<FastScratchRole, ArrayBufferLike>>): void {
  for (const role of Object.keys(scratch) as FastScratchRole[]) {
    const buffer = memory[role];
    if (buffer !== undefined) scratch[role].adopt(buffer);
  }
}

const checked = (stored: StoredTensor, values: Float32Array, base = 0): Float32Array => {
  // The stored bits' exponents first (a typed-view scan; NaN and ±∞ only), then the value named.
  const at = firstNonFinite(stored);
  if (at >= 0) throw new ReleasedFileError(`tensor ${stored.name} holds ${values[at]} at index ${base + at}: a release holds finite values only`);
  return values;
};
const floats = (stored: StoredTensor): Float32Array => checked(stored, toFloat32(stored));
/** The stored values as float32 into `out` (exact for F32/BF16/F16), checked finite; `base`: the tensor index of the first (for the message). */
const floatsInto = (stored: StoredTensor, out: Float32Array, base = 0): Float32Array => {
  const n = out.length;
  if (stored.dtype === 'BF16' && stored.bytes.byteOffset % 2 === 0 && littleEndian) {
    // bf16 is the top half of a float32; all-ones exponent bits mark NaN and ±∞ (checked in the same pass).
    return widenBf16Into(stored.bytes, out) ? checked(stored, out, base) : out;
  }
  if (stored.dtype === 'F32' && littleEndian) new Uint8Array(out.buffer, out.byteOffset, n * 4).set(stored.bytes.subarray(0, n * 4)); // the bytes as they are: no conversion
  else out.set(toFloat32(stored));
  return checked(stored, out, base);
};
const i32 = (stored: StoredTensor): Int32Array => {
  if (stored.dtype !== 'I32') throw new ReleasedFileError(`${stored.name}: expected I32, found ${stored.dtype}`);
  return new Int32Array(stored.bytes.slice().buffer);
};
const debug = (line: string): void => {
  if (process.env.WEIGHTGAMES_FAST_DEBUG === '1') process.stderr.write(`fast: ${line}\n`);
};

/** Whether the sweep runs in the SIMD kernel (float32 and bfloat16 slabs, little-endian) rather than through floatsInto and accumulateOrder. */
const sweepInKernel = (dtype: string): boolean => SweepKernel.available && littleEndian && (dtype === 'F32' || dtype === 'BF16');

/** Whether the fast path applies: a block big enough that sampling pays, and a plain or SwiGLU layout it knows. */
export function fastApplies(meta: BlockMeta, K: number): boolean {
  return K >= 16 && meta.outputDim >= 4 * SAMPLE_ROWS;
}

/** Recover one block reading only what it needs; null where the full consensus must decide (the caller runs it). */
export function fastRecoverBlock(file: SafetensorsFile, meta: BlockMeta, info: ReleasedModelInfo, act: Activation, signs: boolean, tol = 0.01): FastRecovery | null {
  buffers.claim();
  const P = `${meta.prefix}.taylor`;
  const { inputDim: d, hiddenDim: h, outputDim: o } = meta;
  const N = info.order;
  const dtype: StorageDType = info.dtype;
  const eps = STORAGE_EPSILON[dtype];
  const half = !(eps <= 2 ** -24);
  const expanded = i32(file.tensor(`${P}.expanded_units`));
  const plain = i32(file.tensor(`${P}.plain_units`));
  const K = expanded.length;
  if (!fastApplies(meta, K) || N < 2) return null;
  const thetaName = `${P}.theta`;
  const thetaDtype = file.header.entries.find((e) => e.name === thetaName)!.dtype;
  const size = DTYPE_SIZES[thetaDtype];
  /** Rows of Θ per chunk of the slab reads (CHUNK_BYTES of them). */
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / (K * size)));
  let bytesRead = 0;
  const has = (name: string): boolean => file.has(name);
  const z0 = floats(file.tensor(`${P}.z0`));
  const plainBias = has(`${P}.plain_bias`) ? floats(file.tensor(`${P}.plain_bias`)) : null;
  const plainSecond = floats(file.tensor(`${P}.plain_weight`));
  const outputBias = has(`${P}.output_bias`) ? floats(file.tensor(`${P}.output_bias`)) : null;
  const maxFallback = Math.min(Math.floor(K / 2), Math.max(8, Math.floor(K * MAX_FALLBACK_SHARE)));

  // 1. The sample: S rows, every order; more rows where S leaves a unit short of exact with margin.
  let S = 0;
  let sample: Float32Array = new Float32Array(0);
  let rec: ReturnType<typeof consensusRecoverBlock> | null = null;
  let short: number[] = [];
  for (const count of SAMPLE_SIZES) {
    if (count > o / 2) break;
    const rows = Int32Array.from({ length: count }, (_, s) => Math.floor(((s + 0.5) * o) / count));
    const values = scratch.sample.floats((N + 1) * count * K); // every entry written below
    const rowBuffer = scratch.w.get(K * size);
    for (let n = 0; n <= N; n++) {
      for (let s = 0; s < count; s++) {
        floatsInto(file.range(thetaName, (n * o + rows[s]) * K * size, K * size, rowBuffer), values.subarray((n * count + s) * K, (n * count + s + 1) * K), (n * o + rows[s]) * K);
        bytesRead += K * size;
      }
    }
    const sub: ReleasedBlock = {
      kind: meta.kind,
      inputDim: 0,
      hiddenDim: h,
      outputDim: count,
      order: N,
      first: new Float32Array(0),
      up: null,
      expanded,
      z0,
      theta: values,
      plain,
      plainBias,
      plainSecond: pickRows(plainSecond, rows, plain.length),
      outputBias: outputBias === null ? null : Float32Array.from(rows, (i) => outputBias[i]),
      mask: info.mask,
    };
    const candidate = consensusRecoverBlock(sub, act, dtype, { signs, tol });
    // The profile's noise falls as 1/√rows: all o rows predict about √(count/o) of the sample's error.
    const shrink = Math.sqrt(count / o);
    const shortHere: number[] = [];
    for (let k = 0; k < K; k++) {
      const j = expanded[k];
      if (candidate.unitClass?.[j] !== UnitClass.exact || !(candidate.predictedError[j] * shrink <= tol / 4)) shortHere.push(k);
    }
    [S, sample, rec, short] = [count, values, candidate, shortHere];
    // A few units short go to the per-unit fallback (the full consensus on their columns, every
    // row: as exact as the full method); a bigger sample only where they are too many for it. (A
    // bigger sample refits every unit of the block: on the OPT-125M-shaped bf16 release one block
    // had one unit short at 64 rows, and its 256-row refit cost ~1.2 s of the attack's ~6 s CPU.)
    if (short.length > 0) debug(`${meta.prefix} S = ${S}: ${short.length} units short of exact with margin (unit ${expanded[short[0]]}: class ${candidate.unitClass?.[expanded[short[0]]]}, predicted ${candidate.predictedError[expanded[short[0]]]})`);
    if (short.length <= maxFallback) break;
  }
  if (rec === null || short.length > maxFallback) return null;
  const sign = rec.sign!;
  const fallback = new Uint8Array(K);
  for (const k of short) fallback[k] = 1;

  // 2. Per unit, the orders that give its W (checked on the sample rows), and the slabs to read.
  const coefficients = new Float64Array((N + 1) * K); // 1/(sⁿ·p_n(u)), or 0 where p_n(u) = 0
  const act0 = new Float64Array(K);
  const p = new Float64Array(N + 1);
  for (let k = 0; k < K; k++) {
    if (fallback[k]) continue;
    scaledDerivatives(act, rec.expansionPoint[expanded[k]], N, p);
    act0[k] = p[0];
    for (let n = 1; n <= N; n++) if (Math.abs(p[n]) > 0) coefficients[n * K + k] = inverseOrderScale(p[n], sign[expanded[k]], n);
  }
  // weights[n·K + k]: order n's share of unit k's W (coefficient included); 0 where order n is not used.
  const weights = new Float64Array((N + 1) * K);
  const orders = half ? chooseHalf() : chooseSingle();
  /** f32/f64: one order per unit, the fewest orders that serve every unit (order 1 first: it serves nearly all). */
  function chooseSingle(): number[] {
    const threshold = tol / 10 + eps / 2;
    const serves = new Uint8Array((N + 1) * K);
    const disagree = (n: number, k: number): boolean => coefficients[n * K + k] !== 0 && orderDisagreement(sample, n, k, coefficients[n * K + k], rec!.second, expanded[k], S, K, h) <= threshold;
    for (let k = 0; k < K; k++) {
      if (fallback[k]) continue;
      if (disagree(1, k)) serves[K + k] = 1;
      else for (let n = 2; n <= N; n++) if (disagree(n, k)) serves[n * K + k] = 1;
    }
    const assigned = Int8Array.from(fallback, (f) => (f ? 0 : -1));
    const chosen: number[] = [];
    while (chosen.length < MAX_SLABS && assigned.includes(-1)) {
      let best = -1;
      let bestCount = 0;
      for (let n = 1; n <= N; n++) {
        let count = 0;
        for (let k = 0; k < K; k++) if (assigned[k] < 0 && serves[n * K + k]) count++;
        if (count > bestCount) [best, bestCount] = [n, count];
      }
      if (best < 0) break;
      chosen.push(best);
      for (let k = 0; k < K; k++) if (assigned[k] < 0 && serves[best * K + k]) assigned[k] = best;
    }
    for (let k = 0; k < K; k++) {
      if (fallback[k]) continue;
      if (assigned[k] < 0) fallback[k] = 1;
      else weights[assigned[k] * K + k] = coefficients[assigned[k] * K + k];
    }
    return chosen;
  }
  /** bf16/f16: per unit a precision-weighted average of the chosen orders that serve it; the orders serving the most units. */
  function chooseHalf(): number[] {
    const limit = tol / 10;
    const deviation = new Float64Array((N + 1) * K).fill(Infinity);
    const served = new Int32Array(N + 1);
    for (let k = 0; k < K; k++) {
      if (fallback[k]) continue;
      for (let n = 1; n <= N; n++) {
        if (coefficients[n * K + k] === 0) continue;
        deviation[n * K + k] = orderScaleDeviation(sample, n, k, coefficients[n * K + k], rec!.second, expanded[k], S, K, h);
        if (deviation[n * K + k] <= limit) served[n]++;
      }
    }
    const chosen = Array.from({ length: N }, (_, q) => q + 1)
      .filter((n) => served[n] > 0)
      .sort((a, b) => served[b] - served[a] || a - b)
      .slice(0, MAX_HALF_SLABS)
      .sort((a, b) => a - b);
    const check = new Float64Array((N + 1) * K);
    const noise = roundingNoise(eps);
    const coefficient = new Float64Array(chosen.length);
    const deviations = new Float64Array(chosen.length);
    const share = new Float64Array(chosen.length);
    for (let k = 0; k < K; k++) {
      if (fallback[k]) continue;
      for (let q = 0; q < chosen.length; q++) {
        coefficient[q] = coefficients[chosen[q] * K + k];
        deviations[q] = deviation[chosen[q] * K + k];
      }
      if (!(precisionWeights(coefficient, deviations, noise, limit, share) > 0)) {
        fallback[k] = 1;
        continue;
      }
      // Only column k of `check` is read: its entries are set here and cleared after (not the whole (N + 1)·K array per unit).
      for (let q = 0; q < chosen.length; q++) check[chosen[q] * K + k] = share[q];
      const agrees = combinedDisagreement(sample, check, N, k, rec!.second, expanded[k], S, K, h) <= limit + eps;
      for (let q = 0; q < chosen.length; q++) {
        if (agrees) weights[chosen[q] * K + k] = share[q];
        check[chosen[q] * K + k] = 0;
      }
      if (!agrees) fallback[k] = 1;
    }
    return chosen;
  }
  const fallbackUnits: number[] = [];
  for (let k = 0; k < K; k++) if (fallback[k]) fallbackUnits.push(k);
  if (fallbackUnits.length > maxFallback) {
    debug(`${meta.prefix}: ${fallbackUnits.length} units for the fallback (> ${maxFallback}): the full consensus`);
    return null;
  }
  if (fallbackUnits.length > 0) debug(`${meta.prefix}: ${fallbackUnits.length} units to the per-unit fallback`);

  const status = new Uint8Array(h);
  const reason = new Uint8Array(h).fill(UnrecoverableReason.none);
  const unitClass = Uint8Array.from(rec.unitClass ?? new Uint8Array(h));
  const firstBias = meta.firstBias === null ? null : Float64Array.from(rec.firstBias!);
  const unitSign = Int8Array.from(sign, (x) => (x < 0 ? -1 : 1));
  for (const j of plain) status[j] = UnitStatus.plain;
  const used = new Uint8Array(K); // units whose W and Act(u) give their c_i/K share
  for (let k = 0; k < K; k++) if (!fallback[k]) used[k] = 1;

  // 4. The per-unit fallback (before the sweep: c needs its W).
  let fallbackSecond: Float64Array | null = null; // [o, F]
  if (fallbackUnits.length > 0) {
    const F = fallbackUnits.length;
    const anchors: number[] = [];
    const exact = Array.from({ length: K }, (_, k) => k).filter((k) => !fallback[k]);
    const step = Math.max(1, exact.length / ANCHORS);
    for (let q = 0; q < Math.min(ANCHORS, exact.length); q++) anchors.push(exact[Math.floor(q * step)]);
    const columns = [...fallbackUnits, ...anchors].sort((a, b) => a - b);
    const m = columns.length;
    const theta = new Float32Array((N + 1) * o * m);
    readChunks(Array.from({ length: N + 1 }, (_, n) => n), (n, i0, rows, chunk) => {
      for (let i = 0; i < rows; i++) for (let q = 0; q < m; q++) theta[(n * o + i0 + i) * m + q] = chunk[i * K + columns[q]];
    });
    const sub: ReleasedBlock = {
      kind: meta.kind,
      inputDim: 1,
      hiddenDim: m,
      outputDim: o,
      order: N,
      first: new Float32Array(m).fill(1), // its sign flips say the fitted signs
      up: null,
      expanded: Int32Array.from({ length: m }, (_, q) => q),
      z0: Float32Array.from(columns, (k) => z0[k]),
      theta,
      plain: new Int32Array(0),
      plainBias: null,
      plainSecond: new Float32Array(0),
      outputBias,
      mask: info.mask,
    };
    const full = consensusRecoverBlock(sub, act, dtype, { signs, tol });
    fallbackSecond = new Float64Array(o * F);
    const position = new Map(columns.map((k, q) => [k, q]));
    fallbackUnits.forEach((k, f) => {
      const q = position.get(k)!;
      const j = expanded[k];
      status[j] = full.status[q];
      reason[j] = full.reason?.[q] ?? UnrecoverableReason.none;
      unitClass[j] = full.unitClass![q];
      unitSign[j] = full.first[q] < 0 ? -1 : 1;
      if (firstBias !== null) firstBias[j] = full.firstBias![q];
      for (let i = 0; i < o; i++) fallbackSecond![i * F + f] = full.second[i * m + q];
      if (full.unitClass![q] === UnitClass.exact) {
        used[k] = 1;
        act0[k] = scaledDerivatives(act, full.expansionPoint[q], 0, p)[0];
      }
    });
  }

  // 3. One sweep over the chosen slabs (and order 0 for c), a chunk of rows at a time.
  const conv = meta.layout === 'gpt2';
  const secondOut = scratch.secondOut.floats(o * h);
  const needC = meta.secondBias !== null && outputBias === null;
  const secondBias = meta.secondBias === null ? null : new Float64Array(o);
  if (secondBias !== null && outputBias !== null) secondBias.set(outputBias);
  const identity = Int32Array.from({ length: K }, (_, k) => k);
  const inOrder = K === h && expanded.every((j, k) => j === k); // full expansion: W's rows are acc's rows
  const slabWeights = orders.map((n) => weights.subarray(n * K, (n + 1) * K));
  const sweep = needC ? [...orders, 0] : orders;
  // Orders ≥ 1 go through the SIMD sweep kernel where it runs (the slab's bytes read straight into its memory); order 0, and any other storage, through floatsInto.
  const kernel = sweepInKernel(thetaDtype) && orders.length > 0 ? new SweepKernel(thetaDtype as 'F32' | 'BF16', K, Math.min(o, rowsPerChunk), slabWeights) : null;
  const acc = kernel?.acc ?? scratch.acc.doubles(Math.min(o, rowsPerChunk) * K);
  /** A chunk's W, once every order of the sweep is in acc: the fallback units' columns, c from order 0 (when swept), then the rows into secondOut. */
  const finishChunk = (i0: number, rows: number, orderZero: Float32Array | null): void => {
    if (fallbackSecond !== null) {
      const F = fallbackUnits.length;
      for (let i = 0; i < rows; i++) for (let f = 0; f < F; f++) acc[i * K + fallbackUnits[f]] = fallbackSecond[(i0 + i) * F + f];
    }
    if (orderZero !== null) outputBiasFromShares(orderZero, acc, act0, used, identity, rows, K, K, secondBias!.subarray(i0, i0 + rows));
    if (conv) {
      // W is stored transposed ([h, o]): a tile of TILE units at a time, so that the few output
      // lines written stay in cache while the rows pass (a row at a time writes to K lines).
      for (let k0 = 0; k0 < K; k0 += TILE) {
        const k1 = Math.min(K, k0 + TILE);
        for (let i = 0; i < rows; i++) for (let k = k0; k < k1; k++) secondOut[expanded[k] * o + i0 + i] = acc[i * K + k];
      }
    } else {
      for (let i = 0; i < rows; i++) {
        const row = i * K;
        if (inOrder) secondOut.set(acc.subarray(row, row + K), (i0 + i) * h); // float64 → float32 natively
        else for (let k = 0; k < K; k++) secondOut[(i0 + i) * h + expanded[k]] = acc[row + k];
      }
    }
  };
  try {
    // Every order of a chunk of rows before the next chunk (positioned reads): acc holds one chunk.
    for (let i0 = 0; i0 < o; i0 += rowsPerChunk) {
      const rows = Math.min(rowsPerChunk, o - i0);
      acc.fill(0, 0, rows * K);
      let orderZero: Float32Array | null = null;
      for (const n of sweep) {
        const at = (n * o + i0) * K * size;
        const length = rows * K * size;
        if (n > 0 && kernel !== null) {
          kernel.read(file, thetaName, at, length);
          if (kernel.accumulate(orders.indexOf(n), rows)) {
            slabChunk(n, i0, rows); // names the value that is not finite (throws)
            throw new Error(`sweep kernel: a value that is not finite in ${thetaName} that floatsInto does not find`);
          }
        } else {
          const chunk = slabChunk(n, i0, rows);
          if (n > 0) accumulateOrder(chunk, slabWeights[orders.indexOf(n)], rows, K, acc);
          else orderZero = chunk; // last in the sweep: valid until finishChunk
        }
        bytesRead += length;
      }
      finishChunk(i0, rows, orderZero);
    }
  } finally {
    kernel?.close();
  }
  for (let q = 0; q < plain.length; q++) {
    for (let i = 0; i < o; i++) {
      const value = plainSecond[i * plain.length + q];
      if (conv) secondOut[plain[q] * o + i] = value;
      else secondOut[i * h + plain[q]] = value;
    }
  }

  /** Rows i0..i0+rows−1 of order slab n as float32, checked finite (positioned read; valid until the next call). */
  function slabChunk(n: number, i0: number, rows: number): Float32Array {
    const length = rows * K * size;
    return floatsInto(file.range(thetaName, (n * o + i0) * K * size, length, scratch.raw.get(length)), scratch.chunk.floats(rows * K), (n * o + i0) * K);
  }

  /** Order slabs `list`, slab by slab, a chunk of rows at a time (chunk valid until the next call). */
  function readChunks(list: readonly number[], visit: (n: number, i0: number, rows: number, chunk: Float32Array) => void): void {
    for (const n of list) {
      for (let i0 = 0; i0 < o; i0 += rowsPerChunk) {
        const rows = Math.min(rowsPerChunk, o - i0);
        const chunk = slabChunk(n, i0, rows);
        bytesRead += rows * K * size;
        visit(n, i0, rows, chunk);
      }
    }
  }

  // V with the fitted signs (flipped in the buffer it is read into), U as released.
  const firstEntry = file.header.entries.find((e) => e.name === meta.first)!;
  const firstStored = file.tensor(meta.first, scratch.first.get(firstEntry.end - firstEntry.begin));
  bytesRead += firstStored.bytes.length;
  const V = firstStored.dtype === 'F32' ? floats(firstStored) : floatsInto(firstStored, scratch.firstOut.floats(h * d));
  if (conv) {
    for (let q = 0; q < h * d; q++) if (unitSign[q % h] < 0) V[q] = -V[q];
  } else {
    for (let j = 0; j < h; j++) if (unitSign[j] < 0) for (let c = 0; c < d; c++) V[j * d + c] = -V[j * d + c];
  }
  const tensors = new Map<string, { bytes: Uint8Array }>();
  tensors.set(meta.first, { bytes: new Uint8Array(V.buffer, V.byteOffset, h * d * 4) });
  tensors.set(meta.second, { bytes: new Uint8Array(secondOut.buffer, secondOut.byteOffset, o * h * 4) });
  if (meta.up !== null) {
    // U as released, through buffers free by now, as V: a fresh h·d array per block would fault its
    // pages in anew (~1/5 of a Llama-shaped layer's attack). Its stored bytes go where V's were read
    // when V was widened out of them (else where the sweep's chunks were), its float32 where the
    // checks' sample rows were.
    const upEntry = file.header.entries.find((e) => e.name === meta.up)!;
    const upRaw = (firstStored.dtype === 'F32' ? scratch.raw : scratch.first).get(upEntry.end - upEntry.begin);
    const upStored = file.tensor(meta.up, upRaw);
    bytesRead += upStored.bytes.length;
    const values = upStored.dtype === 'F32' ? floats(upStored) : floatsInto(upStored, scratch.sample.floats(h * d));
    tensors.set(meta.up, { bytes: new Uint8Array(values.buffer, values.byteOffset, h * d * 4) });
  }
  if (meta.firstBias !== null) tensors.set(meta.firstBias, { bytes: new Uint8Array(Float32Array.from(firstBias!).buffer) });
  if (meta.secondBias !== null) tensors.set(meta.secondBias, { bytes: new Uint8Array(Float32Array.from(secondBias!).buffer) });
  return { status, reason, unitClass, tensors, bytesRead, orders, fallbackUnits: fallbackUnits.map((k) => expanded[k]) };
}

function pickRows(values: FloatArray, rows: Int32Array, width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (let s = 0; s < rows.length; s++) for (let m = 0; m < width; m++) out[s * width + m] = values[rows[s] * width + m];
  return out;
}
