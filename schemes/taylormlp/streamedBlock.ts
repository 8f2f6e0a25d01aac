import { SAFETENSORS_DTYPE, StorageDType, roundToStorage } from './storage';
import type { Activation } from '../../src/numerics/activations';
import { SafetensorsFile, encodeFloats, firstNonFinite, toFloat32, toFloat64 } from '../../src/numerics/io/safetensors';
import { PositionedWrite, performWrites, performWritesOverlapped } from '../../src/numerics/io/positionedWrites';
import { bf16BitsToFloat32, bf16FromFloat32Bits } from '../../src/numerics/io/halfPrecision';
import type { MlpBlockLocation } from '../../src/numerics/models/layouts';
import { expansionPoints, seriesCoefficientSlab } from '../../src/numerics/tensor/seriesKernels';
import { taylorCoefficients } from '../../src/numerics/tensor/derivativeKernels';
import { transposeMatrix } from '../../src/numerics/tensor/tensor';
import type { FloatArray } from '../../src/numerics/tensor/tensor';
import { CalibrationRange, TaylorOptions, unitsToExpand } from './release';
import { ReleasedFileError, i32Bytes } from './artifact';
import { StorageOverflowError } from './finite';
import { fileJobScratch } from '../../src/numerics/tensor/scratch';
import { SlabKernel, slabKernel } from '../../src/numerics/tensor/simd/slabKernel';

/**
 * Pass 2 of a file release for one block, at the write limit: the same bytes as releaseBlock +
 * checkReleasedFinite + releasedBlockTensors, but Θ goes straight from W (read as float32, exact
 * for F32/BF16/F16 checkpoints) into its storage form one order slab at a time and out to its
 * offset in the file; the finiteness guard runs in the same pass. One thread's reads and writes
 * go through buffers it keeps (fresh pages cost more than the arithmetic here), so memory holds
 * one read tensor, one slab and one first layer per thread, whatever the block's size.
 *
 * Only for storage f32 or bf16 and weights stored as F32, BF16 or F16: `streamable` says so.
 */

// Pass 1 reads V, W and U into first, read and slab; pass 2 reuses them (read: each weight in turn,
// first: the stored V, slab and otherSlab: Θ's order slabs), so its pages are already touched. The
// slots are shared with the attack (fileJobScratch): read ↔ its W out, first ↔ its V out.
const buffers = fileJobScratch;
const scratch = { read: buffers.buffers.s0, first: buffers.buffers.s1, slab: buffers.buffers.s2, otherSlab: buffers.buffers.s3 };

/** Let this thread's buffers go soon (at the end of a release: one block's worth of memory, not held long into whatever the process does next; see ScratchSet). */
export function dropReleaseBuffersSoon(): void {
  buffers.dropSoon();
  slabKernel.dropSoon();
}


const NARROW = new Set(['F32', 'BF16', 'F16']);

/**
 * A block's dimensions from its first and second layers' shapes in the header (GPT-2's Conv1D
 * stores them transposed), or null where they are not a matrix pair that agrees on h.
 */
export function blockDims(source: SafetensorsFile, location: MlpBlockLocation): { hidden: number; input: number; output: number } | null {
  const shape = (name: string) => source.header.entries.find((e) => e.name === name)?.shape;
  const f = shape(location.first);
  const w = shape(location.second);
  if (f === undefined || w === undefined || f.length !== 2 || w.length !== 2) return null;
  const conv1d = location.layout === 'gpt2';
  const [hidden, input] = conv1d ? [f[1], f[0]] : [f[0], f[1]];
  const [output, hidden2] = conv1d ? [w[1], w[0]] : [w[0], w[1]];
  return hidden2 === hidden ? { hidden, input, output } : null;
}

/** Pass 1's weights of a block whose weights are stored narrow: float32 values (exact), canonical layout, read through reused buffers (valid until the next call). */
export function narrowWeights(source: SafetensorsFile, location: MlpBlockLocation): { first: FloatArray; second: FloatArray; up: FloatArray | null; hidden: number; input: number; output: number } | null {
  buffers.claim();
  const entry = (name: string) => source.header.entries.find((e) => e.name === name);
  const f = entry(location.first);
  const w = entry(location.second);
  const u = location.up === null ? null : entry(location.up);
  const dims = blockDims(source, location);
  if (dims === null || f === undefined || w === undefined || u === undefined || !NARROW.has(f.dtype) || !NARROW.has(w.dtype)) return null;
  if (u !== null && (!NARROW.has(u.dtype) || u.shape.length !== 2 || u.shape[0] !== f.shape[0] || u.shape[1] !== f.shape[1])) return null;
  const conv1d = location.layout === 'gpt2';
  const { hidden, input, output } = dims;
  const V = toFloat32(source.tensor(location.first, scratch.first.get(hidden * input * 4)));
  const W = toFloat32(source.tensor(location.second, scratch.read.get(output * hidden * 4)));
  // U (SwiGLU) only for the finiteness and magnitude checks: Θ does not involve it.
  const U = location.up === null ? null : toFloat32(source.tensor(location.up, scratch.slab.get(hidden * input * 4)));
  return { first: conv1d ? transposeMatrix(V, input, hidden) : V, second: conv1d ? transposeMatrix(W, hidden, output) : W, up: U, hidden, input, output };
}

export function streamable(source: SafetensorsFile, location: MlpBlockLocation, dtype: StorageDType): boolean {
  if (dtype !== 'f32' && dtype !== 'bf16') return false;
  return [location.first, location.second, location.up].every((name) => name === null || NARROW.has(source.header.entries.find((e) => e.name === name)?.dtype ?? ''));
}

export interface StreamedPlan {
  readonly location: MlpBlockLocation;
  readonly range: CalibrationRange;
  readonly signs: Int8Array | null;
  readonly hidden: number;
  readonly input: number;
  readonly output: number;
}

type Slots = ReadonlyMap<string, { readonly position: number; readonly byteLength: number }>;

/** Release and write one block (see the module comment), each write done before the next slab is computed; answers the names written. Throws StorageOverflowError as checkReleasedFinite would. */
export function writeStreamedBlock(source: SafetensorsFile, plan: StreamedPlan, act: Activation, taylor: TaylorOptions, fd: number, slots: Slots): string[] {
  return performWrites(blockWrites(source, plan, act, taylor, slots), fd);
}

/**
 * Bytes each of `workers` release workers writes between two fdatasyncs it starts: the disk writes
 * a block back while the next is computed, so the release's final fsync finds only the last
 * stretches (and the tensors copied after them) instead of the whole file. A datasync flushes the
 * whole file, whoever wrote it, so the interval grows with the workers, keeping the file's
 * flushes about as frequent as the two workers' measured here (their commit message has the A/B).
 */
export const writebackInterval = (workers: number): number => 16 * 2 ** 20 * Math.max(1, workers);

/**
 * writeStreamedBlock with each order slab's write overlapping the next slab's arithmetic, and the
 * writeback started every `syncEvery` bytes (for the release workers; see performWritesOverlapped):
 * the same bytes at the same offsets.
 */
export function writeStreamedBlockOverlapped(source: SafetensorsFile, plan: StreamedPlan, act: Activation, taylor: TaylorOptions, fd: number, slots: Slots, syncEvery: number): Promise<string[]> {
  return performWritesOverlapped(blockWrites(source, plan, act, taylor, slots), fd, { syncEvery });
}

/**
 * The block's release as the writes it needs, in order (the generator both drivers above run).
 * Θ's order slabs alternate between two buffers: a yielded buffer is written into again only
 * after the next write has been yielded — the contract of ../../src/numerics/io/positionedWrites.
 */
function* blockWrites(source: SafetensorsFile, plan: StreamedPlan, act: Activation, taylor: TaylorOptions, slots: Slots): Generator<PositionedWrite, string[], void> {
  buffers.claim();
  const dtype = (taylor.dtype ?? 'f32') as 'f32' | 'bf16';
  const f = SAFETENSORS_DTYPE[dtype];
  const width = dtype === 'f32' ? 4 : 2;
  const loc = plan.location;
  const { hidden: h, input: d, output: o } = plan;
  const N = taylor.order;
  const conv1d = loc.layout === 'gpt2';
  const expanded = unitsToExpand(plan.range, taylor.expand ?? { all: true });
  const K = expanded.length;
  const isExpanded = new Uint8Array(h);
  for (const j of expanded) isExpanded[j] = 1;
  const plain = Int32Array.from(Array.from({ length: h }, (_, j) => j).filter((j) => isExpanded[j] === 0));
  const sign = (j: number): number => (plan.signs === null ? 1 : plan.signs[j]);
  const firstBias = loc.firstBias === null ? null : toFloat64(source.tensor(loc.firstBias));
  const secondBias = loc.secondBias === null ? null : toFloat64(source.tensor(loc.secondBias));
  const P = `${loc.prefix}.taylor`;
  const written: string[] = [];
  const put = (name: string, bytes: Uint8Array, at = 0): PositionedWrite => {
    const slot = slots.get(name);
    if (slot === undefined || at + bytes.length > slot.byteLength) throw new ReleasedFileError(`${name}: the header has no slot of ${bytes.length} bytes at ${at} for it`);
    if (at === 0) written.push(name);
    return { bytes, position: slot.position + at };
  };
  // Non-finite values once stored, in checkReleasedFinite's order of tensors.
  const bad = new Map<string, { q: number; value: number }>();
  const scan = (tensor: string, values: FloatArray | null): void => {
    if (values === null) return;
    for (let q = 0; q < values.length; q++) {
      if (!Number.isFinite(values[q])) {
        bad.set(tensor, { q, value: values[q] });
        return;
      }
    }
  };

  // z0 = (z_max + z_min)/2 published as s·z0; u = z0 + b; scale[n·K + k] = s_jⁿ·Act⁽ⁿ⁾(u_j)/n! (as releaseBlock).
  const { z0, u } = expansionPoints(plan.range.max, plan.range.min, firstBias, expanded, sign);
  const scale = new Float64Array((N + 1) * K);
  const coefficients = new Float64Array(N + 1);
  for (let k = 0; k < K; k++) {
    taylorCoefficients(act, u[k], N, sign(expanded[k]), coefficients);
    for (let n = 0; n <= N; n++) scale[n * K + k] = coefficients[n];
  }

  // Every unit expanded from an F32 W (the common case): the SIMD kernel, a chunk of W's rows at a
  // time read straight into its memory, each (chunk, order) piece of Θ placed for a direct write at
  // its place in the slab ([n][i][k]: a chunk's rows are contiguous in each order's slab).
  const secondEntry = source.header.entries.find((e) => e.name === loc.second);
  const kernel = !conv1d && K === h && secondEntry?.dtype === 'F32' && SlabKernel.available ? slabKernel : null;
  let W: FloatArray | null = null;
  if (kernel !== null) {
    const chunk = Math.min(o, SlabKernel.chunkRows(K));
    const room = kernel.prepare(chunk, K, N + 1, dtype);
    room.scale.set(scale);
    const thetaAt = slots.get(`${P}.theta`)?.position ?? 0; // put() below checks the slot
    const slabBytes = o * K * width;
    let parity = 0;
    for (let r0 = 0; r0 < o; r0 += chunk) {
      const rows = Math.min(chunk, o - r0);
      const wRows = source.range(loc.second, r0 * K * 4, rows * K * 4, room.wBytes);
      if (wRows.bytes.buffer !== room.wBytes.buffer || wRows.bytes.byteOffset !== room.wBytes.byteOffset) throw new ReleasedFileError(`${loc.second}: rows not read into the kernel's memory`);
      for (let n = 0; n <= N; n++) {
        const at = n * slabBytes + r0 * K * width;
        const view = kernel.slabView((parity++ % 2) as 0 | 1, thetaAt + at, rows);
        // Θ[0] with the bias folded in stays in JavaScript (one slab of N + 1), written into the kernel's buffer all the same.
        const biased = n === 0 && K > 0 && secondBias !== null;
        const q = biased
          ? seriesCoefficientSlab(view.values, room.w.subarray(0, rows * K), scale, expanded, n, rows, h, secondBias.subarray(r0, r0 + rows))
          : kernel.slab(view, n)
            ? firstNonFinite({ name: `${P}.theta`, dtype: f, shape: [view.values.length], bytes: view.bytes }) // where (the kernel said there is one)
            : -1;
        if (q >= 0 && !bad.has('taylor.theta')) bad.set('taylor.theta', { q: n * o * K + r0 * K + q, value: view.values instanceof Float32Array ? view.values[q] : bf16BitsToFloat32(view.values[q]) });
        yield { ...put(`${P}.theta`, view.bytes, at), pageCongruent: view.pageCongruent };
      }
    }
  } else {
    // W as float32 values [o, h] (a view of the read buffer for F32).
    const secondStored = source.tensor(loc.second, scratch.read.get(o * h * 4));
    const Wv = conv1d ? transposeMatrix(toFloat32(secondStored), h, o) : toFloat32(secondStored);
    W = Wv;
    // Θ, order by order, into one slab and out to the file.
    // Two slab buffers, alternating (see blockWrites).
    const slabs = [scratch.slab, scratch.otherSlab].map((buffer) => {
      const bytes = buffer.get(o * K * width);
      return { bytes, values: dtype === 'f32' ? new Float32Array(bytes.buffer, bytes.byteOffset, o * K) : new Uint16Array(bytes.buffer, bytes.byteOffset, o * K) };
    });
    for (let n = 0; n <= N; n++) {
      const { bytes: slabBytes, values: slab } = slabs[n % 2];
      const q = seriesCoefficientSlab(slab, Wv, scale, expanded, n, o, h, n === 0 && K > 0 ? secondBias : null);
      if (q >= 0 && !bad.has('taylor.theta')) bad.set('taylor.theta', { q: n * o * K + q, value: slab instanceof Float32Array ? slab[q] : bf16BitsToFloat32(slab[q]) });
      yield put(`${P}.theta`, slabBytes, n * slabBytes.length);
    }
  }
  const plainSecond = new Float64Array(o * plain.length);
  // Plain units' columns of W (none on the kernel's path, where every unit is expanded).
  if (plain.length > 0 && W === null) throw new ReleasedFileError(`${loc.prefix}: plain units without W read`);
  for (let i = 0; i < o; i++) for (let m = 0; m < plain.length; m++) plainSecond[i * plain.length + m] = W![i * h + plain[m]];

  // V (or G) in its stored layout, rows of expanded units times their sign.
  const firstStored = source.tensor(loc.first, scratch.read.get(h * d * 4));
  const V = toFloat32(firstStored);
  const firstBytes = scratch.first.get(h * d * width);
  const firstOut = dtype === 'f32' ? new Float32Array(firstBytes.buffer, firstBytes.byteOffset, h * d) : new Uint16Array(firstBytes.buffer, firstBytes.byteOffset, h * d);
  const unitSign = new Float32Array(h).fill(1); // −1 for an expanded unit released with sign −1
  for (const j of expanded) if (sign(j) < 0) unitSign[j] = -1;
  // Row by row of the stored layout (conv1d [d, h]: a row holds every unit; else [h, d]: a row is one unit), signed, then stored.
  const rows = conv1d ? d : h;
  const rowWidth = conv1d ? h : d;
  const signed = new Float32Array(rowWidth);
  const signedBits = new Uint32Array(signed.buffer);
  for (let r = 0; r < rows; r++) {
    const base = r * rowWidth;
    if (conv1d) for (let c = 0; c < rowWidth; c++) signed[c] = V[base + c] * unitSign[c]; // ×±1: exact for the finite weights checkFinite lets through, and no branch on random signs
    else if (unitSign[r] < 0) for (let c = 0; c < rowWidth; c++) signed[c] = -V[base + c];
    else for (let c = 0; c < rowWidth; c++) signed[c] = V[base + c];
    let exponents = 0; // OR of (stored exponent + 1): bit 8 set iff one is all ones (NaN or ±∞ once stored)
    if (firstOut instanceof Float32Array) {
      firstOut.set(signed, base);
      for (let c = 0; c < rowWidth; c++) exponents |= ((signedBits[c] >>> 23) & 0xff) + 1;
    } else {
      for (let c = 0; c < rowWidth; c++) {
        const x = signedBits[c];
        const b = bf16FromFloat32Bits(x); // nearest-even (NaN stays a quiet NaN)
        firstOut[base + c] = b;
        exponents |= ((b >>> 7) & 0xff) + 1;
      }
    }
    if ((exponents & 0x100) !== 0 && !bad.has('first layer (V)')) {
      for (let c = 0; c < rowWidth; c++) {
        const q = base + c;
        const stored = firstOut instanceof Float32Array ? firstOut[q] : bf16BitsToFloat32(firstOut[q]);
        if (!Number.isFinite(stored)) {
          bad.set('first layer (V)', { q: conv1d ? c * d + r : q, value: stored });
          break;
        }
      }
    }
  }
  yield put(loc.first, firstBytes);

  // U rounded in place in the read buffer (W and V are done with it).
  const up = loc.up === null ? null : roundToStorage(toFloat32(source.tensor(loc.up, scratch.read.get(h * d * 4))), dtype);
  const z0Stored = roundToStorage(z0, dtype);
  const plainBias = firstBias === null ? null : roundToStorage(Float64Array.from(plain, (j) => firstBias[j]), dtype);
  const plainSecondStored = roundToStorage(plainSecond, dtype);
  const outputBias = K === 0 && secondBias !== null ? roundToStorage(secondBias.slice(), dtype) : null;
  scan('up projection (U)', up);
  scan('taylor.z0', z0Stored);
  scan('taylor.plain_bias', plainBias);
  scan('taylor.plain_weight', plainSecondStored);
  scan('taylor.output_bias', outputBias);
  for (const tensor of ['first layer (V)', 'up projection (U)', 'taylor.z0', 'taylor.theta', 'taylor.plain_bias', 'taylor.plain_weight', 'taylor.output_bias']) {
    const b = bad.get(tensor);
    if (b !== undefined) throw new StorageOverflowError(`${loc.prefix}: ${tensor} holds ${b.value} at index ${b.q} once stored in ${dtype}`);
  }
  if (loc.up !== null) yield put(loc.up, encodeFloats(up!, f));
  yield put(`${P}.z0`, encodeFloats(z0Stored, f));
  yield put(`${P}.expanded_units`, i32Bytes(expanded));
  yield put(`${P}.plain_units`, i32Bytes(plain));
  if (plainBias !== null) yield put(`${P}.plain_bias`, encodeFloats(plainBias, f));
  yield put(`${P}.plain_weight`, encodeFloats(plainSecondStored, f));
  if (outputBias !== null) yield put(`${P}.output_bias`, encodeFloats(outputBias, f));
  return written;
}
