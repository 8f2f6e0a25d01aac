import { chargeFlops } from '../../../kernel/cost/meter';
import type { SafetensorsFile } from '../../io/safetensors';
import { ShapeError } from '../tensor';
import { WasmFunction, op } from './wasmModule';
import { WasmHost } from './wasmHost';
import { roundUp } from './webAssembly';

/**
 * The sampled attack's sweep (adversaries/taylormlp/fastAttack, step 3) with WebAssembly SIMD: a
 * chunk of an order slab, as stored (float32, or bfloat16 = a float32's top half), is read from the
 * file straight into the kernel's memory and added into the chunk's accumulator,
 *   acc[i, k] += Θ[n, i, k]·coefficient[k],
 * two entries at a time — the stored value widened to f64 exactly, multiplied and added in f64: the
 * operations of accumulateOrder (../fastAttackKernels) after floatsInto, so the same bits — with
 * the finiteness check (a stored exponent all ones) in the same pass. A column with coefficient 0
 * is multiplied, not skipped: with finite entries that adds ±0 to an accumulator that starts at +0
 * and never becomes −0, which changes nothing; the charge counts only the nonzero columns, as
 * accumulateOrder's.
 */
function accumulateFunction(name: string, bf16: boolean): WasmFunction {
  const size = bf16 ? 2 : 4;
  const [raw, coef, acc, rows, K] = [0, 1, 2, 3, 4];
  const [rp, ap, cp, k, flag, bits] = [5, 6, 7, 8, 9, 10];
  const [guard, x] = [11, 12];
  const EXPONENT = 0x7f800000;
  const advance = (local: number, by: readonly number[]) => [...op.get(local), ...by, ...op.i32Add, ...op.set(local)];
  // Two stored values as float32 bits in lanes 0 and 1 (lanes 2 and 3 zero).
  const loadPair = bf16
    ? [...op.get(rp), ...op.v128Load32Zero(), ...op.i32(0), ...op.i32x4Splat, ...op.i8x16Shuffle([16, 16, 0, 1, 16, 16, 2, 3, 16, 16, 16, 16, 16, 16, 16, 16])]
    : [...op.get(rp), ...op.v128Load64Zero()];
  const loadOne = bf16 ? [...op.get(rp), ...op.i32Load16U(), ...op.i32(16), ...op.i32Shl] : [...op.get(rp), ...op.i32Load()];
  // prettier-ignore
  const body = [
    ...op.get(raw), ...op.set(rp), ...op.get(acc), ...op.set(ap),
    ...op.block, ...op.loop, // rows
      ...op.get(rows), ...op.i32Eqz, ...op.brIf(1),
      ...op.get(coef), ...op.set(cp), ...op.get(K), ...op.set(k),
      ...op.block, ...op.loop, // pairs of entries
        ...op.get(k), ...op.i32(2), ...op.i32LtU, ...op.brIf(1),
        ...loadPair, ...op.set(x),
        ...op.get(guard), ...op.get(x), ...op.i32(EXPONENT), ...op.i32x4Splat, ...op.v128And, ...op.i32(EXPONENT), ...op.i32x4Splat, ...op.i32x4Eq, ...op.v128Or, ...op.set(guard),
        ...op.get(ap),
        ...op.get(ap), ...op.v128Load(),
        ...op.get(x), ...op.f64x2PromoteLowF32x4, ...op.get(cp), ...op.v128Load(), ...op.f64x2Mul,
        ...op.f64x2Add, ...op.v128Store(),
        ...advance(rp, op.i32(2 * size)), ...advance(ap, op.i32(16)), ...advance(cp, op.i32(16)),
        ...op.get(k), ...op.i32(2), ...op.i32Sub, ...op.set(k),
        ...op.br(0),
      ...op.end, ...op.end,
      ...op.block, // a row's last entry when K is odd
        ...op.get(k), ...op.i32Eqz, ...op.brIf(0),
        ...loadOne, ...op.set(bits),
        ...op.get(flag), ...op.get(bits), ...op.i32(EXPONENT), ...op.i32And, ...op.i32(EXPONENT), ...op.i32Eq, ...op.i32Or, ...op.set(flag),
        ...op.get(ap),
        ...op.get(ap), ...op.f64Load(),
        ...op.get(bits), ...op.f32ReinterpretI32, ...op.f64PromoteF32, ...op.get(cp), ...op.f64Load(), ...op.f64Mul,
        ...op.f64Add, ...op.f64Store(),
        ...advance(rp, op.i32(size)), ...advance(ap, op.i32(8)),
      ...op.end,
      ...op.get(rows), ...op.i32(1), ...op.i32Sub, ...op.set(rows),
      ...op.br(0),
    ...op.end, ...op.end,
    ...op.get(guard), ...op.v128AnyTrue, ...op.get(flag), ...op.i32Or,
  ];
  return { name, params: ['i32', 'i32', 'i32', 'i32', 'i32'], results: ['i32'], locals: [...Array<'i32'>(6).fill('i32'), 'v128', 'v128'], body };
}

const host = new WasmHost(() => [accumulateFunction('accumulateF32', false), accumulateFunction('accumulateBf16', true)]);

/** The block whose regions the kernel's memory holds now (one memory per thread). */
let current: SweepKernel | null = null;

/**
 * One block's sweep in the kernel's memory: `raw` (a chunk of a slab as stored: read the file into
 * it), the coefficients of each swept order, and `acc`, the chunk's accumulator [rows, K] in f64.
 * Views are valid until another block prepares (then this one's `accumulate` throws).
 */
export class SweepKernel {
  readonly raw: Uint8Array;
  readonly acc: Float64Array;
  private readonly coefficients: Float64Array;
  private readonly nonzero: number[];
  private readonly at: { raw: number; coefficients: number; acc: number };
  private readonly run: (raw: number, coef: number, acc: number, rows: number, K: number) => number;

  static get available(): boolean {
    return host.available;
  }

  /** For chunks of at most `maxRows` rows of K units stored as `dtype`, and one coefficient vector (K) per swept order. */
  constructor(
    readonly dtype: 'F32' | 'BF16',
    private readonly K: number,
    private readonly maxRows: number,
    orderCoefficients: readonly Float64Array[],
  ) {
    const size = dtype === 'BF16' ? 2 : 4;
    const raw = 0;
    const coefficients = roundUp(raw + maxRows * K * size, 16);
    const acc = roundUp(coefficients + orderCoefficients.length * K * 8, 16);
    const { exports, buffer } = host.claim(acc + maxRows * K * 8);
    this.at = { raw, coefficients, acc };
    this.raw = new Uint8Array(buffer, raw, maxRows * K * size);
    this.acc = new Float64Array(buffer, acc, maxRows * K);
    this.coefficients = new Float64Array(buffer, coefficients, orderCoefficients.length * K);
    orderCoefficients.forEach((c, q) => {
      if (c.length !== K) throw new ShapeError(`SweepKernel: coefficients ${c.length} for K = ${K}`);
      this.coefficients.set(c, q * K);
    });
    this.nonzero = orderCoefficients.map((c) => c.reduce((count, x) => count + (x !== 0 ? 1 : 0), 0));
    this.run = (dtype === 'BF16' ? exports.accumulateBf16 : exports.accumulateF32) as SweepKernel['run'];
    current = this;
  }

  /** `length` bytes of tensor `name` from byte `at` into raw (a chunk of `rows` rows as stored). */
  read(file: SafetensorsFile, name: string, at: number, length: number): void {
    if (current !== this) throw new Error('SweepKernel: another block has prepared the kernel since');
    const stored = file.range(name, at, length, this.raw);
    // range reads into the buffer it is given only where it fits (else it allocates): the kernel must see these bytes.
    if (stored.bytes.buffer !== this.raw.buffer || stored.bytes.byteOffset !== this.raw.byteOffset) throw new Error(`SweepKernel.read: ${length} bytes did not land in the kernel's memory (${this.raw.length} bytes)`);
  }

  /**
   * acc[i, k] += raw[i, k]·coefficients[order][k] for the first `rows` rows in raw (as read); true
   * when some stored value is not finite (NaN or ±∞: the caller names it; acc is then not to be
   * used, and nothing is charged, as accumulateOrder is never reached after floatsInto refuses).
   * Otherwise charges as accumulateOrder: 2 per row per nonzero coefficient. The caller sets acc's
   * rows to +0 before a chunk's first order (a zero coefficient is then the skip it stands for).
   */
  accumulate(order: number, rows: number): boolean {
    if (current !== this) throw new Error('SweepKernel: another block has prepared the kernel since');
    if (!(rows >= 0 && rows <= this.maxRows) || order < 0 || order >= this.nonzero.length) throw new ShapeError(`SweepKernel.accumulate: ${rows} rows (at most ${this.maxRows}), order ${order}`);
    const nonFinite = this.run(this.at.raw, this.at.coefficients + order * this.K * 8, this.at.acc, rows, this.K) !== 0;
    if (!nonFinite) chargeFlops(2 * this.nonzero[order] * rows);
    return nonFinite;
  }

  /** Let the kernel's memory go soon (unless another block has prepared it since). */
  close(): void {
    if (current !== this) return;
    current = null;
    host.dropSoon();
  }
}
