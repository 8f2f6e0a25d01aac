import { WasmFunction, op } from './wasmModule';
import { WasmHost } from './wasmHost';
import { roundUp } from './webAssembly';

/**
 * The bulk of gridMisfits (../attackKernels) with WebAssembly SIMD: the weighted misfit of one
 * profile at every grid point, four points at a time (two f64 vectors: independent sums, as the
 * JavaScript loop's four), each lane's numbers formed by the same operations in the same order as
 * the JavaScript loop's —
 *   gp += ωgₙ·pₙ,  pp += (ωₙ·pₙ)·pₙ,  λ = pp = 0 ? 0 : gp/pp,  r += (ωₙ·xₙ)·xₙ with xₙ = sⁿgₙ − λ·pₙ
 * — so the same bits (IEEE f64 in both; WebAssembly fuses nothing). The grid's table p is stored
 * transposed, p[n][q], so that four neighbouring points' pₙ are two vector loads.
 */
function misfitFunction(): WasmFunction {
  // Parameters: byte offsets (table, gs, ω, ωg, residuals, scales) and counts (quads of points, from, to, the table's row length in points).
  const [table, gs, w, wg, out, scales, quads, from, to, stride] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  // Locals: the quad's byte offset, n, the table's pointer for (n, quad), ωₙ's and ωgₙ's pointers, the ÷ count.
  const [qb, n, pn, wn, wgn, divisions] = [10, 11, 12, 13, 14, 15];
  // Vectors: the sums of points (0, 1) and (2, 3), the loaded pₙ pairs, λ pairs, the splatted ωₙ and scratch.
  const [gpA, gpB, ppA, ppB, pA, pB, lamA, lamB, rA, rB, wv, x, mask] = [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28];
  const zero = [...op.f64(0), ...op.f64x2Splat];
  const advance = (local: number, by: readonly number[]) => [...op.get(local), ...by, ...op.i32Add, ...op.set(local)];
  /** pn = table + (from·stride)·8 + qb; wn = w + from·8 (and wgn, with `also`). */
  const startOrders = (also: number | null) => [
    ...op.get(from), ...op.set(n),
    ...op.get(table), ...op.get(from), ...op.get(stride), ...op.i32Mul, ...op.i32(8), ...op.i32Mul, ...op.i32Add, ...op.get(qb), ...op.i32Add, ...op.set(pn),
    ...op.get(w), ...op.get(from), ...op.i32(8), ...op.i32Mul, ...op.i32Add, ...op.set(wn),
    ...(also === null ? [] : [...op.get(also), ...op.get(from), ...op.i32(8), ...op.i32Mul, ...op.i32Add, ...op.set(wgn)]),
  ];
  /** The order loop's step: n += 1, the pointers on. */
  const nextOrder = (withWg: boolean) => [
    ...advance(n, op.i32(1)),
    ...advance(pn, [...op.get(stride), ...op.i32(8), ...op.i32Mul]),
    ...advance(wn, op.i32(8)),
    ...(withWg ? advance(wgn, op.i32(8)) : []),
  ];
  /** sum += (ω·p)·p for the pair in `p`, ω in wv. */
  const addPP = (sum: number, p: number) => [...op.get(sum), ...op.get(wv), ...op.get(p), ...op.f64x2Mul, ...op.get(p), ...op.f64x2Mul, ...op.f64x2Add, ...op.set(sum)];
  /** λ = pp = 0 ? 0 : gp/pp (both lanes), and divisions += the lanes with pp ≠ 0 (an f64 lane's mask is −1 in both its i32 halves). */
  const scale = (lam: number, gp: number, pp: number) => [
    ...op.get(pp), ...zero, ...op.f64x2Eq, ...op.set(mask),
    ...zero, ...op.get(gp), ...op.get(pp), ...op.f64x2Div, ...op.get(mask), ...op.v128Bitselect, ...op.set(lam),
    ...op.get(divisions), ...op.i32(2), ...op.i32Add, ...op.get(mask), ...op.i32x4ExtractLane(0), ...op.i32Add, ...op.get(mask), ...op.i32x4ExtractLane(2), ...op.i32Add, ...op.set(divisions),
  ];
  /** r += (ω·x)·x with x = sⁿgₙ − λ·p (x's splatted sⁿgₙ on the stack first). */
  const addResidual = (r: number, lam: number, p: number, gn: readonly number[]) => [
    ...gn, ...op.get(lam), ...op.get(p), ...op.f64x2Mul, ...op.f64x2Sub, ...op.set(x),
    ...op.get(r), ...op.get(wv), ...op.get(x), ...op.f64x2Mul, ...op.get(x), ...op.f64x2Mul, ...op.f64x2Add, ...op.set(r),
  ];
  const gsN = [...op.get(gs), ...op.get(n), ...op.i32(8), ...op.i32Mul, ...op.i32Add, ...op.f64Load(), ...op.f64x2Splat];
  // prettier-ignore
  const body = [
    ...op.i32(0), ...op.set(qb),
    ...op.block, ...op.loop, // quads of points
      ...op.get(quads), ...op.i32Eqz, ...op.brIf(1),
      ...zero, ...op.set(gpA), ...zero, ...op.set(gpB), ...zero, ...op.set(ppA), ...zero, ...op.set(ppB),
      ...startOrders(wg),
      ...op.block, ...op.loop, // pass 1: gp, pp
        ...op.get(n), ...op.get(to), ...op.i32GtU, ...op.brIf(1),
        ...op.get(pn), ...op.v128Load(), ...op.set(pA),
        ...op.get(pn), ...op.v128Load(16), ...op.set(pB),
        ...op.get(wn), ...op.f64Load(), ...op.f64x2Splat, ...op.set(wv),
        ...op.get(gpA), ...op.get(wgn), ...op.f64Load(), ...op.f64x2Splat, ...op.get(pA), ...op.f64x2Mul, ...op.f64x2Add, ...op.set(gpA),
        ...addPP(ppA, pA),
        ...op.get(gpB), ...op.get(wgn), ...op.f64Load(), ...op.f64x2Splat, ...op.get(pB), ...op.f64x2Mul, ...op.f64x2Add, ...op.set(gpB),
        ...addPP(ppB, pB),
        ...nextOrder(true),
        ...op.br(0),
      ...op.end, ...op.end,
      ...scale(lamA, gpA, ppA),
      ...scale(lamB, gpB, ppB),
      ...zero, ...op.set(rA), ...zero, ...op.set(rB),
      ...startOrders(null),
      ...op.block, ...op.loop, // pass 2: the residuals
        ...op.get(n), ...op.get(to), ...op.i32GtU, ...op.brIf(1),
        ...op.get(pn), ...op.v128Load(), ...op.set(pA),
        ...op.get(pn), ...op.v128Load(16), ...op.set(pB),
        ...op.get(wn), ...op.f64Load(), ...op.f64x2Splat, ...op.set(wv),
        ...addResidual(rA, lamA, pA, gsN),
        ...addResidual(rB, lamB, pB, gsN),
        ...nextOrder(false),
        ...op.br(0),
      ...op.end, ...op.end,
      ...op.get(out), ...op.get(qb), ...op.i32Add, ...op.get(rA), ...op.v128Store(),
      ...op.get(out), ...op.get(qb), ...op.i32Add, ...op.get(rB), ...op.v128Store(16),
      ...op.get(scales), ...op.get(qb), ...op.i32Add, ...op.get(lamA), ...op.v128Store(),
      ...op.get(scales), ...op.get(qb), ...op.i32Add, ...op.get(lamB), ...op.v128Store(16),
      ...advance(qb, op.i32(32)),
      ...op.get(quads), ...op.i32(1), ...op.i32Sub, ...op.set(quads),
      ...op.br(0),
    ...op.end, ...op.end,
    ...op.get(divisions),
  ];
  return {
    name: 'misfits',
    params: Array<'i32'>(10).fill('i32'),
    results: ['i32'],
    locals: [...Array<'i32'>(6).fill('i32'), ...Array<'v128'>(13).fill('v128')],
    body,
  };
}

const host = new WasmHost(() => [misfitFunction()]);

/** The grid that last placed its table in the kernel's memory (one memory per thread: a grid whose table was overwritten places it again). */
let placed: MisfitGridKernel | null = null;

/**
 * One grid's table in the kernel's memory, for the quads of its points: `misfits` writes residuals
 * and scales λ of points [0, 4·⌊points/4⌋) and answers the count of ÷ (λ's with Σ ω p² ≠ 0); the
 * caller does the rest of the points, and the charge. `close` lets the memory go soon.
 */
export class MisfitGridKernel {
  private run: ((...args: number[]) => number) | null = null;
  private gsView: Float64Array | null = null;
  private wView: Float64Array | null = null;
  private wgView: Float64Array | null = null;
  private outView: Float64Array | null = null;
  private scalesView: Float64Array | null = null;
  private readonly at: { table: number; gs: number; w: number; wg: number; out: number; scales: number; end: number };
  readonly quads: number;

  static get available(): boolean {
    return host.available;
  }

  /** p: the grid's table, `width` values a point (the point q's pₙ at q·width + n), `points` points. */
  constructor(
    private readonly p: Float64Array,
    private readonly width: number,
    points: number,
  ) {
    this.quads = Math.floor(points / 4);
    const stride = this.quads * 4;
    const table = 0;
    const gs = roundUp(table + width * stride * 8, 16);
    const w = gs + roundUp(width * 8, 16);
    const wg = w + roundUp(width * 8, 16);
    const out = wg + roundUp(width * 8, 16);
    const scales = out + stride * 8;
    this.at = { table, gs, w, wg, out, scales, end: scales + stride * 8 };
  }

  /** Residuals and λ of the quads' points into out and scales (from index 0); gs, w and wg hold sⁿgₙ, ωₙ and ωₙ·sⁿgₙ at n = from..to. Answers the ÷ count. */
  misfits(gs: Float64Array, w: Float64Array, wg: Float64Array, from: number, to: number, out: Float64Array, scales: Float64Array | undefined): number {
    if (this.quads === 0) return 0;
    if (placed !== this || this.outView!.length === 0) this.place();
    const [gsIn, wIn, wgIn] = [this.gsView!, this.wView!, this.wgView!];
    // A few values a call: copied one by one (no views made per call).
    for (let n = from; n <= to; n++) {
      gsIn[n] = gs[n];
      wIn[n] = w[n];
      wgIn[n] = wg[n];
    }
    const { table, gs: g, w: ww, wg: wgAt, out: o, scales: s } = this.at;
    const divisions = this.run!(table, g, ww, wgAt, o, s, this.quads, from, to, this.quads * 4);
    out.set(this.outView!);
    if (scales !== undefined) scales.set(this.scalesView!);
    return divisions;
  }

  /** Let the kernel's memory go soon, if this grid's table is the one placed there (the grid places it again if used after). */
  close(): void {
    if (placed !== this) return;
    placed = null;
    host.dropSoon();
  }

  /** The table, transposed (pₙ of points q..q+3 side by side), into the kernel's memory, and this grid's views of it. */
  private place(): void {
    const { exports, buffer } = host.claim(this.at.end);
    const stride = this.quads * 4;
    const table = new Float64Array(buffer, this.at.table, this.width * stride);
    for (let q = 0; q < stride; q++) for (let n = 0; n < this.width; n++) table[n * stride + q] = this.p[q * this.width + n];
    this.run = exports.misfits as (...args: number[]) => number;
    this.gsView = new Float64Array(buffer, this.at.gs, this.width);
    this.wView = new Float64Array(buffer, this.at.w, this.width);
    this.wgView = new Float64Array(buffer, this.at.wg, this.width);
    this.outView = new Float64Array(buffer, this.at.out, stride);
    this.scalesView = new Float64Array(buffer, this.at.scales, stride);
    placed = this;
  }
}
