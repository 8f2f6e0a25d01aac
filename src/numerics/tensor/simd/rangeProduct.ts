import { WasmFunction, op } from './wasmModule';
import { WasmHost } from './wasmHost';
import { roundUp } from './webAssembly';

/**
 * The bulk of matMulTransposedRange (../kernels) with WebAssembly SIMD: for rows i < m2 (even) and
 * columns j < n4 (a multiple of 4) of C = A·Bᵀ, A float64 [m, k], B float32 [n, k], each entry's
 * sum as the JavaScript kernel forms it — even and odd p in two f64 accumulators (the two lanes of
 * one vector), a leftover p added to the even one, then the two added — and folded into the
 * running min/max of its column, rows in order (v < min, v > max: ties and NaN as the scan).
 * So the same bits; the caller does the leftover rows and columns in JavaScript, each column's
 * rows still in order. Blocked 2 rows × 4 columns: each B pair is loaded once for two rows.
 */
function rangeFunction(): WasmFunction {
  // Parameters, then locals (indices).
  const [a, b, min, max, m2, n4, k] = [0, 1, 2, 3, 4, 5, 6];
  const [i, j, p, pa0, pa1, pb0, pb1, pb2, pb3, ai, bj, mj, xj] = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
  const [A0, A1, B] = [20, 21, 22];
  const acc = (row: number, col: number) => 23 + row * 4 + col; // 23..30
  const [x0, x1, bv, v] = [31, 32, 33, 34];
  const pb = [pb0, pb1, pb2, pb3];
  const add = (local: number, by: number[]) => [...op.get(local), ...by, ...op.i32Add, ...op.set(local)];
  const addConst = (local: number, by: number) => add(local, op.i32(by));
  /** acc(row, col) += A_row · B (both lanes). */
  const mulAdd = (row: number, col: number) => [...op.get(acc(row, col)), ...op.get(row === 0 ? A0 : A1), ...op.get(B), ...op.f64x2Mul, ...op.f64x2Add, ...op.set(acc(row, col))];
  /** Lane 0 of acc(row, col) += x_row · bv (the leftover odd p, into the even accumulator). */
  const tailAdd = (row: number, col: number) => [
    ...op.get(acc(row, col)),
    ...op.get(acc(row, col)), ...op.f64x2ExtractLane(0), ...op.get(row === 0 ? x0 : x1), ...op.get(bv), ...op.f64Mul, ...op.f64Add,
    ...op.f64x2ReplaceLane(0), ...op.set(acc(row, col)),
  ];
  /** mem[at] = cond(v, mem[at]) ? v : mem[at]. */
  const fold = (at: readonly number[], compare: readonly number[]) => [...at, ...op.get(v), ...at, ...op.f64Load(), ...op.get(v), ...at, ...op.f64Load(), ...compare, ...op.select, ...op.f64Store()];
  /** v = the entry (row, col) = lane 0 + lane 1; then its column's min and max. */
  const see = (row: number, col: number) => {
    const minAt = [...op.get(mj), ...op.i32(col * 8), ...op.i32Add];
    const maxAt = [...op.get(xj), ...op.i32(col * 8), ...op.i32Add];
    return [...op.get(acc(row, col)), ...op.f64x2ExtractLane(0), ...op.get(acc(row, col)), ...op.f64x2ExtractLane(1), ...op.f64Add, ...op.set(v), ...fold(minAt, op.f64Lt), ...fold(maxAt, op.f64Gt)];
  };
  const rowBytes = (elementBytes: number) => [...op.get(k), ...op.i32(elementBytes), ...op.i32Mul];
  const zero = [...op.f64(0), ...op.f64x2Splat];
  // prettier-ignore
  const body = [
    ...op.get(a), ...op.set(ai),
    ...op.i32(0), ...op.set(i),
    ...op.block, ...op.loop, // row pairs
      ...op.get(i), ...op.get(m2), ...op.i32GeU, ...op.brIf(1),
      ...op.get(b), ...op.set(bj), ...op.get(min), ...op.set(mj), ...op.get(max), ...op.set(xj),
      ...op.i32(0), ...op.set(j),
      ...op.block, ...op.loop, // column quads
        ...op.get(j), ...op.get(n4), ...op.i32GeU, ...op.brIf(1),
        ...[0, 1].flatMap((row) => [0, 1, 2, 3].flatMap((col) => [...zero, ...op.set(acc(row, col))])),
        ...op.get(ai), ...op.set(pa0),
        ...op.get(ai), ...rowBytes(8), ...op.i32Add, ...op.set(pa1),
        ...op.get(bj), ...op.set(pb0),
        ...op.get(pb0), ...rowBytes(4), ...op.i32Add, ...op.set(pb1),
        ...op.get(pb1), ...rowBytes(4), ...op.i32Add, ...op.set(pb2),
        ...op.get(pb2), ...rowBytes(4), ...op.i32Add, ...op.set(pb3),
        ...op.get(k), ...op.set(p),
        ...op.block, ...op.loop, // p pairs
          ...op.get(p), ...op.i32(2), ...op.i32LtU, ...op.brIf(1),
          ...op.get(pa0), ...op.v128Load(), ...op.set(A0),
          ...op.get(pa1), ...op.v128Load(), ...op.set(A1),
          ...[0, 1, 2, 3].flatMap((col) => [...op.get(pb[col]), ...op.v128Load64Zero(), ...op.f64x2PromoteLowF32x4, ...op.set(B), ...mulAdd(0, col), ...mulAdd(1, col)]),
          ...addConst(pa0, 16), ...addConst(pa1, 16),
          ...pb.flatMap((pointer) => addConst(pointer, 8)),
          ...op.get(p), ...op.i32(2), ...op.i32Sub, ...op.set(p),
          ...op.br(0),
        ...op.end, ...op.end,
        ...op.block, // the leftover p when k is odd
          ...op.get(p), ...op.i32Eqz, ...op.brIf(0),
          ...op.get(pa0), ...op.f64Load(), ...op.set(x0),
          ...op.get(pa1), ...op.f64Load(), ...op.set(x1),
          ...[0, 1, 2, 3].flatMap((col) => [...op.get(pb[col]), ...op.f32Load(), ...op.f64PromoteF32, ...op.set(bv), ...tailAdd(0, col), ...tailAdd(1, col)]),
        ...op.end,
        // Row i's four entries, then row i + 1's: each column sees its rows in order.
        ...[0, 1].flatMap((row) => [0, 1, 2, 3].flatMap((col) => see(row, col))),
        ...add(bj, [...rowBytes(16)]),
        ...addConst(mj, 32), ...addConst(xj, 32),
        ...addConst(j, 4),
        ...op.br(0),
      ...op.end, ...op.end,
      ...add(ai, [...rowBytes(16)]),
      ...addConst(i, 2),
      ...op.br(0),
    ...op.end, ...op.end,
  ];
  return {
    name: 'range',
    params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
    results: [],
    locals: [...Array<'i32'>(13).fill('i32'), ...Array<'v128'>(11).fill('v128'), 'f64', 'f64', 'f64', 'f64'],
    body,
  };
}

const host = new WasmHost(() => [rangeFunction()]);


/** Whether this runtime runs the kernel. */
export const rangeProductAvailable = (): boolean => host.available;

/** Most bytes of B copied into the kernel's memory at once: big layers go in column chunks, so the kernel holds a bounded copy, not a second whole weight matrix. */
export const RANGE_CHUNK_BYTES = 16 * 2 ** 20;

/**
 * Rows [0, m2) × columns [0, n4) of matMulTransposedRange (m2 even, n4 a multiple of 4), min/max
 * updated in place: A copied into the kernel's memory once, B's rows (the columns of C) in chunks
 * of at most RANGE_CHUNK_BYTES (each column's entries depend on its row of B alone, so the chunks
 * change nothing), min/max in and out. The caller charges the FLOPs (it charges the whole product once).
 */
export function rangeProductBulk(a: Float64Array, m: number, b: Float32Array, n: number, k: number, m2: number, n4: number, min: Float64Array, max: Float64Array, chunkBytes = RANGE_CHUNK_BYTES): void {
  const columns = Math.max(4, Math.floor(chunkBytes / Math.max(1, k * 4) / 4) * 4);
  const chunk = Math.min(n4, columns);
  const aAt = 0;
  const bAt = roundUp(aAt + m * k * 8, 16);
  const minAt = roundUp(bAt + chunk * k * 4, 16);
  const maxAt = minAt + chunk * 8;
  const { exports, buffer } = host.claim(maxAt + chunk * 8);
  const range = exports.range as (a: number, b: number, min: number, max: number, m2: number, n4: number, k: number) => void;
  new Float64Array(buffer, aAt, m * k).set(a);
  for (let j0 = 0; j0 < n4; j0 += chunk) {
    const width = Math.min(chunk, n4 - j0);
    new Float32Array(buffer, bAt, width * k).set(b.subarray(j0 * k, (j0 + width) * k));
    const mins = new Float64Array(buffer, minAt, width);
    const maxs = new Float64Array(buffer, maxAt, width);
    mins.set(min.subarray(j0, j0 + width));
    maxs.set(max.subarray(j0, j0 + width));
    range(aAt, bAt, minAt, maxAt, m2, width, k);
    min.set(mins, j0);
    max.set(maxs, j0);
  }
  host.dropSoon();
}
